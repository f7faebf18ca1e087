// Shipped indexes in Node: the CLI (`webembed index`) on texts, HTML, JSONL, .npy and Parquet
// vectors and an export; deterministic output, an incremental rebuild, a run killed and resumed;
// bad inputs; and model.loadIndex on the folder: the same BM25 as a browser index, read-only,
// another model refused, every damaged file (flipped, truncated, missing, a claimed 10^9 rows, a
// manifest pointing outside its folder, an HTML body) E_INDEX naming it, with the rest answering.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Embedder } from '../../pkg/index.js';
import { idSet } from '../../pkg/cli/document-files.mjs';
import { filesOf } from './index-files.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'pkg/cli/main.mjs');
const MODEL = join(ROOT, 'tests/fixtures/tiny/models/bge-cls-like');
const OTHER_MODEL = join(ROOT, 'tests/fixtures/tiny/models/multilingual-e5-small-like');
const WIDE_MODEL = join(ROOT, 'tests/fixtures/tiny/models/multilingual-e5-large-like');
const SITE = join(ROOT, 'tests/fixtures/shipped/site');
const VECTORS = join(ROOT, 'tests/fixtures/shipped/vectors');
const execFileAsync = promisify(execFile);

let work;
let model;
let siteIndex;

/** Runs the CLI; resolves to { code, stdout, stderr } whatever the exit code. */
async function cli(args, options = {}) {
  try {
    const { stdout, stderr } = await execFileAsync('node', [CLI, 'index', ...args], { cwd: work, ...options });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

async function build(name, args) {
  const out = join(work, name);
  const result = await cli([...args, '--model', MODEL, '--out', out, '--threads', '1']);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  return { out, ...result };
}

async function manifestOf(out) {
  return JSON.parse(await readFile(join(out, 'webembed-index.json'), 'utf8'));
}

/** Replaces file `name` of the index copy at `out` with `bytes` under their own content name, as a rebuild would, and points the manifest at it. */
async function replaceFile(out, name, bytes) {
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const renamed = `${name.slice(0, 2)}${hash}${name.slice(name.lastIndexOf('.'))}`;
  await writeFile(join(out, renamed), bytes);
  const text = (await readFile(join(out, 'webembed-index.json'), 'utf8')).replaceAll(name, renamed);
  await writeFile(join(out, 'webembed-index.json'), text);
  return renamed;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'webembed-shipped-'));
  model = await Embedder.load(MODEL, { dtype: 'q8', cache: false, backend: 'cpu', threads: 1 });
  siteIndex = await build('site', [SITE]);
});

after(async () => {
  await model?.dispose();
  await rm(work, { recursive: true, force: true });
});

test('index builds a shipped index from .md, .txt, .html (one document per section) and .jsonl', async () => {
  const manifest = await manifestOf(siteIndex.out);
  assert.equal(manifest.counts.documents, 8);
  assert.equal(manifest.model.dimension, 384);
  assert.equal(manifest.model.dtype, 'q8');
  assert.ok(manifest.keywords && manifest.keywords.shardCount >= 1);
  assert.match(siteIndex.stdout, /8 documents from 4 files: 0 from the build cache, 8 to embed/);
  const index = await model.loadIndex(siteIndex.out);
  assert.equal(index.size, 8);
  assert.equal(index.storage, 'shipped');
  const [sourdough] = await index.search('sourdough starter', { mode: 'keyword', k: 3 });
  assert.equal(sourdough.id, 'notes.txt');
  assert.equal(sourdough.url, 'notes.txt');
  assert.deepEqual(sourdough.text.slice(sourdough.highlights[0].start, sourdough.highlights[0].end), 'Sourdough');
  const [realpath] = await index.search('realpath', { mode: 'keyword' });
  assert.equal(realpath.id, 'api.html#resolving-symlinks');
  assert.equal(realpath.url, 'api.html#resolving-symlinks');
  assert.equal(realpath.metadata.section, 'Resolving symbolic links');
  assert.equal(realpath.metadata.title, 'pathlib — Object-oriented filesystem paths');
  assert.doesNotMatch(realpath.text, /navigation text|footer|script text|¶/);
  const [refund] = await index.search('refund', { mode: 'keyword', filter: (metadata) => metadata?.topic === 'billing' });
  assert.equal(refund.id, 'faq-refund');
  assert.deepEqual(await index.search('refund', { mode: 'keyword', filter: (metadata) => metadata?.topic === 'travel' }), []);
  const hybrid = await index.search('how do I reset my password', { k: 8 });
  assert.equal(hybrid.length, 8);
  assert.ok(hybrid.every((hit) => typeof hit.semanticScore === 'number' && typeof hit.keywordScore === 'number'));
  await index.close();
});

