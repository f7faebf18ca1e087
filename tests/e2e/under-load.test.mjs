// Many calls at once, many calls in a row, and dispose(): results stay right and in order, and
// wasm memory stays flat.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { cosine, MODEL_PATH, openBrowser } from './harness.mjs';

const reference = JSON.parse(await readFile(new URL('../fixtures/all-MiniLM-L6-v2.json', import.meta.url), 'utf8'));
const plain = reference.cases.filter((c) => c.prompt === null && c.text.trim() !== '').slice(0, 20);
const TINY_MODEL_PATH = '/tests/fixtures/tiny/models/bge-cls-like/';
let harness;

before(async () => {
  harness = await openBrowser();
  await harness.page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    globalThis.Embedder = Embedder;
    globalThis.model = await Embedder.load(path, { backend: 'cpu' });
  }, MODEL_PATH);
});
after(async () => harness?.close());

test('100 encode calls started at once all resolve, in order, to the right vectors', async () => {
  const texts = Array.from({ length: 100 }, (_, i) => plain[i % plain.length].text);
  const vectors = await harness.page.evaluate(async (texts) => {
    const results = await Promise.all(texts.map((text) => model.encode(text)));
    return results.map(([v]) => Array.from(v));
  }, texts);
  assert.equal(vectors.length, 100);
  vectors.forEach((vector, i) => {
    const cos = cosine(vector, plain[i % plain.length].embedding);
    assert.ok(cos >= 0.99999, `call ${i}: cosine ${cos}`);
  });
});

// A one-layer model: the calls go through the same tokenizer, engine and pooling code as
// MiniLM's, in a sixth of the time (issue 24: the suite's time).
test('10 000 sequential calls keep wasm memory flat', async () => {
  const result = await harness.page.evaluate(async (path) => {
    const small = await Embedder.load(path, { backend: 'cpu' });
    await small.encode('warm up the allocator with one call');
    const before = small.wasmMemoryBytes;
    for (let i = 0; i < 10_000; i++) await small.encode(`short text number ${i}`);
    const after = small.wasmMemoryBytes;
    await small.dispose();
    return { before, after };
  }, TINY_MODEL_PATH);
  console.log(`# wasm memory before ${(result.before / 1e6).toFixed(1)} MB, after 10 000 calls ${(result.after / 1e6).toFixed(1)} MB`);
  assert.equal(result.after, result.before);
});

test('dispose() releases the model and a later load works', async () => {
  const result = await harness.page.evaluate(async (path) => {
    await model.dispose();
    let afterDispose;
    try {
      await model.encode('x');
    } catch (error) {
      afterDispose = error.code;
    }
    const again = await Embedder.load(path, { backend: 'cpu' });
    const [vector] = await again.encode('A man is eating food.');
    await again.dispose();
    return { afterDispose, memoryAfterDispose: model.wasmMemoryBytes, vector: Array.from(vector) };
  }, MODEL_PATH);
  assert.equal(result.afterDispose, 'E_DISPOSED');
  assert.equal(result.memoryAfterDispose, 0, 'the disposed model holds no wasm instance');
  const probe = reference.cases.find((c) => c.text === 'A man is eating food.' && c.prompt === null);
  assert.ok(cosine(result.vector, probe.embedding) >= 0.99999);
  assert.deepEqual(harness.errors, []);
});
