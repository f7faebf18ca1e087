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

// Batches of 16 are checked on the 36 plain texts of up to 24 tokens (three batches, padded rows
// and several lengths in each): SwiftShader runs MiniLM at ~50 ms a token, and longer rows meet
// the same masking (their batch-1 vectors are checked against sentence-transformers above).
const BATCH_CHECK_TOKENS = 24;
let batch1;

test('backend "webgpu": every fixture text reaches cosine >= 0.9999 with equal token ids', async () => {
  batch1 = await encodeAll(harness.page, 1);
  assert.equal(batch1.backend, 'webgpu');
  let worst = 1;
  for (const [i, c] of reference.cases.entries()) {
    assert.deepEqual(batch1.out[i].ids, c.ids, `ids for ${JSON.stringify(c.text)}`);
    const cos = cosine(batch1.out[i].vector, c.embedding);
    worst = Math.min(worst, cos);
    assert.ok(cos >= 0.9999, `cosine ${cos} for ${JSON.stringify(c.text)} (prompt ${c.prompt})`);
  }
  console.log(`# WebGPU (${JSON.stringify(batch1.gpuInfo)}): worst cosine over ${reference.cases.length} texts ${worst.toFixed(9)}`);
});

test('batch 1 and batch 16 agree on WebGPU', async () => {
  const plain = reference.cases.map((c, i) => ({ ...c, i })).filter((c) => c.prompt === null && c.ids.length <= BATCH_CHECK_TOKENS);
  assert.ok(plain.length > 32, `${plain.length} texts: at least three batches of 16`);
  const vectors = await harness.page.evaluate(async ({ texts }) => {
    const batch = await globalThis.gpuModel.encode(texts, { batchSize: 16 });
    return batch.map((v) => Array.from(v));
  }, { texts: plain.map((c) => c.text) });
  let maxDiff = 0;
  for (const [row, c] of plain.entries()) {
    for (let d = 0; d < 384; d++) maxDiff = Math.max(maxDiff, Math.abs(batch1.out[c.i].vector[d] - vectors[row][d]));
  }
  assert.ok(maxDiff < 1e-5, `max difference ${maxDiff}`);
});

test('backend "auto" never takes a software adapter (SwiftShader) and says why', async () => {
  const result = await harness.page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    const model = await Embedder.load(path);
    const info = { backend: model.backend, reason: model.webgpuUnavailableReason, choice: model.backendChoice, buffers: model.gpuBufferCount };
    await model.dispose();
    return info;
  }, MODEL_PATH);
  assert.equal(result.backend, 'cpu');
  assert.equal(result.buffers, 0, 'no GPU memory is held for a GPU that is not used');
  assert.match(result.reason, /swiftshader.*software \(fallback\) adapter/i);
  assert.equal(result.choice.chosen, 'cpu');
  assert.equal(result.choice.reason, result.reason);
});

test('"auto" on a GPU times both backends at load within 300 ms and routes by the timings', async () => {
  // SwiftShader stands in for a real GPU here (a test hook lets 'auto' consider it).
  const result = await harness.page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    const forced = performance.now();
    const plain = await Embedder.load(path, { backend: 'webgpu' });
    const forcedMs = performance.now() - forced;
    await plain.dispose();
    const timed = performance.now();
    const model = await Embedder.load(path, { _allowSoftwareAdapterForTest: true });
    const timedMs = performance.now() - timed;
    const info = { forcedMs, timedMs, choice: model.backendChoice, backend: model.backend, buffers: model.gpuBufferCount };
    await model.dispose();
    return info;
  }, MODEL_PATH);
  const { choice } = result;
  console.log(`# auto timing on SwiftShader: ${JSON.stringify(choice)}; load ${result.timedMs.toFixed(0)} ms vs ${result.forcedMs.toFixed(0)} ms forced`);
  assert.ok(choice.spentMs <= 300, `timing took ${choice.spentMs} ms`);
  assert.ok(choice.cpu.length >= 1 && choice.webgpu.length >= 1, JSON.stringify(choice));
  for (const sample of [...choice.cpu, ...choice.webgpu]) assert.ok(sample.tokens >= 16 && sample.ms > 0, JSON.stringify(sample));
  // The lines decide: SwiftShader is many times slower than the CPU path at every size.
  const predict = (line, tokens) => line.fixedMs + line.perTokenMs * tokens;
  assert.ok(predict(choice.webgpuLine, 16) > predict(choice.cpuLine, 16), JSON.stringify(choice));
  assert.equal(choice.chosen, 'cpu');
  assert.equal(result.backend, 'cpu');
  assert.equal(result.buffers, 0, 'the GPU is released when the CPU wins everywhere');
  assert.match(choice.reason, /CPU was faster/);
});

test('a per-batch route runs small batches on the CPU and big ones on the GPU, with the same vectors', async () => {
  // One 2-token text is a small batch; eight texts of 10 to 40 tokens a big one.
  const plain = reference.cases.filter((c) => c.prompt === null);
  const short = plain.find((c) => c.ids.length <= 3);
  const eight = plain.filter((c) => c.ids.length >= 10 && c.ids.length <= 40).slice(0, 8);
  assert.equal(eight.length, 8);
  const result = await harness.page.evaluate(
    async ({ path, texts }) => {
      const { Embedder } = await import('/pkg/index.js');
      const model = await Embedder.load(path, { backend: 'webgpu' });
      // GPU from (3 - 0.5) / (0.1 - 0.005) ≈ 26.3 padded tokens.
      await model._setRouteForTest({ cpu: { fixedMs: 0.5, perTokenMs: 0.1 }, webgpu: { fixedMs: 3, perTokenMs: 0.005 } });
      const small = await model.encode(texts[0], {});
      const smallOn = model._lastBatchBackendForTest;
      const big = await model.encode(texts.slice(1), { batchSize: 8 });
      const bigOn = model._lastBatchBackendForTest;
      await model.dispose();
      return { small: Array.from(small[0]), smallOn, big: big.map((v) => Array.from(v)), bigOn };
    },
    { path: MODEL_PATH, texts: [short, ...eight].map((c) => c.text) },
  );
  assert.equal(result.smallOn, 'cpu');
  assert.equal(result.bigOn, 'webgpu');
  assert.ok(cosine(result.small, short.embedding) >= 0.99999);
  for (const [i, c] of eight.entries()) assert.ok(cosine(result.big[i], c.embedding) >= 0.9999, `text ${i}`);
});

const lossTexts = reference.cases.filter((c) => c.prompt === null && c.ids.length <= 64);

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
    { path: MODEL_PATH, texts: lossTexts.map((c) => c.text) },
  );
  // The 250-token passages are left out: on SwiftShader they cost most of this test's time.
  const plain = lossTexts;
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

// A one-layer model (as the native test): the same buffer pool and workspace code as MiniLM's on
// SwiftShader, where MiniLM took 150 s of the suite (issue 24).
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
  }, '/tests/fixtures/tiny/models/bge-cls-like/');
  console.log(`# 200 encodes: ${JSON.stringify(result)}`);
  assert.equal(result.end.backend, 'webgpu');
  assert.ok(result.start.buffers > 20, `weights and workspace are buffers: ${result.start.buffers}`);
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
