// threads above 1 in Node: a pool of worker-thread engines, or one shared-memory engine when
// V8 runs without Liftoff. Same vectors as one thread, a dead thread replaced mid-call, every
// thread ended by dispose(), and a script that forgets dispose() still exits.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Embedder } from '../../pkg/index.js';
import { pickSimd } from '../../pkg/engine/instance.js';
import { cosine } from '../e2e/harness.mjs';
import { countWorkers, differing } from './worker-census.mjs';

const ROOT = new URL('../../', import.meta.url);
const FOLDER = fileURLToPath(new URL('models/all-MiniLM-L6-v2/', ROOT));
const reference = JSON.parse(await readFile(new URL('tests/fixtures/all-MiniLM-L6-v2.json', ROOT), 'utf8'));
const plain = reference.cases.filter((c) => c.prompt === null && c.text.trim() !== '');
const sentences = JSON.parse(await readFile(new URL('tests/fixtures/texts.json', ROOT), 'utf8'));
const corpus = Array.from({ length: 40 }, (_, i) => Array.from({ length: 1 + (i % 5) }, (_, j) => sentences[(i * 7 + j * 13) % sentences.length]).join(' '));

const started = countWorkers();

test('threads: 2 in Node runs two worker-thread engines with the vectors of one thread; dispose() ends them', async () => {
  const one = await Embedder.load(FOLDER, { threads: 1 });
  const pool = await Embedder.load(FOLDER, { threads: 2 });
  assert.deepEqual([one.threads, one.parallelism], [1, 'none']);
  assert.deepEqual([pool.threads, pool.parallelism, pool.backend, pool.dimension], [2, 'worker-pool', 'cpu', 384]);
  assert.equal(started.length, 2);
  assert.equal(differing(await one.encode(corpus), await pool.encode(corpus)), 0);
  const vectors = await pool.encode(plain.map((c) => c.text));
  vectors.forEach((v, i) => assert.ok(cosine(v, plain[i].embedding) >= 0.99999, JSON.stringify(plain[i].text)));
  assert.deepEqual(await pool.tokenize('hello world'), [101, 7592, 2088, 102]);
  const expected = await one.encode(corpus);
  // A thread that ends mid-batch: the batch runs again on a new one.
  const warn = console.warn;
  console.warn = () => {};
  pool._killWorkerMidBatchForTest(1);
  const afterDeath = await pool.encode(corpus);
  console.warn = warn;
  assert.equal(differing(expected, afterDeath), 0);
  assert.equal(pool.threads, 2);
  assert.equal(started.length, 3, 'one replacement thread');
  await Promise.all([one.dispose(), pool.dispose()]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(started.map((s) => s.exited), [true, true, true], 'no worker thread left running');
  await assert.rejects(pool.encode('x'), { code: 'E_DISPOSED' });
});

test('a script that never calls dispose() on a pool still exits once its work is done', () => {
  const script = `
    import { Embedder } from ${JSON.stringify(new URL('pkg/index.js', ROOT).href)};
    const pool = await Embedder.load(${JSON.stringify(fileURLToPath(new URL('tests/fixtures/tiny/models/e5-small-v2-like/', ROOT)))}, { threads: 2 });
    const [vector] = await pool.encode('one text');
    console.log(pool.parallelism, vector.length);
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^worker-pool \d+/);
});

test('under --no-liftoff, threads: 2 in Node runs one shared-memory engine with the vectors of one thread; dispose() ends its threads', () => {
  const script = `
    import { countWorkers, differing } from ${JSON.stringify(new URL('tests/node/worker-census.mjs', ROOT).href)};
    const started = countWorkers();
    const { Embedder } = await import(${JSON.stringify(new URL('pkg/index.js', ROOT).href)});
    const texts = ${JSON.stringify(corpus)};
    const one = await Embedder.load(${JSON.stringify(FOLDER)}, { threads: 1 });
    const shared = await Embedder.load(${JSON.stringify(FOLDER)}, { threads: 2 });
    const [a, b] = [await one.encode(texts, { batchSize: 8 }), await shared.encode(texts, { batchSize: 8 })];
    const mode = [shared.parallelism, shared.threads, shared.simd];
    await Promise.all([one.dispose(), shared.dispose()]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    console.log(JSON.stringify({ mode, differing: differing(a, b), workers: started.length, running: started.filter((e) => !e.exited).length }));
  `;
  // Node 20 validates relaxed SIMD only behind its flag; later versions have it by default.
  const flags = ['--no-liftoff', ...(pickSimd('auto') === 'relaxed-simd' ? [] : ['--experimental-wasm-relaxed-simd'])];
  const run = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim().split('\n').pop());
  assert.deepEqual(result.mode, ['shared-memory', 2, 'relaxed-simd']);
  assert.equal(result.differing, 0, 'the same vectors as one thread');
  // The engine's worker and its two rayon threads.
  assert.equal(result.workers, 3);
  assert.equal(result.running, 0, 'no worker thread left running');
});
