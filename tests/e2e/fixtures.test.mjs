// The real all-MiniLM-L6-v2 in headless Chromium against sentence-transformers' fixtures.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { cosine, MODEL_PATH, openBrowser } from './harness.mjs';

const reference = JSON.parse(await readFile(new URL('../fixtures/all-MiniLM-L6-v2.json', import.meta.url), 'utf8'));
let harness;

before(async () => {
  harness = await openBrowser();
});
after(async () => harness?.close());

// Runs inside the page: loads the model once per SIMD flavour and encodes every case.
async function encodeAll(page, batchSize, simd = 'auto') {
  return page.evaluate(
    async ({ path, cases, batchSize, simd }) => {
      const { Embedder } = await import('/pkg/index.js');
      const progress = [];
      globalThis.models ??= {};
      globalThis.models[simd] ??= await Embedder.load(path, { backend: 'cpu', simd, onProgress: (e) => progress.push(e) });
      const model = globalThis.models[simd];
      const out = [];
      for (const prompt of [null, 'query: ', 'passage: ']) {
        const group = cases.map((c, i) => ({ ...c, i })).filter((c) => c.prompt === prompt);
        const vectors = await model.encode(group.map((c) => c.text), { prompt: prompt ?? undefined, batchSize });
        for (const [k, c] of group.entries()) {
          out[c.i] = { ids: await model.tokenize(c.text, { prompt: prompt ?? undefined }), vector: Array.from(vectors[k]) };
        }
      }
      return { out, progress, dimension: model.dimension, maxSeqLength: model.maxSeqLength, backend: model.backend, simd: model.simd };
    },
    { path: MODEL_PATH, cases: reference.cases.map(({ text, prompt }) => ({ text, prompt })), batchSize, simd },
  );
}

let batch1;

test('model metadata and load progress', async () => {
  batch1 = await encodeAll(harness.page, 1);
  assert.equal(batch1.dimension, 384);
  assert.equal(batch1.maxSeqLength, 256);
  assert.equal(batch1.backend, 'cpu');
  assert.equal(batch1.simd, 'relaxed-simd', 'Chromium validates relaxed SIMD, so auto picks it');
  const weights = batch1.progress.filter((e) => e.file === 'model.safetensors');
  assert.ok(weights.length > 1, 'several progress events while the weights download');
  const last = weights.at(-1);
  assert.ok(last.total > 80e6 && last.loaded === last.total, JSON.stringify(last));
});

test('token ids equal sentence-transformers for every fixture text', () => {
  for (const [i, c] of reference.cases.entries()) {
    assert.deepEqual(batch1.out[i].ids, c.ids, `ids for ${JSON.stringify(c.text)} (prompt ${c.prompt})`);
  }
});

function assertFidelity(result, label) {
  let worst = 1;
  for (const [i, c] of reference.cases.entries()) {
    const cos = cosine(result.out[i].vector, c.embedding);
    worst = Math.min(worst, cos);
    assert.ok(cos >= 0.99999, `${label}: cosine ${cos} for ${JSON.stringify(c.text)} (prompt ${c.prompt})`);
  }
  console.log(`# ${label}: worst cosine over ${reference.cases.length} texts: ${worst.toFixed(9)} (1 - cos = ${(1 - worst).toExponential(1)})`);
}

test('embeddings reach cosine >= 0.99999 for every fixture text', () => {
  assertFidelity(batch1, 'relaxed-simd');
});

test('the plain SIMD128 binary (browsers without relaxed SIMD) matches too', async () => {
  const plain = await encodeAll(harness.page, 8, 'simd128');
  assert.equal(plain.simd, 'simd128');
  assertFidelity(plain, 'simd128');
  for (const [i, c] of reference.cases.entries()) assert.deepEqual(plain.out[i].ids, c.ids);
});

test('batch size 16 gives the same vectors as batch size 1', async () => {
  const batch16 = await encodeAll(harness.page, 16);
  for (const [i, c] of reference.cases.entries()) {
    const a = batch1.out[i].vector;
    const b = batch16.out[i].vector;
    const maxDiff = Math.max(...a.map((v, k) => Math.abs(v - b[k])));
    assert.ok(maxDiff < 1e-5, `max difference ${maxDiff} for ${JSON.stringify(c.text)}`);
  }
  assert.deepEqual(harness.errors, []);
});