test('a shipped index gives the scores of a browser index holding the same documents', async () => {
  const index = await model.loadIndex(siteIndex.out);
  const memory = await model.openIndex('same-docs', { storage: 'memory' });
  // The same documents, from the same readers the CLI used.
  const { listInputs, readDocuments } = await import('../../pkg/cli/inputs.mjs');
  const docs = [];
  for (const input of await listInputs([SITE])) docs.push(...(await readDocuments(input)));
  await memory.add(docs.map(({ id, text, title, metadata }) => ({ id, text, title, metadata })));
  for (const query of ['password reset link', 'realpath', 'trains on Sunday', 'semantic search meaning']) {
    // Hybrid: the same fusion of the same BM25 over the same bound; the cosines differ by int8's error.
    const [shippedHybrid, browserHybrid] = [await index.search(query, { k: 8 }), await memory.search(query, { k: 8 })];
    const fused = new Map(browserHybrid.map((hit) => [hit.id, hit.score]));
    for (const hit of shippedHybrid.filter((h) => fused.has(h.id))) assert.ok(Math.abs(hit.score - fused.get(hit.id)) < 5e-3, `${query}: fused ${hit.id} ${hit.score} vs ${fused.get(hit.id)}`);
    assert.equal(shippedHybrid[0].id, browserHybrid[0].id, query);
    const [shipped, browser] = [await index.search(query, { mode: 'keyword', k: 8 }), await memory.search(query, { mode: 'keyword', k: 8 })];
    assert.deepEqual(shipped.map((h) => h.id), browser.map((h) => h.id), query);
    shipped.forEach((hit, i) => assert.ok(Math.abs(hit.keywordScore - browser[i].keywordScore) < 1e-5, `${query}: BM25 ${hit.keywordScore} vs ${browser[i].keywordScore}`));
    const [s, b] = [await index.search(query, { mode: 'semantic', k: 8 }), await memory.search(query, { mode: 'semantic', k: 8 })];
    const byId = new Map(b.map((hit) => [hit.id, hit.semanticScore]));
    // int8 residuals against the index's 16-bit exact vectors: the same cosines to ~1e-3.
    for (const hit of s) assert.ok(Math.abs(hit.semanticScore - byId.get(hit.id)) < 5e-3, `${query}: ${hit.id} ${hit.semanticScore} vs ${byId.get(hit.id)}`);
  }
  await memory.close();
  await index.close();
});

test('the same input gives the same bytes, and a rebuild embeds only added or changed documents', async () => {
  const again = await build('site-again', [SITE]);
  assert.match(again.stdout, /8 from the build cache, 0 to embed/);
  assert.deepEqual(await filesOf(again.out), await filesOf(siteIndex.out));

  const site = join(work, 'site-copy');
  await cp(SITE, site, { recursive: true });
  const first = await build('incremental', [site]);
  assert.match(first.stdout, /8 from the build cache, 0 to embed/, 'the cache is keyed by content, not path');
  await writeFile(join(site, 'notes.txt'), 'Release notes\n\nVersion 3 drops the old tokenizer.\n');
  await writeFile(join(site, 'new.md'), '# New page\n\nA page about lighthouses and their keepers.\n');
  const second = await build('incremental', [site]);
  assert.match(second.stdout, /9 documents from 5 files: 7 from the build cache, 2 to embed/);
  const index = await model.loadIndex(second.out);
  assert.equal((await index.search('lighthouses', { mode: 'keyword' }))[0].id, 'new.md');
  assert.deepEqual(await index.search('sourdough', { mode: 'keyword' }), []);
  // Files of the first build that the second does not name are gone.
  const manifest = await manifestOf(second.out);
  const tables = await Promise.all([manifest.keywords.shards[0], manifest.fragments[0]].map((name) => readFile(join(second.out, name), 'utf8')));
  const named = [JSON.stringify(manifest), ...tables].join('\n');
  for (const path of Object.keys(await filesOf(second.out))) if (path !== 'webembed-index.json') assert.ok(named.includes(path), `${path} left behind`);
});

