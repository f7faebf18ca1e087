// Shipped indexes in two levels (format version 4): the top centroids open with the manifest,
// blocks of partition centroids and pages of the fragment and shard tables are fetched on demand. Built with `--levels 2` on 4 000 clustered
// vectors: every stored row is found by its own vector, the top hits agree with a one-level build,
// two threads write the bytes of one, and damaged or swapped blocks are E_INDEX naming the file
// while keyword search answers and the same object recovers.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Embedder } from '../../pkg/index.js';
import { filesOf, serveFolder, writeNpy } from './index-files.mjs';
import { contentName, decodeDirectory, encodeDirectory } from '../../pkg/shipped/format.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'pkg/cli/main.mjs');
const MODEL = join(ROOT, 'tests/fixtures/tiny/models/bge-cls-like');
const ROWS = 4000;
const DIMENSION = 384;
const execFileAsync = promisify(execFile);

let work;
let model;
let vectors;

/** Seeded clustered unit vectors: `topics` topics, each row its topic's centre plus noise. */
function clustered(rows = ROWS, topics = 40) {
  let state = 2026;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const gaussian = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const centres = Float32Array.from({ length: topics * DIMENSION }, gaussian);
  const out = new Float32Array(rows * DIMENSION);
  for (let r = 0; r < rows; r++) {
    const centre = r % topics;
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
  // ~50 words a row: enough fragments and keyword shards for several table pages.
  const words = (i) => Array.from({ length: 48 }, (_, w) => `w${(i * 31 + w * 97) % 6000}`).join(' ');
  await writeFile(join(work, 'rows.jsonl'), Array.from({ length: ROWS }, (_, i) => JSON.stringify({ id: `r${i}`, text: `row n${i} of topic t${i % 40}: ${words(i)}`, ...(i % 3 === 0 ? { title: `Heading w${i % 97} of t${i % 40}` } : {}) })).join('\n'));
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
  assert.equal(manifest.version, 4);
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

test('the fragment and shard tables in pages under a directory: a search fetches the pages its hits and terms need, and every document is reachable', async () => {
  const { out } = await build('paged', ['--levels', '2']);
  const manifest = await manifestOf(out);
  assert.equal(manifest.fragments, undefined);
  assert.equal(manifest.keywords.shards, undefined);
  const directory = async ([name, pages, bytes], kind, end) => decodeDirectory(new Uint8Array(await readFile(join(out, name))), name, { kind, pages, end });
  const fragmentPages = await directory(manifest.fragmentPages, 'fragments', ROWS);
  const shardPages = await directory(manifest.keywords.shardPages, 'shards', manifest.keywords.shardCount);
  assert.ok(fragmentPages.length >= 2, `${fragmentPages.length} fragment pages`);
  assert.ok(shardPages.length >= 2, `${shardPages.length} shard pages`);
  const served = await serveFolder(out);
  const { asked } = served;
  const index = await model.loadIndex(served.url, { cache: false });
  // One word of one document: each table's directory and one page of it, one shard, one fragment.
  asked.length = 0;
  const [hit] = await index.search('n1234', { mode: 'keyword', k: 1 });
  assert.equal(hit.id, 'r1234');
  const of = (list) => asked.filter((name) => list.some(([file]) => file === name)).length;
  assert.equal(asked.length, 6, asked.join(' '));
  assert.deepEqual([of([manifest.fragmentPages]), of([manifest.keywords.shardPages])], [1, 1], asked.join(' '));
  assert.equal(of(shardPages), 1, 'the page that holds this term, not every page');
  assert.equal(of(fragmentPages), 1, 'the page that holds this hit, not every page');
  // A term of a hit on another page: that page, its shard's page (or not) and files; the directories are held.
  asked.length = 0;
  assert.equal((await index.search('n3999', { mode: 'keyword', k: 1 }))[0]?.id, 'r3999');
  assert.equal(of([manifest.fragmentPages, manifest.keywords.shardPages]), 0, asked.join(' '));
  for (const row of [0, 31, 32, 2047, 3998]) assert.equal((await index.search(`n${row}`, { mode: 'keyword', k: 1 }))[0]?.id, `r${row}`, `row ${row}`);
  await served.close();

  // Two fragment pages swapped in a directory, then a shard page damaged: E_INDEX naming the page; the other side answers.
  const entries = fragmentPages.map(([file, first, bytes]) => [file, first, bytes]);
  [entries[0][0], entries[1][0], entries[0][2], entries[1][2]] = [entries[1][0], entries[0][0], entries[1][2], entries[0][2]];
  const swappedBytes = encodeDirectory('fragments', entries);
  const swappedName = await contentName('d', swappedBytes, 'bin');
  await writeFile(join(out, swappedName), swappedBytes);
  await writeFile(join(out, 'webembed-index.json'), JSON.stringify({ ...manifest, fragmentPages: [swappedName, entries.length, swappedBytes.byteLength] }));
  const wrong = await model.loadIndex(out);
  await assert.rejects(wrong.search('n0', { mode: 'keyword', k: 1 }), (error) => error.code === 'E_INDEX' && /d\/[0-9a-f]{16}\.bin.*page number 1, the manifest says 0/.test(error.message));
  await writeFile(join(out, 'webembed-index.json'), JSON.stringify(manifest));
  const page = shardPages[0][0];
  const original = await readFile(join(out, page));
  await writeFile(join(out, page), Buffer.concat([original.subarray(0, 30), Buffer.alloc(original.length - 30)]));
  const damaged = await model.loadIndex(out);
  const everyTerm = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
  await assert.rejects(damaged.search(everyTerm, { mode: 'keyword' }), (error) => error.code === 'E_INDEX' && error.message.includes(page) && /semantic search .* still answer/.test(error.message));
  assert.equal((await damaged.search(vectors.subarray(5 * DIMENSION, 6 * DIMENSION), { mode: 'semantic', k: 1 }))[0].id, 'r5');
  await writeFile(join(out, page), original);
  assert.ok((await damaged.search(everyTerm, { mode: 'keyword' })).length > 0, 'the same object answers once the page is right');
  // A manifest whose directory does not cover its shards is refused at load.
  await writeFile(join(out, 'webembed-index.json'), JSON.stringify({ ...manifest, keywords: { ...manifest.keywords, shardPages: [manifest.keywords.shardPages[0], 1, manifest.keywords.shardPages[2]] } }));
  await assert.rejects(model.loadIndex(out), (error) => error.code === 'E_INDEX' && /keywords\.shardPages are not the pages of \d+ shards/.test(error.message));
});

test('keyword shards built in passes (two levels) score every term as one engine store does (one level), titles included', async () => {
  const [two, one] = await Promise.all([build('kw-two', ['--levels', '2']), build('kw-one', ['--levels', '1'])]);
  const manifests = [await manifestOf(two.out), await manifestOf(one.out)];
  assert.ok(manifests[0].keywords.title && manifests[1].keywords.title, 'titled documents');
  const [paged, whole] = [await model.loadIndex(two.out), await model.loadIndex(one.out)];
  const queries = ['w5', 'w17 w4000', 'heading', 'heading w3', 'topic t7', 'n1234', 'of', 'row w2999 w1 w77', 't39', 'zzz'];
  for (let w = 0; w < 6000; w += 211) queries.push(`w${w}`);
  for (const query of queries) {
    // Every match (ties are ordered by document number, which the two layouts number apart).
    const hits = async (index) => (await index.search(query, { mode: 'keyword', k: ROWS })).map((hit) => [hit.id, hit.chunk.index, hit.score]).sort((x, y) => (x[0] < y[0] ? -1 : 1));
    const [a, b] = [await hits(paged), await hits(whole)];
    assert.deepEqual(a, b, query);
    if (query !== 'zzz') assert.ok(a.length > 0, query);
  }
});

test('two threads build the two levels in the bytes of one', async () => {
  const single = await filesOf((await build('single', ['--levels', '2'])).out);
  const double = await filesOf((await build('double', ['--levels', '2', '--threads', '2'])).out);
  assert.deepEqual(double, single);
});

test('a build killed during its clustering passes resumes from their checkpoint and writes the bytes of an uninterrupted one', async () => {
  const rows = 60_000;
  await writeNpy(join(work, 'many.npy'), clustered(rows, 200), rows, DIMENSION);
  await writeFile(join(work, 'many.jsonl'), Array.from({ length: rows }, (_, i) => JSON.stringify({ id: `m${i}`, text: `row ${i}` })).join('\n'));
  const args = (out, cache) => [CLI, 'index', '--vectors', join(work, 'many.npy'), '--documents', join(work, 'many.jsonl'), '--model', MODEL, '--out', join(work, out), '--threads', '1', '--levels', '2', '--cache', join(work, cache)];
  await execFileAsync('node', args('whole', 'whole-cache'), { cwd: work });
  const whole = await filesOf(join(work, 'whole'));
  assert.deepEqual(await readdir(join(work, 'whole-cache', 'build-passes')), [], 'the checkpoint goes once the index is written');

  // Killed once the top level and two batches of sub-partitions are kept.
  const passes = join(work, 'killed-cache', 'build-passes');
  const kept = async () => (await readdir(passes, { recursive: true }).catch(() => [])).filter((name) => name.endsWith('.bin'));
  const child = spawn('node', args('killed', 'killed-cache'), { cwd: work, stdio: 'ignore' });
  const exited = new Promise((done) => child.on('exit', (code, signal) => done(signal)));
  while (!(await kept()).some((name) => name.endsWith('cells-1.bin'))) await new Promise((done) => setTimeout(done, 10));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', 'the build ended before it was killed: make the input larger');
  const before = await kept();
  assert.ok(['top.bin', 'cells.bin', 'cells-0.bin'].every((name) => before.some((path) => path.endsWith(name))), before.join(' '));
  await assert.rejects(readFile(join(work, 'killed', 'webembed-index.json')), 'no manifest after a killed build');

  const { stdout } = await execFileAsync('node', args('killed', 'killed-cache'), { cwd: work });
  for (const pass of ['top', 'cells', 'cells-0', 'cells-1']) assert.match(stdout, new RegExp(`^${pass}: resumed from the checkpoint$`, 'm'));
  assert.deepEqual(await filesOf(join(work, 'killed')), whole);
  assert.deepEqual(await kept(), []);
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
