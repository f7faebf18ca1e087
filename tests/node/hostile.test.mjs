// Hostile folders and calls through the public API in Node, table-driven: each ends in a clear
// WebembedError with the expected code, nothing hangs, and the same process loads a good folder after.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Embedder } from '../../pkg/index.js';

const TINY = fileURLToPath(new URL('../fixtures/tiny/models/e5-small-v2-like/', import.meta.url));
let scratch;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'webembed-hostile-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

/** A copy of the tiny model in a fresh folder, with `changes` (name → bytes or text) applied. */
async function folderWith(changes = {}) {
  const dir = await mkdtemp(join(scratch, 'm-'));
  await cp(TINY, dir, { recursive: true, dereference: true });
  for (const [name, content] of Object.entries(changes)) await writeFile(join(dir, name), content);
  return `${dir}/`;
}

/** The files of the tiny model served from memory at http://models.test/m/, through options.fetch. */
async function servedFolder(changes = {}) {
  const files = new Map();
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'modules.json', 'sentence_bert_config.json',
    'config_sentence_transformers.json', '1_Pooling/config.json', 'model.safetensors']) {
    files.set(name, await readFile(join(TINY, name)));
  }
  for (const [name, content] of Object.entries(changes)) {
    if (content === null) files.delete(name);
    else files.set(name, Buffer.from(content));
  }
  const requests = [];
  const fetch = async (url) => {
    requests.push(url);
    const name = url.startsWith('http://models.test/m/') ? decodeURIComponent(url.slice('http://models.test/m/'.length)) : null;
    const bytes = name !== null && files.get(name);
    return bytes ? new Response(bytes, { status: 200 }) : new Response('no', { status: 404 });
  };
  return { url: 'http://models.test/m/', fetch, requests, files };
}

async function expectCode(promise, code, mentions) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.code, code, `${error.code}: ${error.message}`);
    if (mentions) assert.match(error.message, mentions);
    return true;
  });
}

test('names that model files supply cannot leave the folder', async () => {
  const escapes = ['../x.safetensors', '%2e%2e/x.safetensors', 'file:///etc/passwd', 'http://127.0.0.1:9/x', '/etc/ssl/x'];
  for (const shard of escapes) {
    const index = JSON.stringify({ weight_map: { 'embeddings.word_embeddings.weight': shard } });
    const served = await servedFolder({ 'model.safetensors': null, 'model.safetensors.index.json': index });
    await expectCode(Embedder.load(served.url, { fetch: served.fetch, cache: false }), 'E_CONFIG', /model\.safetensors\.index\.json/);
    assert.ok(served.requests.every((url) => url.startsWith(served.url)), `fetched outside: ${served.requests}`);
  }
  for (const path of ['../x', '/etc/ssl', 'http://127.0.0.1:9/p', '%2e%2e/p']) {
    const modules = JSON.stringify([{ path: '', type: 'sentence_transformers.models.Transformer' }, { path, type: 'sentence_transformers.models.Pooling' }]);
    const served = await servedFolder({ 'modules.json': modules });
    await expectCode(Embedder.load(served.url, { fetch: served.fetch, cache: false }), 'E_CONFIG', /modules\.json/);
    assert.ok(served.requests.every((url) => url.startsWith(served.url)), `fetched outside: ${served.requests}`);
  }
});

test('a missing module config is E_CONFIG naming modules.json', async () => {
  const served = await servedFolder({ '1_Pooling/config.json': null });
  await expectCode(Embedder.load(served.url, { fetch: served.fetch, cache: false }), 'E_CONFIG', /modules\.json/);
});

test('Node reads only regular files, and a FIFO does not hang a load with a signal', async () => {
  const zero = await folderWith();
  await rm(join(zero, 'config.json'));
  await symlink('/dev/zero', join(zero, 'config.json'));
  await expectCode(Embedder.load(zero, { cache: false }), 'E_FETCH', /not a regular file/);

  const fifo = await folderWith();
  await rm(join(fifo, 'tokenizer.json'));
  execFileSync('mkfifo', [join(fifo, 'tokenizer.json')]);
  const started = Date.now();
  await expectCode(Embedder.load(fifo, { cache: false, signal: AbortSignal.timeout(3000) }), 'E_FETCH', /not a regular file/);
  assert.ok(Date.now() - started < 3000);
});

