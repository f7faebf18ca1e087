// Worker mode: the same API with the engine in a module worker; the page stays responsive.

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

test('worker: true gives the same vectors, and a 256-passage encode leaves the main thread free', async () => {
  const cases = reference.cases.filter((c) => c.prompt === null).slice(0, 12);
  const result = await harness.page.evaluate(
    async ({ path, texts }) => {
      const { Embedder } = await import('/pkg/index.js');
      const progress = [];
      const model = await Embedder.load(path, { worker: true, backend: 'cpu', onProgress: (e) => progress.push(e.status) });
      const vectors = (await model.encode(texts)).map((v) => ({ isFloat32: v instanceof Float32Array, values: Array.from(v) }));
      // 256 passages of ~100 tokens from the committed fixture texts (tests read nothing outside the repo).
      const sentences = await (await fetch('/tests/fixtures/texts.json')).json();
      const corpus = Array.from({ length: 256 }, (_, i) => Array.from({ length: 6 }, (_, j) => sentences[(i * 7 + j * 13) % sentences.length]).join(' '));
      // A timer on the main thread: its largest gap while the worker encodes 256 passages.
      const ticks = [];
      const timer = setInterval(() => ticks.push(performance.now()), 10);
      const t0 = performance.now();
      const encoded = await model.encode(corpus.slice(0, 256), { batchSize: 32 });
      const encodeMs = performance.now() - t0;
      clearInterval(timer);
      let maxGap = 0;
      for (let i = 1; i < ticks.length; i++) maxGap = Math.max(maxGap, ticks[i] - ticks[i - 1]);
      const info = { dimension: model.dimension, backend: model.backend, tokenized: await model.tokenize('hello world') };
      await model.dispose();
      let afterDispose;
      try {
        await model.encode('x');
      } catch (error) {
        afterDispose = error.code;
      }
      return { vectors, progress: [...new Set(progress)], encoded: encoded.length, encodeMs, maxGap, ticks: ticks.length, afterDispose, ...info };
    },
    { path: MODEL_PATH, texts: cases.map((c) => c.text) },
  );
  assert.equal(result.dimension, 384);
  assert.ok(result.progress.includes('done') || result.progress.includes('cached'), JSON.stringify(result.progress));
  result.vectors.forEach((v, i) => {
    assert.ok(v.isFloat32);
    assert.ok(cosine(v.values, cases[i].embedding) >= 0.99999, `cosine for ${JSON.stringify(cases[i].text)}`);
  });
  assert.deepEqual(result.tokenized, [101, 7592, 2088, 102]);
  assert.equal(result.encoded, 256);
  console.log(`# worker: 256 passages in ${(result.encodeMs / 1000).toFixed(1)} s; main-thread timer ticked ${result.ticks} times, largest gap ${result.maxGap.toFixed(1)} ms`);
  // One batch of 32 takes seconds here, so an encode on the main thread would leave a gap of seconds;
  // 100 ms leaves room for the GC pauses and scheduling of a loaded 2-core machine (57 ms seen once).
  assert.ok(result.maxGap < 100, `main thread blocked for ${result.maxGap} ms`);
  assert.equal(result.afterDispose, 'E_DISPOSED');
  assert.deepEqual(harness.errors, []);
});

test('dispose() in worker mode ends the worker, and with it the worker\'s wasm memory', async () => {
  const { page } = harness;
  // The first test's worker, disposed, may still be closing: count only once none is.
  for (let waited = 0; page.workers().length > 0 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  const before = page.workers().length;
  const started = page.waitForEvent('worker');
  await page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    window.workerModel = await Embedder.load(path, { worker: true, backend: 'cpu' });
    await window.workerModel.encode('warm up');
  }, '/tests/fixtures/tiny/models/e5-small-v2-like/');
  const worker = await started;
  assert.equal(page.workers().length, before + 1);
  const closed = new Promise((resolve) => worker.once('close', resolve));
  await page.evaluate(() => window.workerModel.dispose());
  await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the worker is still running 5 s after dispose()')), 5000))]);
  assert.equal(page.workers().length, before);
  assert.deepEqual(harness.errors, []);
});
