// The WebGPU backend in headless Chromium (SwiftShader's adapter, --enable-unsafe-webgpu):
// kernels against the CPU, the real model against sentence-transformers, backend choice,
// device loss, and buffer pooling. SwiftShader runs on the CPU, so these check correctness only.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { CHROMIUM_ARGS, cosine, MODEL_PATH, openBrowser } from './harness.mjs';

const reference = JSON.parse(await readFile(new URL('../fixtures/all-MiniLM-L6-v2.json', import.meta.url), 'utf8'));
const cases = reference.cases.map(({ text, prompt }) => ({ text, prompt }));
let harness;

before(async () => {
  harness = await openBrowser();
});
after(async () => harness?.close());

test('every WGSL kernel matches the CPU result on awkward shapes', async () => {
  const result = await harness.page.evaluate(async () => {
    const { _checkKernelsForTest } = await import('/pkg/index.js');
    return _checkKernelsForTest();
  });
  const failed = result.reports.filter((r) => !r.passed);
  const worst = Math.max(...result.reports.map((r) => r.error));
  console.log(`# ${result.reports.length} kernel checks on ${result.adapter} (f16 weights: ${result.f16Weights}), worst relative error ${worst.toExponential(2)}`);
  assert.ok(result.reports.length > 250, `${result.reports.length} checks`);
  assert.deepEqual(failed, []);
});

// Loads the model on `backend` (once per page) and encodes every fixture case.
async function encodeAll(page, batchSize) {
  return page.evaluate(
    async ({ path, cases, batchSize }) => {
      const { Embedder } = await import('/pkg/index.js');
      globalThis.gpuModel ??= await Embedder.load(path, { backend: 'webgpu' });
      const model = globalThis.gpuModel;
      const out = [];
      for (const prompt of [null, 'query: ', 'passage: ']) {
        const group = cases.map((c, i) => ({ ...c, i })).filter((c) => c.prompt === prompt);
        const vectors = await model.encode(group.map((c) => c.text), { prompt: prompt ?? undefined, batchSize });
        for (const [k, c] of group.entries()) {
          out[c.i] = { ids: await model.tokenize(c.text, { prompt: prompt ?? undefined }), vector: Array.from(vectors[k]) };
        }
      }
      return { out, backend: model.backend, gpuInfo: model.gpuInfo };
    },
    { path: MODEL_PATH, cases, batchSize },
  );
}

let batch16;

test('backend "webgpu": every fixture text reaches cosine >= 0.9999 with equal token ids', async () => {
  batch16 = await encodeAll(harness.page, 16);
  assert.equal(batch16.backend, 'webgpu');
  let worst = 1;
  for (const [i, c] of reference.cases.entries()) {
    assert.deepEqual(batch16.out[i].ids, c.ids, `ids for ${JSON.stringify(c.text)}`);
    const cos = cosine(batch16.out[i].vector, c.embedding);
    worst = Math.min(worst, cos);
    assert.ok(cos >= 0.9999, `cosine ${cos} for ${JSON.stringify(c.text)} (prompt ${c.prompt})`);
  }
  console.log(`# WebGPU (${JSON.stringify(batch16.gpuInfo)}): worst cosine over ${reference.cases.length} texts ${worst.toFixed(9)}`);
});

test('batch 1 and batch 16 agree on WebGPU', async () => {
  const batch1 = await encodeAll(harness.page, 1);
  let maxDiff = 0;
  for (const [i] of reference.cases.entries()) {
    for (let d = 0; d < 384; d++) maxDiff = Math.max(maxDiff, Math.abs(batch1.out[i].vector[d] - batch16.out[i].vector[d]));
  }
  assert.ok(maxDiff < 1e-5, `max difference ${maxDiff}`);
});

test('backend "auto" picks WebGPU when an adapter passes the self-test', async () => {
  const backend = await harness.page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    const model = await Embedder.load(path);
    const info = { backend: model.backend, reason: model.webgpuUnavailableReason };
    await model.dispose();
    return info;
  }, MODEL_PATH);
  assert.deepEqual(backend, { backend: 'webgpu', reason: null });
});