test('a failed load leaves nothing in the cache, so the fixed folder loads', async () => {
  const store = new Map();
  const cache = {
    match: async (url) => (store.has(url) ? new Response(store.get(url)) : undefined),
    put: async (url, response) => void store.set(url, new Uint8Array(await response.arrayBuffer())),
    delete: async (url) => store.delete(url),
  };
  const config = JSON.parse(await readFile(join(TINY, 'config.json'), 'utf8'));
  const served = await servedFolder({ 'config.json': JSON.stringify({ ...config, hidden_act: 'swish' }) });
  await expectCode(Embedder.load(served.url, { fetch: served.fetch, cache }), 'E_CONFIG', /swish/);
  assert.deepEqual([...store.keys()], [], 'the failed load cached files');
  served.files.set('config.json', Buffer.from(JSON.stringify(config)));
  const model = await Embedder.load(served.url, { fetch: served.fetch, cache });
  assert.equal(model.dimension, 384);
  assert.ok(store.size > 3, 'the successful load cached its files');
  await model.dispose();
});

test('two loads of one folder at once download each file once', async () => {
  const served = await servedFolder();
  const [a, b] = await Promise.all([0, 1].map(() => Embedder.load(served.url, { fetch: served.fetch, cache: false })));
  const counts = new Map();
  for (const url of served.requests) counts.set(url, (counts.get(url) ?? 0) + 1);
  assert.deepEqual([...counts.entries()].filter(([, n]) => n > 1), []);
  assert.deepEqual(await a.encode('same'), await b.encode('same'));
  await Promise.all([a.dispose(), b.dispose()]);
});

test('API edges: sparse arrays, batchSize, too many texts, calls made before dispose', async () => {
  const model = await Embedder.load(TINY, { cache: false });
  // eslint-disable-next-line no-sparse-arrays
  await expectCode(model.encode([, 'x']), 'E_INPUT', /texts\[0\]/);
  await expectCode(model.encode('x', { batchSize: 2 ** 32 + 1 }), 'E_INPUT', /batchSize/);
  await expectCode(model.encode(new Array(2 ** 20 + 1).fill('x')), 'E_INPUT', /at most/);
  await expectCode(model.encode('x', { promptName: 'nope' }), 'E_INPUT', /nope/);
  const queued = [model.encode('one'), model.tokenize('two'), model.encode(['three', 'four'])];
  const disposed = model.dispose();
  const late = model.encode('late');
  late.catch(() => {}); // awaited below; a pool may refuse it before then
  const results = await Promise.all(queued);
  assert.equal(results[0].length, 1);
  assert.equal(results[2].length, 2);
  await disposed;
  await expectCode(late, 'E_DISPOSED');
});

test('long texts: a 20 MB text and 10^5 texts keep wasm memory flat, and results stay exact', async () => {
  const model = await Embedder.load(TINY, { cache: false, backend: 'cpu' });
  const words = 'semantic search finds documents by meaning rather than keywords ';
  const short = words.repeat(60); // already past max_seq_length
  const [reference] = await model.encode(short);
  const base = model.wasmMemoryBytes;
  for (const text of [words.repeat(Math.ceil(20e6 / words.length)), '\u0001'.repeat(20e6)]) {
    const [vector] = await model.encode(text);
    assert.ok(vector.every(Number.isFinite));
    if (text.startsWith('semantic')) assert.deepEqual(Array.from(vector), Array.from(reference));
  }
  const many = await model.encode(Array.from({ length: 1e5 }, (_, i) => `text number ${i}`));
  assert.equal(many.length, 1e5);
  const grown = model.wasmMemoryBytes - base;
  assert.ok(grown <= 20 * 2 ** 20, `wasm memory grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  await model.dispose();
});
