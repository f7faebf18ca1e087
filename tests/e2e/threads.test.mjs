// threads above 1 on a page that is not cross-origin isolated: a pool of worker engines. Same
// vectors as one thread, calls in order, dead workers replaced, every worker ended by dispose().

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { cosine, MODEL_PATH, openBrowser } from './harness.mjs';

const reference = JSON.parse(await readFile(new URL('../fixtures/all-MiniLM-L6-v2.json', import.meta.url), 'utf8'));
const plain = reference.cases.filter((c) => c.prompt === null && c.text.trim() !== '');
let harness;

before(async () => {
  harness = await openBrowser();
  await harness.page.evaluate(async () => {
    const { Embedder } = await import('/pkg/index.js');
    globalThis.Embedder = Embedder;
    const sentences = await (await fetch('/tests/fixtures/texts.json')).json();
    // 48 passages of different lengths, from the committed fixture texts.
    globalThis.corpus = Array.from({ length: 48 }, (_, i) => Array.from({ length: 1 + (i % 7) }, (_, j) => sentences[(i * 7 + j * 13) % sentences.length]).join(' '));
    globalThis.differing = (a, b) => a.reduce((n, v, i) => n + v.reduce((m, x, j) => m + (x !== b[i][j]), 0), 0);
  });
});
after(async () => harness?.close());

const webembedWorkers = () => harness.page.workers().filter((w) => w.url().endsWith('/pkg/model/worker-host.js'));

test('threads: 2 runs two worker engines, built from one download, with the vectors of one thread (f32 and q8)', async () => {
  for (const dtype of ['f32', 'q8']) {
    const result = await harness.page.evaluate(
      async ({ path, dtype, texts }) => {
        const fetched = [];
        const countingFetch = (url, init) => {
          fetched.push(String(url));
          return fetch(url, init);
        };
        const one = await Embedder.load(path, { dtype, threads: 1, cache: false });
        const pool = await Embedder.load(path, { dtype, threads: 2, cache: false, fetch: countingFetch });
        const a = await one.encode(corpus);
        const b = await pool.encode(corpus);
        const fixtures = (await pool.encode(texts)).map((v) => Array.from(v));
        const out = {
          one: [one.threads, one.parallelism],
          pool: [pool.threads, pool.parallelism, pool.backend, pool.dtype, pool.dimension, pool.maxSeqLength],
          differing: differing(a, b),
          fixtures,
          tokenized: await pool.tokenize('hello world'),
          fetchedTwice: fetched.filter((url, i) => fetched.indexOf(url) !== i),
          memory: pool.wasmMemoryBytes,
          reason: pool.webgpuUnavailableReason,
        };
        window.keep = [one, pool];
        return out;
      },
      { path: MODEL_PATH, dtype, texts: plain.slice(0, 8).map((c) => c.text) },
    );
    assert.deepEqual(result.one, [1, 'none']);
    assert.deepEqual(result.pool, [2, 'worker-pool', 'cpu', dtype, 384, 256]);
    assert.equal(webembedWorkers().length, 2, 'one module worker per engine');
    assert.equal(result.differing, 0, `${dtype}: values that differ from one thread`);
    assert.deepEqual(result.fetchedTwice, [], 'every file downloads once for the whole pool');
    assert.deepEqual(result.tokenized, [101, 7592, 2088, 102]);
    assert.ok(result.memory > 0);
    assert.ok(result.reason, 'says why the GPU is not used');
    const floor = dtype === 'f32' ? 0.99999 : 0.995;
    result.fixtures.forEach((v, i) => assert.ok(cosine(v, plain[i].embedding) >= floor, `${dtype} cosine for ${JSON.stringify(plain[i].text)}`));
    console.log(`# ${dtype}: 2 engines, ${(result.memory / 1e6).toFixed(0)} MB of wasm memory together`);
    await harness.page.evaluate(() => Promise.all(window.keep.map((m) => m.dispose())));
  }
  assert.deepEqual(harness.errors, []);
});

test('100 encode calls started at once on a pool all resolve, in order, to the right vectors', async () => {
  const texts = Array.from({ length: 100 }, (_, i) => plain[i % plain.length].text);
  const result = await harness.page.evaluate(async ({ path, texts }) => {
    const pool = await Embedder.load(path, { threads: 2, backend: 'cpu' });
    const settled = [];
    const calls = texts.map((text, i) => pool.encode(i % 3 === 0 ? [text, text] : text).then((v) => (settled.push(i), v)));
    const vectors = (await Promise.all(calls)).map((list) => list.map((v) => Array.from(v)));
    await pool.dispose();
    return { vectors, settled };
  }, { path: MODEL_PATH, texts });
  assert.deepEqual(result.settled, [...Array(100).keys()], 'calls settle in the order they were made');
  result.vectors.forEach((list, i) => {
    assert.equal(list.length, i % 3 === 0 ? 2 : 1);
    for (const vector of list) {
      const cos = cosine(vector, plain[i % plain.length].embedding);
      assert.ok(cos >= 0.99999, `call ${i}: cosine ${cos}`);
    }
  });
});