test('a device lost mid-call finishes on the CPU, switches model.backend and tells the app', async () => {
  const result = await harness.page.evaluate(
    async ({ path, texts }) => {
      const { Embedder } = await import('/pkg/index.js');
      const events = [];
      const model = await Embedder.load(path, { backend: 'webgpu', onBackendChange: (e) => events.push(e) });
      const before = model.backend;
      // Destroyed as the third batch of eight starts: two batches ran on the GPU.
      await model._loseDeviceForTest(2);
      const vectors = await model.encode(texts, { batchSize: 8 });
      const after = model.backend;
      const again = await model.encode(texts.slice(0, 2));
      await model.dispose();
      return { before, after, events, vectors: vectors.map((v) => Array.from(v)), again: again.map((v) => Array.from(v)) };
    },
    { path: MODEL_PATH, texts: reference.cases.filter((c) => c.prompt === null).map((c) => c.text) },
  );
  const plain = reference.cases.filter((c) => c.prompt === null);
  assert.ok(plain.length > 24, 'the loss must come mid-call');
  assert.equal(result.before, 'webgpu');
  assert.equal(result.after, 'cpu');
  assert.equal(result.events.length, 1, JSON.stringify(result.events));
  assert.equal(result.events[0].from, 'webgpu');
  assert.equal(result.events[0].to, 'cpu');
  assert.ok(result.events[0].reason.length > 0);
  for (const [i, c] of plain.entries()) {
    const cos = cosine(result.vectors[i], c.embedding);
    assert.ok(cos >= 0.9999, `cosine ${cos} for ${JSON.stringify(c.text)} across the device loss`);
  }
  for (const [i, c] of plain.slice(0, 2).entries()) assert.ok(cosine(result.again[i], c.embedding) >= 0.99999);
  console.log(`# device loss: ${result.events[0].reason}`);
});

test('200 sequential encodes keep GPU buffers and wasm memory flat; dispose frees every buffer', async () => {
  const result = await harness.page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    const model = await Embedder.load(path, { backend: 'webgpu' });
    await model.encode(['warm up', 'a second, somewhat longer text to warm up with']);
    const start = { buffers: model.gpuBufferCount, memory: model.wasmMemoryBytes };
    for (let i = 0; i < 200; i++) await model.encode([`query number ${i}`, 'a second, somewhat longer text to warm up with']);
    const end = { buffers: model.gpuBufferCount, memory: model.wasmMemoryBytes, backend: model.backend };
    await model.dispose();
    return { start, end, disposed: model.gpuBufferCount };
  }, MODEL_PATH);
  console.log(`# 200 encodes: ${JSON.stringify(result)}`);
  assert.equal(result.end.backend, 'webgpu');
  assert.ok(result.start.buffers > 50, `weights and workspace are buffers: ${result.start.buffers}`);
  assert.equal(result.end.buffers, result.start.buffers);
  assert.equal(result.end.memory, result.start.memory);
  assert.equal(result.disposed, 0);
});

test('no uncaught error reached the page', () => assert.deepEqual(harness.errors, []));

test('without WebGPU, "auto" runs on the CPU and "webgpu" is E_WEBGPU saying why', async () => {
  const args = [...CHROMIUM_ARGS.filter((a) => a !== '--enable-unsafe-webgpu'), '--disable-features=WebGPU'];
  const plain = await openBrowser({ args });
  try {
    const result = await plain.page.evaluate(async (path) => {
      const { Embedder } = await import('/pkg/index.js');
      const auto = await Embedder.load(path);
      const info = { backend: auto.backend, reason: auto.webgpuUnavailableReason, dims: (await auto.encode('hello'))[0].length };
      try {
        await Embedder.load(path, { backend: 'webgpu' });
        info.forced = 'loaded';
      } catch (error) {
        info.forced = { code: error.code, message: error.message };
      }
      return info;
    }, MODEL_PATH);
    assert.equal(result.backend, 'cpu');
    assert.equal(result.dims, 384);
    assert.match(result.reason, /WebGPU|adapter/);
    assert.equal(result.forced.code, 'E_WEBGPU');
    assert.match(result.forced.message, /navigator\.gpu|adapter/);
    assert.deepEqual(plain.errors, []);
  } finally {
    await plain.close();
  }
});
