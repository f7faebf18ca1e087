// `webembed index --parquet`: the parts a distributed job writes (tests/fixtures/shipped/parts/,
// made by tools/make_parquet_parts.py with pyarrow): a folder with _SUCCESS and .crc files, every
// list layout (list<float> `element`, list<double> `item`, fixed-size lists, zstd), several row
// groups, a document's chunks on consecutive rows across parts; other column names by flags; and
// parts that lie, each a clear error naming the part and row, with no index written.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
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
const PARTS = join(ROOT, 'tests/fixtures/shipped/parts');
const execFileAsync = promisify(execFile);

let work;
let model;
let stored;

async function cli(args) {
  try {
    const threads = args.includes('--threads') ? [] : ['--threads', '1'];
    const { stdout, stderr } = await execFileAsync('node', [CLI, 'index', ...args, '--model', MODEL, ...threads], { cwd: work });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

async function build(name, args) {
  const out = join(work, name);
  const result = await cli([...args, '--out', out]);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  return out;
}

const manifestOf = async (out) => JSON.parse(await readFile(join(out, 'webembed-index.json'), 'utf8'));

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'webembed-parts-'));
  model = await Embedder.load(MODEL);
  const npy = await readFile(join(PARTS, 'vectors.npy'));
  stored = new Float32Array(npy.buffer.slice(npy.byteOffset + 10 + npy.readUInt16LE(8), npy.byteOffset + npy.length));
});