test('a worker that dies mid-batch is replaced, and the call still returns the right vectors', async () => {
  const result = await harness.page.evaluate(async (path) => {
    const one = await Embedder.load(path, { threads: 1, dtype: 'q8' });
    const pool = await Embedder.load(path, { threads: 2, dtype: 'q8' });
    const expected = await one.encode(corpus);
    const warnings = [];
    const warn = console.warn;
    console.warn = (...args) => warnings.push(args.join(' '));
    pool._killWorkerMidBatchForTest(0);
    let vectors;
    try {
      vectors = await pool.encode(corpus);
    } finally {
      console.warn = warn;
    }
    const again = await pool.encode(corpus.slice(0, 5));
    const out = { differing: differing(expected, vectors), againDiffering: differing(expected.slice(0, 5), again), threads: pool.threads, warnings };
    window.keep = [one, pool];
    return out;
  }, MODEL_PATH);
  assert.equal(result.differing, 0, 'vectors of the call that lost its worker');
  assert.equal(result.againDiffering, 0);
  assert.equal(result.threads, 2, 'the dead engine was replaced');
  assert.equal(webembedWorkers().length, 2, 'the dead worker is gone, its replacement runs');
  assert.ok(result.warnings.some((w) => /engine worker ended/.test(w)), JSON.stringify(result.warnings));
  await harness.page.evaluate(() => Promise.all(window.keep.map((m) => m.dispose())));
});

test('dispose() ends every worker of the pool, and the model refuses calls afterwards', async () => {
  const before = webembedWorkers();
  const held = await harness.page.evaluate(async (path) => {
    window.pool = await Embedder.load(path, { threads: 2, backend: 'cpu' });
    await window.pool.encode(corpus.slice(0, 4));
    return (await navigator.locks.query()).held.length;
  }, '/tests/fixtures/tiny/models/e5-small-v2-like/');
  const started = webembedWorkers().filter((worker) => !before.includes(worker));
  assert.equal(started.length, 2);
  assert.equal(held, 2, 'each live worker holds its lock');
  const closed = Promise.all(started.map((worker) => new Promise((resolve) => worker.once('close', resolve))));
  const result = await harness.page.evaluate(async () => {
    const pending = window.pool.encode(corpus.slice(0, 6));
    await window.pool.dispose();
    const finished = (await pending).length;
    let afterDispose;
    try {
      await window.pool.encode('x');
    } catch (error) {
      afterDispose = error.code;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { finished, afterDispose, threads: window.pool.threads, held: (await navigator.locks.query()).held.length };
  });
  await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('a worker is still running 5 s after dispose()')), 5000))]);
  assert.deepEqual(webembedWorkers().filter((worker) => started.includes(worker)), [], 'no worker of this pool is listed');
  assert.equal(result.finished, 6, 'a call made before dispose() finishes');
  assert.equal(result.afterDispose, 'E_DISPOSED');
  assert.equal(result.threads, 0);
  assert.equal(result.held, 0, 'no worker lock is left held');
  assert.deepEqual(harness.errors, []);
});

test('memoryBudget caps the pool; threads: 1 and this 2-core page\'s threads: "auto" keep one in-page engine; bad values are E_INPUT', async () => {
  const result = await harness.page.evaluate(async (path) => {
    const small = await Embedder.load(path, { threads: 4, backend: 'cpu', memoryBudget: 1 });
    const capped = [small.threads, small.parallelism];
    await small.dispose();
    const auto = await Embedder.load(path, { backend: 'cpu' });
    const autoMode = [auto.threads, auto.parallelism, navigator.hardwareConcurrency];
    await auto.dispose();
    const codes = [];
    for (const options of [{ threads: 0 }, { threads: 1.5 }, { threads: 'many' }, { memoryBudget: -1 }, { memoryBudget: '1GB' }]) {
      try {
        await Embedder.load(path, options);
        codes.push('loaded');
      } catch (error) {
        codes.push(`${error.code}: ${error.message}`);
      }
    }
    return { capped, autoMode, codes };
  }, '/tests/fixtures/tiny/models/e5-small-v2-like/');
  assert.deepEqual(result.capped, [1, 'worker-pool'], 'a budget below one engine still runs one');
  assert.equal(result.autoMode[2], 2);
  assert.deepEqual(result.autoMode.slice(0, 2), [1, 'none'], "'auto' leaves one of two cores to the page");
  for (const code of result.codes) assert.match(code, /^E_INPUT: (threads|memoryBudget) must be/);
});