test('a run killed twice while embedding leaves no manifest, and each next run resumes from what was embedded', async () => {
  const lines = Array.from({ length: 4000 }, (_, i) => JSON.stringify({ id: `d${String(i).padStart(4, '0')}`, text: `passage ${i} about ${['ships', 'maps', 'tea', 'clocks'][i % 4]} and number ${i * 7}` }));
  const input = join(work, 'many.jsonl');
  await writeFile(input, `${lines.join('\n')}\n`);
  const out = join(work, 'resumed');
  const cache = join(work, 'resume-cache');
  const args = [CLI, 'index', input, '--model', MODEL, '--out', out, '--cache', cache, '--threads', '1'];
  const entries = async () => (await readdir(cache, { recursive: true }).catch(() => [])).filter((name) => name.endsWith('.bin')).length;
  let kept = 0;
  for (const round of [1, 2]) {
    const child = spawn('node', args, { stdio: 'ignore' });
    const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
    while ((await entries()) < kept + 200) await new Promise((done) => setTimeout(done, 20));
    child.kill('SIGKILL');
    const { signal } = await exited;
    assert.equal(signal, 'SIGKILL', `round ${round}: the run ended before it was killed: make the input larger`);
    await assert.rejects(stat(join(out, 'webembed-index.json')), `round ${round}: no manifest after a killed run`);
    const now = await entries();
    assert.ok(now >= kept + 200 && now < 4000, `round ${round}: ${now} documents cached`);
    kept = now;
  }
  const resumed = await cli(args.slice(2));
  assert.equal(resumed.code, 0, resumed.stderr);
  const [, fromCache, toEmbed] = resumed.stdout.match(/(\d+) from the build cache, (\d+) to embed/).map(Number);
  assert.ok(fromCache >= kept && fromCache + toEmbed === 4000, resumed.stdout);
  const index = await model.loadIndex(out);
  assert.equal(index.size, 4000);
  assert.equal((await index.search('number 20993', { mode: 'keyword' }))[0].id, 'd2999');

  // Files that hash right in the wrong place: two partitions swapped in the manifest, then two
  // keyword shards swapped in the shard table.
  const manifest = await manifestOf(out);
  assert.ok(manifest.vectors.partitions.length >= 2 && manifest.keywords.shardCount >= 2);
  const swap = (list) => [list[1], list[0], ...list.slice(2)];
  const vector = (await model.encode(['passage 5 about maps']))[0];
  const partitions = join(work, 'swapped-partitions');
  await cp(out, partitions, { recursive: true });
  await writeFile(join(partitions, 'webembed-index.json'), JSON.stringify({ ...manifest, vectors: { ...manifest.vectors, partitions: swap(manifest.vectors.partitions) } }));
  await assert.rejects((await model.loadIndex(partitions)).search(vector, { probes: 1000 }), (error) => error.code === 'E_INDEX' && /partition number \d+, the manifest says/.test(error.message));
  const shards = join(work, 'swapped-shards');
  await cp(out, shards, { recursive: true });
  const [tableName] = manifest.keywords.shards;
  const table = JSON.parse(await readFile(join(shards, tableName), 'utf8'));
  await replaceFile(shards, tableName, Buffer.from(JSON.stringify(swap(table))));
  const everyTerm = lines.map((l) => JSON.parse(l).text).join(' ').slice(0, 20000);
  await assert.rejects((await model.loadIndex(shards)).search(everyTerm, { mode: 'keyword' }), (error) => error.code === 'E_INDEX' && /does not belong in keyword shard/.test(error.message));
});