after(async () => {
  await model?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

test('a job folder of parts: every row found by its vector, chunks joined across parts, fields kept; a glob and renamed columns give the same index', async () => {
  const out = await build('job', ['--parquet', join(PARTS, 'job')]);
  const manifest = await manifestOf(out);
  assert.deepEqual(manifest.counts, { documents: 12, chunks: 14 });
  assert.ok(manifest.keywords, 'texts give a keyword side');
  const index = await model.loadIndex(out);
  // Rows 5–7 are "manual"'s three chunks: the first part ends inside it.
  const idOf = (row) => (row >= 5 && row <= 7 ? 'manual' : `doc-${row < 5 ? row : row - 2}`);
  for (let row = 0; row < 14; row++) {
    const [hit] = await index.search(stored.subarray(row * 384, (row + 1) * 384), { k: 3 });
    assert.equal(hit.id, idOf(row), `row ${row}`);
    assert.ok(Math.abs(hit.score - 1) < 0.01, `row ${row}: ${hit.score}`);
  }
  const [manual] = await index.search(stored.subarray(6 * 384, 7 * 384));
  assert.equal(manual.chunk.index, 1);
  assert.match(manual.text, /^manual part 1:/);
  assert.equal(manual.title, 'Manual');
  assert.deepEqual(manual.metadata, { part: 0 });
  const [doc9] = await index.search(stored.subarray(11 * 384, 12 * 384));
  assert.deepEqual([doc9.id, doc9.url, doc9.title, doc9.metadata], ['doc-9', '/doc/9', 'Doc 9', { n: 9 }]);
  const keyword = await index.search('telescope', { mode: 'keyword' });
  assert.deepEqual(keyword.map((hit) => hit.id).sort(), ['doc-4', 'doc-9']);

  const globbed = await build('glob', ['--parquet', `${join(PARTS, 'job')}/part-*.parquet`]);
  assert.deepEqual(await manifestOf(globbed), manifest, 'a glob of the parts gives the same index');
  const renamed = await build('renamed', ['--parquet', join(PARTS, 'other-names'), '--id-column', 'doc_id', '--vector-column', 'embedding', '--text-column', 'body', '--url-column', 'link', '--title-column', 'heading', '--metadata-column', 'meta']);
  assert.deepEqual(await manifestOf(renamed), manifest, 'one part with other column names gives the same index');
});

test('parts that lie: a clear error naming the part (and row), and no index written', async () => {
  const truncated = join(work, 'truncated');
  await cp(join(PARTS, 'job'), truncated, { recursive: true });
  await truncate(join(truncated, 'part-00001.parquet'), 5000);
  const hostile = (name) => join(PARTS, 'hostile', name);
  const cases = [
    [['--parquet', hostile('int-vectors')], /int-vectors\/part-1\.parquet: column vector is a list of INT64, not of float or double/],
    [['--parquet', hostile('string-vectors')], /string-vectors\/part-0\.parquet: column vector is STRING, not a list of float or double/],
    [['--parquet', hostile('other-dimension')], /other-dimension\/part-1\.parquet: row 0: vector has 128 values; the model gives 384/],
    [['--parquet', hostile('ragged')], /ragged\/part-1\.parquet: row 1: vector has 200 values; the model gives 384/],
    [['--parquet', hostile('nan')], /nan\/part-1\.parquet: row 2: vector holds NaN at 5/],
    [['--parquet', hostile('duplicate-id')], /duplicate-id\/part-1\.parquet: row 1: id "doc-1" appears again \(first at .*duplicate-id\/part-0\.parquet: row 1\)/],
    [['--parquet', hostile('bad-metadata')], /bad-metadata\/part-1\.parquet: row 3: metadata is not JSON/],
    [['--parquet', hostile('no-id')], /no-id\/part-0\.parquet: no id column "id" \(columns: vector, text, url, title, metadata\); name it with --id-column/],
    // A footer claiming 10^9 rows over 10 KB: refused without allocating for them.
    [['--parquet', hostile('billion-rows')], /billion-rows\/part-1\.parquet: row group 0 claims 1000000000 rows; column id holds 4/],
    [['--vectors', join(hostile('billion-rows'), 'part-1.parquet'), '--documents', join(ROOT, 'tests/fixtures/shipped/vectors/documents.jsonl')], /part-1\.parquet: row group 0 claims 1000000000 rows; column vector holds 4/],
    [['--parquet', truncated], /truncated\/part-00001\.parquet: not a Parquet file, or truncated/],
    [['--parquet', join(work, 'nowhere')], /--parquet .*nowhere: cannot read it \(ENOENT\)/],
    [['--parquet', join(ROOT, 'tests/fixtures/shipped/site')], /--parquet: no \.parquet parts found/],
    [['--parquet', join(PARTS, 'job'), '--vectors', join(PARTS, 'vectors.npy')], /one of them/],
  ];
  for (const [args, message] of cases) {
    const out = join(work, 'bad-out');
    const started = performance.now();
    const result = await cli([...args, '--out', out]);
    assert.ok(result.code === 1 || result.code === 2, `${args.join(' ')}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stderr, message, args.join(' '));
    assert.doesNotMatch(result.stderr, /at .*\.m?js:\d+/, `${args.join(' ')}: a stack trace, not a message`);
    assert.ok(performance.now() - started < 30_000, `${args.join(' ')} took ${performance.now() - started} ms`);
    await assert.rejects(stat(join(out, 'webembed-index.json')), `${args.join(' ')} wrote an index`);
  }
});

test('the build clusters and assigns on every thread it is given, and two threads write the bytes of one', async () => {
  // 3 000 random unit vectors: 60 partitions, blocks of rows on both threads.
  const rows = 3000;
  let state = 12345;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
  const values = new Float32Array(rows * 384);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let d = 0; d < 384; d++) norm += (values[r * 384 + d] = random()) ** 2;
    for (let d = 0; d < 384; d++) values[r * 384 + d] /= Math.sqrt(norm);
  }
  await writeNpy(join(work, 'many.npy'), values, rows, 384);
  await writeFile(join(work, 'many.jsonl'), Array.from({ length: rows }, (_, i) => JSON.stringify({ id: `r${i}`, text: `row ${i}` })).join('\n'));
  const outs = [];
  for (const threads of ['1', '2']) {
    const out = join(work, `threads-${threads}`);
    const result = await cli(['--vectors', join(work, 'many.npy'), '--documents', join(work, 'many.jsonl'), '--out', out, '--threads', threads]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /pass 2\/5 assigning: 3000\/3000 \(100%\)|built in/);
    assert.match(result.stdout, /peak memory \d+ MB/);
    outs.push(await filesOf(out));
  }
  assert.ok((await manifestOf(join(work, 'threads-2'))).vectors.partitions.length >= 50);
  assert.deepEqual(outs[1], outs[0]);
});