test('on a cross-origin isolated page, threads: 2 is one shared-memory engine with two threads: the vectors of one thread (a long text split by rows too), a dead engine replaced, dispose ends every thread', async () => {
  const isolated = await openBrowser({ crossOriginIsolated: true });
  try {
    const result = await isolated.page.evaluate(async ({ path, texts }) => {
      const { Embedder } = await import('/pkg/index.js');
      const sentences = await (await fetch('/tests/fixtures/texts.json')).json();
      const corpus = Array.from({ length: 24 }, (_, i) => Array.from({ length: 1 + (i % 7) }, (_, j) => sentences[(i * 7 + j * 13) % sentences.length]).join(' '));
      const long = sentences.join(' ');
      const differing = (a, b) => a.reduce((n, v, i) => n + v.reduce((m, x, j) => m + (x !== b[i][j]), 0), 0);
      const out = { isolated: crossOriginIsolated };
      for (const dtype of ['f32', 'q8']) {
        const one = await Embedder.load(path, { dtype, threads: 1 });
        const two = await Embedder.load(path, { dtype, threads: 2 });
        out[dtype] = {
          mode: [two.threads, two.parallelism, two.simd, two.dtype],
          differing: differing(await one.encode(corpus), await two.encode(corpus)),
          longDiffering: differing(await one.encode(long), await two.encode(long)),
          fixtures: (await two.encode(texts)).map((v) => Array.from(v)),
          tokenized: await two.tokenize('hello world'),
        };
        await one.dispose();
        if (dtype === 'f32') {
          await two.dispose();
          await new Promise((resolve) => setTimeout(resolve, 300));
          // dispose() stops the pool, so the threads leave their waits and their workers end.
          out.heldAfterDispose = (await navigator.locks.query()).held.length;
        } else window.keep = two;
      }
      return out;
    }, { path: MODEL_PATH, texts: plain.slice(0, 8).map((c) => c.text) });
    assert.equal(result.isolated, true);
    assert.equal(result.heldAfterDispose, 0, 'the f32 model\'s engine worker and both thread workers ended');
    for (const dtype of ['f32', 'q8']) {
      const r = result[dtype];
      assert.deepEqual(r.mode, [2, 'shared-memory', 'relaxed-simd', dtype]);
      assert.equal(r.differing, 0, `${dtype}: values that differ from one thread`);
      assert.equal(r.longDiffering, 0, `${dtype}: a long text split by rows over threads`);
      assert.deepEqual(r.tokenized, [101, 7592, 2088, 102]);
      const floor = dtype === 'f32' ? 0.99999 : 0.995;
      r.fixtures.forEach((v, i) => assert.ok(cosine(v, plain[i].embedding) >= floor, `${dtype} cosine for ${JSON.stringify(plain[i].text)}`));
    }
    // The q8 model is still loaded: its engine worker and its two thread workers each hold a Web
    // Lock for as long as they live.
    const locks = () => isolated.page.evaluate(async () => (await navigator.locks.query()).held.map((lock) => lock.name.replace(/-[^-]*-[^-]*-[^-]*$/, '')).sort());
    assert.deepEqual(await locks(), ['webembed-thread', 'webembed-thread', 'webembed-worker']);
    // A dead engine worker takes its threads with it; the pool starts another engine and threads.
    const after = await isolated.page.evaluate(async () => {
      const warn = console.warn;
      console.warn = () => {};
      window.keep._killWorkerMidBatchForTest(0);
      const vectors = await window.keep.encode(['one text', 'and another']);
      console.warn = warn;
      const threads = window.keep.threads;
      await window.keep.dispose();
      return { count: vectors.length, threads };
    });
    assert.deepEqual(after, { count: 2, threads: 2 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The replacement's engine and threads ended. The dead engine's two threads cannot be: it
    // died without stopping its pool, and Chromium does not end a worker blocked in a wait.
    assert.deepEqual(await locks(), ['webembed-thread', 'webembed-thread']);
    assert.deepEqual(isolated.errors, []);
  } finally {
    await isolated.close();
  }
});
