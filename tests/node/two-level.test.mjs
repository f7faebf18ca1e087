// Shipped indexes in two levels (format version 3): the top centroids open with the manifest,
// blocks of partition centroids are fetched on demand. Built with `--levels 2` on 4 000 clustered
// vectors: every stored row is found by its own vector, the top hits agree with a one-level build,
// two threads write the bytes of one, and damaged or swapped blocks are E_INDEX naming the file
// while keyword search answers and the same object recovers.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Embedder } from '../../pkg/index.js';
import { filesOf, writeNpy } from './index-files.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'pkg/cli/main.mjs');
const MODEL = join(ROOT, 'tests/fixtures/tiny/models/bge-cls-like');
const ROWS = 4000;
const DIMENSION = 384;
const execFileAsync = promisify(execFile);

let work;
let model;
let vectors;

/** Seeded clustered unit vectors: 40 topics, each row its topic's centre plus noise. */
function clustered() {
  let state = 2026;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const gaussian = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const centres = Float32Array.from({ length: 40 * DIMENSION }, gaussian);
  const out = new Float32Array(ROWS * DIMENSION);
  for (let r = 0; r < ROWS; r++) {
    const centre = r % 40;
    let norm = 0;
    for (let d = 0; d < DIMENSION; d++) norm += (out[r * DIMENSION + d] = centres[centre * DIMENSION + d] + 0.6 * gaussian()) ** 2;
    for (let d = 0; d < DIMENSION; d++) out[r * DIMENSION + d] /= Math.sqrt(norm);
  }
  return out;
}

async function build(name, extra) {
  const out = join(work, name);
  const args = [CLI, 'index', '--vectors', join(work, 'rows.npy'), '--documents', join(work, 'rows.jsonl'), '--model', MODEL, '--out', out, '--threads', '1', ...extra];
  const { stdout } = await execFileAsync('node', args, { cwd: work });
  return { out, stdout };
}

const manifestOf = async (out) => JSON.parse(await readFile(join(out, 'webembed-index.json'), 'utf8'));

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'webembed-levels-'));
  vectors = clustered();
  await writeNpy(join(work, 'rows.npy'), vectors, ROWS, DIMENSION);
  await writeFile(join(work, 'rows.jsonl'), Array.from({ length: ROWS }, (_, i) => JSON.stringify({ id: `r${i}`, text: `row ${i} of topic t${i % 40}` })).join('\n'));
  model = await Embedder.load(MODEL, { dtype: 'q8', cache: false, backend: 'cpu', threads: 1 });
});

after(async () => {
  await model?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

test('two levels: blocks fetched on demand, every row found by its vector, recall as one level has it', async () => {
  const { out, stdout } = await build('two', ['--levels', '2']);
  // 4 000 rows: about 40 partitions of 100 rows, under 8 blocks.
  assert.match(stdout, /\d+ partitions in 8 blocks/);
  const manifest = await manifestOf(out);
  assert.equal(manifest.version, 3);
  assert.equal(manifest.vectors.partitions, undefined);
  assert.equal(manifest.vectors.blocks.length, 8);
  assert.ok(Math.abs(manifest.vectors.partitionCount - 40) <= 4, `${manifest.vectors.partitionCount} partitions`);
  const one = await build('one', ['--levels', '1']);
  assert.equal((await manifestOf(one.out)).version, 2);
  const [twoLevel, oneLevel] = [await model.loadIndex(out), await model.loadIndex(one.out)];
  const opened = twoLevel.fetched.bytes;
  const found = { two: 0, one: 0 };
  let queries = 0;
  for (let row = 0; row < ROWS; row += 199) {
    const query = vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION);
    const hits = await twoLevel.search(query, { k: 5 });
    assert.equal(hits[0].id, `r${row}`, `row ${row}`);
    assert.ok(Math.abs(hits[0].score - 1) < 0.01, `row ${row}: ${hits[0].score}`);
    // Recall@5 against an exact search, beside the one-level index's.
    const scores = Array.from({ length: ROWS }, (_, r) => [r, query.reduce((sum, x, d) => sum + x * vectors[r * DIMENSION + d], 0)]);
    const exact = new Set(scores.sort((a, b) => b[1] - a[1]).slice(0, 5).map(([r]) => `r${r}`));
    found.two += hits.filter((hit) => exact.has(hit.id)).length;
    found.one += (await oneLevel.search(query, { k: 5 })).filter((hit) => exact.has(hit.id)).length;
    queries++;
  }
  assert.ok(found.two / (5 * queries) >= 0.9, `two levels: recall@5 ${found.two / (5 * queries)}`);
  assert.ok(found.two >= found.one - 2, `two levels ${found.two} against one level ${found.one} of ${5 * queries}`);
  assert.ok(twoLevel.fetched.bytes > opened, 'searches fetched blocks and partitions');
  assert.equal((await twoLevel.search('topic t7', { mode: 'keyword', k: 3 })).length, 3);
});

test('two threads build the two levels in the bytes of one', async () => {
  const single = await filesOf((await build('single', ['--levels', '2'])).out);
  const double = await filesOf((await build('double', ['--levels', '2', '--threads', '2'])).out);
  assert.deepEqual(double, single);
});

test('a damaged or swapped block is E_INDEX naming it; keyword search answers, and the same index recovers', async () => {
  const { out } = await build('damaged', ['--levels', '2']);
  const manifest = await manifestOf(out);
  const blocks = manifest.vectors.blocks.map(([name]) => name);
  const originals = await Promise.all(blocks.map((name) => readFile(join(out, name))));
  for (const [i, name] of blocks.entries()) {
    const flipped = Buffer.from(originals[i]);
    flipped[flipped.length - 1] ^= 0xff;
    await writeFile(join(out, name), flipped);
  }
  const index = await model.loadIndex(out);
  await assert.rejects(index.search(vectors.subarray(0, DIMENSION)), (error) => error.code === 'E_INDEX' && /c\/[0-9a-f]{16}\.bin is damaged or was replaced.*keyword search .* still answer/.test(error.message));
  assert.equal((await index.search('topic t3', { mode: 'keyword', k: 1 }))[0].id.startsWith('r'), true);
  await Promise.all(blocks.map((name, i) => writeFile(join(out, name), originals[i])));
  assert.equal((await index.search(vectors.subarray(0, DIMENSION)))[0].id, 'r0', 'the same object answers once the host serves the right bytes');

  // Two blocks swapped in the manifest: each one's number says it is not where it is listed.
  const swapped = structuredClone(manifest);
  [swapped.vectors.blocks[0], swapped.vectors.blocks[1]] = [swapped.vectors.blocks[1], swapped.vectors.blocks[0]];
  await writeFile(join(out, 'webembed-index.json'), JSON.stringify(swapped));
  const wrong = await model.loadIndex(out);
  const errors = [];
  for (let row = 0; row < ROWS; row += 97) {
    try {
      await wrong.search(vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION));
    } catch (error) {
      errors.push(error);
    }
  }
  assert.ok(errors.length > 0, 'some query reads a swapped block');
  assert.ok(errors.every((error) => error.code === 'E_INDEX' && /block number \d+, the manifest says \d+/.test(error.message)), errors.map((e) => e.message).join('\n'));
  // A manifest whose blocks do not add up to its partitions is refused at load.
  await writeFile(join(out, 'webembed-index.json'), JSON.stringify({ ...manifest, vectors: { ...manifest.vectors, partitionCount: 41 } }));
  await assert.rejects(model.loadIndex(out), (error) => error.code === 'E_INDEX' && /vectors\.blocks do not hold vectors\.partitionCount partitions/.test(error.message));
});