test('vectors embedded elsewhere: .npy and Parquet (float32 and float64), chunks on consecutive lines', async () => {
  const documents = join(VECTORS, 'documents.jsonl');
  const rows = (await readFile(documents, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  const npy = await readFile(join(VECTORS, 'vectors.npy'));
  const headerLength = npy.readUInt16LE(8);
  const stored = new Float32Array(npy.buffer.slice(npy.byteOffset + 10 + headerLength, npy.byteOffset + npy.length));
  for (const file of ['vectors.npy', 'vectors-f64.npy', 'vectors.parquet', 'vectors-f64.parquet']) {
    const { out } = await build(`from-${file}`, ['--vectors', join(VECTORS, file), '--documents', documents]);
    const manifest = await manifestOf(out);
    assert.deepEqual(manifest.counts, { documents: 10, chunks: 12 }, file);
    const index = await model.loadIndex(out);
    for (const row of [0, 5, 11]) {
      const [hit] = await index.search(stored.subarray(row * 384, (row + 1) * 384), { k: 3 });
      assert.equal(hit.id, rows[row].id, `${file} row ${row}`);
      assert.ok(Math.abs(hit.score - 1) < 0.01, `${file} row ${row}: ${hit.score}`);
    }
    const [manual] = await index.search(stored.subarray(5 * 384, 6 * 384));
    assert.equal(manual.chunk.index, 1);
    assert.equal(manual.text, rows[5].text);
    assert.equal(manual.url, '/manual#0');
    assert.equal((await index.search('trains', { mode: 'keyword' }))[0].id, 'doc-1');
  }
  const { out } = await build('no-text', ['--vectors', join(VECTORS, 'vectors.npy'), '--documents', join(VECTORS, 'documents-no-text.jsonl')]);
  const index = await model.loadIndex(out);
  assert.equal((await manifestOf(out)).keywords, null);
  assert.equal((await index.search(stored.subarray(0, 384)))[0].id, 'doc-0');
  await assert.rejects(index.search('trains', { mode: 'keyword' }), (error) => error.code === 'E_INDEX' && /without keywords/.test(error.message));
});

test('the id set a streamed build keeps (~20 bytes an id) tells each repeated id and no other, past its growth', () => {
  const ids = idSet();
  for (let n = 0; n < 300_000; n++) assert.equal(ids.add(`doc-${n}#part-${n % 7}`, n), -1, `doc-${n}`);
  for (const n of [0, 65_535, 65_536, 299_999]) assert.equal(ids.add(`doc-${n}#part-${n % 7}`, 300_000 + n), n);
  assert.equal(ids.add('doc-300000#part-0', 600_000), -1);
});

test('bad CLI inputs: a clear error naming the file and why, and no index written', async () => {
  const documents = join(VECTORS, 'documents.jsonl');
  const folderAsFile = join(work, 'a-file');
  await writeFile(folderAsFile, 'not a folder');
  const shortDocuments = join(work, 'short.jsonl');
  await writeFile(shortDocuments, (await readFile(documents, 'utf8')).split('\n').slice(0, 5).join('\n'));
  // Line 9 repeats line 2's id after other documents (the lines are read a block at a time, the documents kept on disk).
  const repeated = join(work, 'repeated.jsonl');
  const lines = (await readFile(documents, 'utf8')).trim().split('\n');
  lines[8] = JSON.stringify({ ...JSON.parse(lines[8]), id: JSON.parse(lines[1]).id });
  await writeFile(repeated, `${lines.join('\n')}\n`);
  const cases = [
    [['--vectors', join(VECTORS, 'vectors.npy'), '--documents', repeated], /repeated\.jsonl:9: id ".*" appears again \(first at .*repeated\.jsonl:2\)/],
    [['--vectors', join(VECTORS, 'bad-int.npy'), '--documents', documents], /bad-int\.npy: dtype <i4 is not float32 or float64/],
    [['--vectors', join(VECTORS, 'bad-shape.npy'), '--documents', documents], /bad-shape\.npy: shape \(12, 384, 1\) is not \(rows, dimension\)/],
    [['--vectors', join(VECTORS, 'bad-nan.npy'), '--documents', documents], /bad-nan\.npy: row 7 holds NaN/],
    [['--vectors', join(VECTORS, 'bad-dimension.npy'), '--documents', documents], /vectors have 256 dimensions; the model .* gives 384/],
    [['--vectors', join(VECTORS, 'bad-int.parquet'), '--documents', documents], /bad-int\.parquet: column embedding holds INT64, not float or double/],
    [['--vectors', join(VECTORS, 'bad-nan.parquet'), '--documents', documents], /bad-nan\.parquet: row 7 holds NaN/],
    [['--vectors', join(VECTORS, 'vectors.npy'), '--documents', shortDocuments], /has 5 lines and .* 12 vectors/],
    [['--vectors', join(VECTORS, 'documents.jsonl'), '--documents', documents], /vectors are read from \.npy or \.parquet files/],
    [['--vectors', join(VECTORS, 'vectors.npy'), '--documents', join(work, 'missing.jsonl')], /missing\.jsonl: cannot read it \(ENOENT\)/],
    [[join(work, 'no-such-folder')], /no-such-folder: cannot read it \(ENOENT\)/],
    [[join(VECTORS, 'vectors.npy')], /indexes \.md, \.txt, \.html and \.jsonl files, not \.npy/],
    [['--from-export', join(VECTORS, 'vectors.npy')], /E_INDEX: not an exported webembed index/],
  ];
  for (const [args, message] of cases) {
    const out = join(work, 'bad-out');
    const result = await cli([...args, '--model', MODEL, '--out', out]);
    assert.equal(result.code, 1, `${args.join(' ')}: exit ${result.code}\n${result.stdout}`);
    assert.match(result.stderr, message, args.join(' '));
    await assert.rejects(stat(join(out, 'webembed-index.json')), `${args.join(' ')} wrote an index`);
  }
  const asFile = await cli([SITE, '--model', MODEL, '--out', folderAsFile]);
  assert.equal(asFile.code, 1);
  assert.match(asFile.stderr, /a-file is a file, not a folder/);
  const usage = await cli([SITE, '--out', join(work, 'x')]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--model is needed/);
});

test('--from-export turns an index.export() into a shipped index with the same hits', async () => {
  const memory = await model.openIndex('to-ship', { storage: 'memory' });
  await memory.add([
    { id: 'a', text: 'Lighthouses guide ships along the rocky coast at night.', metadata: { url: '/a' } },
    { id: 'b', text: 'Tea is grown on the hills and dried in the sun.' },
    { id: 'c', text: 'The clock tower strikes noon; ships leave the harbour.' },
  ]);
  const exported = join(work, 'index.export');
  await writeFile(exported, new Uint8Array(await memory.export()));
  const { out } = await build('from-export', ['--from-export', exported]);
  const index = await model.loadIndex(out);
  for (const query of ['ships', 'tea hills']) {
    assert.deepEqual((await index.search(query, { mode: 'keyword' })).map((h) => h.id), (await memory.search(query, { mode: 'keyword' })).map((h) => h.id));
  }
  const vector = (await model.encode(['ships at night']))[0];
  const [s, m] = [await index.search(vector), await memory.search(vector)];
  assert.deepEqual(s.map((h) => h.id), m.map((h) => h.id));
  assert.equal(s.find((h) => h.id === 'a').url, '/a');
  await memory.close();
});

test('loadIndex: read-only, another model refused, damaged files E_INDEX naming them while the rest answers', async () => {
  const copy = join(work, 'damaged');
  await cp(siteIndex.out, copy, { recursive: true });
  const manifest = await manifestOf(copy);
  const index = await model.loadIndex(copy);
  for (const call of [() => index.add([{ id: 'x', text: 'y' }]), () => index.remove('x'), () => index.clear()]) {
    await assert.rejects(call(), (error) => error.code === 'E_INDEX' && /read-only/.test(error.message));
  }
  assert.throws(() => index.get('notes.txt'), (error) => error.code === 'E_INDEX');

  for (const other of [OTHER_MODEL, WIDE_MODEL]) {
    const wrong = await Embedder.load(other, { cache: false, backend: 'cpu', threads: 1 });
    await assert.rejects(wrong.loadIndex(copy), (error) => error.code === 'E_INDEX' && /built by another model/.test(error.message), other);
    await wrong.dispose();
  }

  // A flipped byte in the only partition: semantic search names the file; keyword search answers.
  const [partition] = manifest.vectors.partitions[0];
  const bytes = await readFile(join(copy, partition));
  bytes[bytes.length - 1] ^= 0x55;
  await writeFile(join(copy, partition), bytes);
  await assert.rejects(index.search('password', { mode: 'semantic' }), (error) => error.code === 'E_INDEX' && error.message.includes(partition) && /damaged or was replaced/.test(error.message) && /keyword search .* still answer/.test(error.message));
  assert.equal((await index.search('sourdough', { mode: 'keyword' }))[0].id, 'notes.txt');
  // Truncated.
  await writeFile(join(copy, partition), bytes.subarray(0, 100));
  await assert.rejects(index.search('password', { mode: 'semantic' }), (error) => error.code === 'E_INDEX' && /100 bytes where the manifest says/.test(error.message));
  // Missing (a half-uploaded folder).
  await rm(join(copy, partition));
  await assert.rejects(index.search('password', { mode: 'semantic' }), (error) => error.code === 'E_INDEX' && error.message.includes(partition) && /HTTP 404/.test(error.message));
  await index.close();

  // Files that hash right but lie: a partition claiming 10^9 rows, a posting past the documents.
  const lying = join(work, 'lying');
  await cp(siteIndex.out, lying, { recursive: true });
  const good = await readFile(join(lying, partition));
  const claims = Buffer.from(good);
  claims.writeUInt32LE(1e9, 4);
  await replaceFile(lying, partition, claims);
  const lyingIndex = await model.loadIndex(lying);
  await assert.rejects(lyingIndex.search('password', { mode: 'semantic' }), (error) => error.code === 'E_INDEX' && /rows 1000000000, the manifest says/.test(error.message));

  // Manifests that point outside the folder, or are not manifests.
  const outside = join(work, 'outside');
  for (const [change, message] of [
    [(m) => ({ ...m, vectors: { ...m.vectors, partitions: [['../secret.bin', m.counts.chunks, 10]] } }), /not \[content-hashed file inside the index/],
    [(m) => ({ ...m, vectors: { ...m.vectors, centroids: ['https://evil.example/c.bin', 10] } }), /vectors.centroids is not \[file, bytes\]/],
    [(m) => ({ ...m, fragments: ['/etc/passwd', 10] }), /fragments is not \[table file, bytes\]/],
    [(m) => ({ ...m, version: 99 }), /version 99/],
  ]) {
    await cp(siteIndex.out, outside, { recursive: true });
    await writeFile(join(outside, 'webembed-index.json'), JSON.stringify(change(manifest)));
    await assert.rejects(model.loadIndex(outside), (error) => error.code === 'E_INDEX' && message.test(error.message), String(message));
    await rm(outside, { recursive: true });
  }
  await mkdir(outside);
  await writeFile(join(outside, 'webembed-index.json'), '<!doctype html><title>Not found</title>');
  await assert.rejects(model.loadIndex(outside), (error) => error.code === 'E_INDEX' && /is not JSON/.test(error.message));
  await assert.rejects(model.loadIndex(join(work, 'nothing-here')), (error) => error.code === 'E_INDEX' && /HTTP 404/.test(error.message));
  await assert.rejects(model.loadIndex(42), (error) => error.code === 'E_INPUT');

  // A host that hangs: the caller's signal ends the wait.
  const hanging = (url, init) => new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(init.signal.reason)));
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException('took too long', 'AbortError')), 100);
  await assert.rejects(model.loadIndex('http://127.0.0.1:9/index/', { fetch: hanging, signal: controller.signal }), (error) => error.code === 'E_ABORTED');
  // A host that answers the opening files, then hangs on a partition: the search's signal ends it,
  // and the same index answers once the host does.
  let hang = true;
  const host = async (url, init) => {
    if (hang && url.includes('/p/')) return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal.reason)));
    try {
      return new Response(await readFile(join(siteIndex.out, url.slice('http://host.invalid/index/'.length))), { status: 200 });
    } catch {
      return new Response('not found', { status: 404, headers: { 'content-type': 'text/html' } });
    }
  };
  const remote = await model.loadIndex('http://host.invalid/index/', { fetch: host, cache: false });
  const stop = new AbortController();
  setTimeout(() => stop.abort(new DOMException('took too long', 'AbortError')), 100);
  await assert.rejects(remote.search('password', { mode: 'semantic', signal: stop.signal }), (error) => error.code === 'E_ABORTED');
  hang = false;
  assert.equal((await remote.search('password', { mode: 'semantic', k: 8 })).length, 8);

  // A partition answered by an HTML page with status 200 (a misconfigured host).
  const html = join(work, 'html-body');
  await cp(siteIndex.out, html, { recursive: true });
  await writeFile(join(html, partition), '<!doctype html><html><body>Page not found</body></html>');
  const htmlIndex = await model.loadIndex(html);
  await assert.rejects(htmlIndex.search('password', { mode: 'semantic' }), (error) => error.code === 'E_INDEX' && error.message.includes(partition));
  assert.equal((await htmlIndex.search('sourdough', { mode: 'keyword' }))[0].id, 'notes.txt');

  // The same model still embeds after every error.
  assert.equal((await model.encode(['still works']))[0].length, 384);
});

test('globs pick files by pattern under their fixed prefix', async () => {
  const { out, stdout } = await build('glob', [`${SITE}/*.md`, `${SITE}/**/*.html`]);
  assert.match(stdout, /4 documents from 2 files/);
  const index = await model.loadIndex(out);
  assert.equal((await index.search('quickstart', { mode: 'keyword' }))[0].id, 'guide.md');
  assert.equal((await index.search('realpath', { mode: 'keyword' }))[0].id, 'api.html#resolving-symlinks');
});
