// Hardening, table-driven, in Node: bodies past their bound (an endless host) stop with an error
// naming the file and the bound, in bounded memory; a signal that times out is E_ABORTED for every
// call that takes one; hit URLs never carry script; no local path in what the CLI publishes; the
// CLI survives odd files; fusion options are checked; the new families' hostile folders are
// clear errors, and the same process loads a good folder after each.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Embedder } from '../../pkg/index.js';
import { safeUrl } from '../../pkg/shipped/format.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'pkg/cli/main.mjs');
const TINY = join(ROOT, 'tests/fixtures/tiny/models/e5-small-v2-like');
const FAMILIES = join(ROOT, 'tests/fixtures/tiny/families');
const SITE = join(ROOT, 'tests/fixtures/shipped/site');
const execFileAsync = promisify(execFile);
let work;
let siteIndex;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'webembed-hardening-'));
  siteIndex = join(work, 'site-index');
  await execFileAsync(process.execPath, [CLI, 'index', SITE, '--model', TINY, '--out', siteIndex, '--threads', '1', '--cache', join(work, 'cache')]);
});
after(() => rm(work, { recursive: true, force: true }));

async function expectCode(promise, code, mentions) {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error, `expected ${code}, but it succeeded`);
  assert.equal(error.code, code, `${error.code}: ${error.message}`);
  if (mentions) assert.match(error.message, mentions);
  return error;
}

/** A body that never ends: 1 MiB chunks as fast as they are read. */
function endless() {
  const chunk = new Uint8Array(1 << 20).fill(32);
  return new ReadableStream({ pull: (controller) => controller.enqueue(chunk) });
}

/** A body that sends one byte a second. */
function trickle() {
  let timer;
  return new ReadableStream({
    start(controller) {
      timer = setInterval(() => controller.enqueue(new Uint8Array([32])), 1000);
    },
    cancel: () => clearInterval(timer),
  });
}

/** A folder served from disk at http://host.test/, with `special` (name → () => Response) in place of some files. */
function host(folder, special = {}) {
  return async (url) => {
    const name = decodeURIComponent(new URL(url).pathname.slice(1));
    if (special[name]) return special[name]();
    try {
      return new Response(await readFile(join(folder, name)), { status: 200 });
    } catch {
      return new Response('missing', { status: 404 });
    }
  };
}

/** A safetensors header of one small tensor, then an endless body past it. */
function endlessSafetensors() {
  const header = new TextEncoder().encode(JSON.stringify({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }));
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(header.length), true);
  const rest = endless().getReader();
  let sent = false;
  return new ReadableStream({
    async pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(new Uint8Array([...length, ...header]));
        return;
      }
      controller.enqueue((await rest.read()).value);
    },
  });
}

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

test('an endless body stops at its bound with an error naming the file, and memory stays bounded', async () => {
  const startRss = rssMiB();
  const cases = [
    ['config.json', () => new Response(endless()), 'E_FETCH', /config\.json sent more than the most such a file may take \(64 MiB\)/],
    ['tokenizer.json', () => new Response(endless()), 'E_FETCH', /tokenizer\.json sent more than the most such a file may take \(64 MiB\)/],
    ['model.safetensors', () => new Response(endlessSafetensors()), 'E_FETCH', /model\.safetensors sent more than the \d+ bytes its safetensors header declares/],
    ['config.json', () => new Response(endless(), { headers: { 'content-length': '300' } }), 'E_FETCH', /its Content-Length \(300 bytes\)/],
  ];
  for (const [file, response, code, message] of cases) {
    const fetch = host(TINY, { [file]: response });
    await expectCode(Embedder.load('http://host.test/', { fetch, cache: false, backend: 'cpu' }), code, message);
  }
  const indexCases = [
    ['webembed-index.json', /webembed-index\.json is longer than the most a manifest may take \(16 MiB\)/],
  ];
  const model = await Embedder.load(TINY, { cache: false, backend: 'cpu' });
  try {
    for (const [file, message] of indexCases) {
      await expectCode(model.loadIndex('http://host.test/', { fetch: host(siteIndex, { [file]: () => new Response(endless()) }), cache: false }), 'E_INDEX', message);
    }
    // Partitions (files the manifest names, with their sizes) longer than the manifest says.
    const manifest = JSON.parse(await readFile(join(siteIndex, 'webembed-index.json'), 'utf8'));
    const endlessPartitions = Object.fromEntries(manifest.vectors.partitions.map(([file]) => [file, () => new Response(endless())]));
    const index = await model.loadIndex('http://host.test/', { fetch: host(siteIndex, endlessPartitions), cache: false });
    await expectCode(index.search('refund', { mode: 'semantic' }), 'E_INDEX', /is longer than the \d+ bytes the manifest declares/);
    const [hit] = await index.search('refund', { mode: 'keyword' });
    assert.equal(hit.id, 'faq-refund', 'the keyword side still answers');
  } finally {
    await model.dispose();
  }
  assert.ok(rssMiB() - startRss < 400, `memory grew by ${(rssMiB() - startRss).toFixed(0)} MiB`);
  // The same process loads a good folder after every case.
  const good = await Embedder.load(TINY, { cache: false, backend: 'cpu' });
  assert.equal((await good.encode('ok'))[0].length, good.dimension);
  await good.dispose();
});

test('a signal that times out ends every call that takes one as E_ABORTED', async () => {
  const slow = host(TINY, { 'config.json': () => new Response(trickle()) });
  const started = Date.now();
  await expectCode(Embedder.load('http://host.test/', { fetch: slow, cache: false, signal: AbortSignal.timeout(300) }), 'E_ABORTED', /timed out/);
  const model = await Embedder.load(TINY, { cache: false, backend: 'cpu' });
  try {
    const manifestTrickles = host(siteIndex, { 'webembed-index.json': () => new Response(trickle()) });
    await expectCode(model.loadIndex('http://host.test/', { fetch: manifestTrickles, cache: false, signal: AbortSignal.timeout(300) }), 'E_ABORTED', /timed out/);
    const manifest = JSON.parse(await readFile(join(siteIndex, 'webembed-index.json'), 'utf8'));
    const partitionsTrickle = Object.fromEntries(manifest.vectors.partitions.map(([file]) => [file, () => new Response(trickle())]));
    const index = await model.loadIndex('http://host.test/', { fetch: host(siteIndex, partitionsTrickle), cache: false });
    await expectCode(index.search('refund', { mode: 'semantic', signal: AbortSignal.timeout(300) }), 'E_ABORTED', /timed out/);
    const aborted = new AbortController();
    aborted.abort();
    await expectCode(model.loadIndex(siteIndex, { signal: aborted.signal, cache: false }), 'E_ABORTED');
  } finally {
    await model.dispose();
  }
  assert.ok(Date.now() - started < 20_000, 'nothing waited for the trickle');
});

test('hit URLs: the CLI drops script URLs with a warning naming the document; safeUrl passes only http(s) and site paths', async () => {
  const docs = join(work, 'urls');
  await mkdir(docs, { recursive: true });
  const lines = [
    { id: 'evil', text: 'A refund needs the receipt.', url: 'javascript:alert(document.domain)' },
    { id: 'data', text: 'Data URLs carry pages.', url: 'data:text/html,<script>alert(1)</script>' },
    { id: 'good', text: 'The guide explains everything.', url: 'https://example.org/guide' },
    { id: 'local', text: 'A page on this site.', url: '/faq#refund' },
  ];
  await writeFile(join(docs, 'docs.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
  const out = join(work, 'url-index');
  const { stderr } = await execFileAsync(process.execPath, [CLI, 'index', docs, '--model', TINY, '--out', out, '--threads', '1', '--cache', join(work, 'cache')]);
  assert.match(stderr, /document "evil".*javascript:alert.*dropped/);
  assert.match(stderr, /document "data".*dropped/);
  for (const file of await readdir(out, { recursive: true })) {
    const text = await readFile(join(out, file), 'latin1').catch(() => '');
    assert.ok(!/javascript:|data:text/.test(text), `${file} carries a script URL`);
  }
  const model = await Embedder.load(TINY, { cache: false });
  try {
    const index = await model.loadIndex(out);
    const hits = await index.search('refund receipt guide page data', { mode: 'keyword', k: 10 });
    const urls = Object.fromEntries(hits.map((h) => [h.id, h.url]));
    assert.deepEqual(urls, { evil: null, data: null, good: 'https://example.org/guide', local: '/faq#refund' });
  } finally {
    await model.dispose();
  }
  for (const bad of ['javascript:alert(1)', ' JavaScript:x', 'java\tscript:x', 'data:text/html,x', 'vbscript:x', '//evil.example/x', '/\\evil.example', 'file:///etc/passwd']) {
    assert.equal(safeUrl(bad), null, bad);
  }
  for (const good of ['https://a.example/b', 'http://a.example', '/faq#x', 'guide.html#intro', 'page?q=1']) assert.equal(safeUrl(good), good);
});

test('no local path in any file the CLI writes: the manifest names the model portably', async () => {
  const out = join(work, 'portable');
  await execFileAsync(process.execPath, [CLI, 'index', SITE, '--model', TINY, '--out', out, '--threads', '1', '--cache', join(work, 'cache')]);
  const manifest = JSON.parse(await readFile(join(out, 'webembed-index.json'), 'utf8'));
  assert.equal(manifest.model.name, 'e5-small-v2-like');
  for (const file of await readdir(out, { recursive: true })) {
    const text = await readFile(join(out, file), 'latin1').catch(() => '');
    for (const local of [ROOT, work, tmpdir()]) assert.ok(!text.includes(local), `${file} holds the local path ${local}`);
  }
  const named = join(work, 'named');
  await execFileAsync(process.execPath, [CLI, 'index', SITE, '--model', TINY, '--model-name', 'intfloat/e5-small-v2', '--out', named, '--threads', '1', '--cache', join(work, 'cache')]);
  assert.equal(JSON.parse(await readFile(join(named, 'webembed-index.json'), 'utf8')).model.name, 'intfloat/e5-small-v2');
});

test('the CLI survives odd files: deep HTML, a 20 MB text, a binary .md; --help exits 0', async () => {
  const odd = join(work, 'odd');
  await mkdir(odd, { recursive: true });
  const depth = 100_000;
  await writeFile(join(odd, 'deep.html'), `<html><body>${'<div>'.repeat(depth)}Deeply nested words about refunds.${'</div>'.repeat(depth)}</body></html>`);
  const sentence = 'Long documents are split into parts so that a site build goes on.\n';
  await writeFile(join(odd, 'long.txt'), sentence.repeat(Math.ceil(20e6 / sentence.length)));
  await writeFile(join(odd, 'binary.md'), Buffer.from(Array.from({ length: 2e6 }, (_, i) => (i * 2654435761) % 256)));
  const out = join(work, 'odd-index');
  const started = Date.now();
  const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, 'index', odd, '--model', join(FAMILIES, 'model2vec-like'), '--out', out, '--threads', '1', '--cache', join(work, 'cache')], { maxBuffer: 1 << 24 });
  assert.match(stderr, /skipped .*binary\.md: it is not text/);
  assert.match(stderr, /long\.txt holds \d+ characters: indexed as 3 documents/);
  const manifest = JSON.parse(await readFile(join(out, 'webembed-index.json'), 'utf8'));
  assert.equal(manifest.counts.documents, 4, stdout);
  assert.ok(Date.now() - started < 240_000, `${Date.now() - started} ms`);
  for (const args of [['--help'], ['index', '--help'], ['quantize', '--help']]) {
    const { stdout: help } = await execFileAsync(process.execPath, [CLI, ...args]);
    assert.match(help, /usage: webembed/, args.join(' '));
  }
});

test('fusion options: an unknown key is E_INPUT naming it; the index still answers', async () => {
  const model = await Embedder.load(TINY, { cache: false });
  try {
    const index = await model.loadIndex(siteIndex);
    for (const fusion of [{ method: 'rrf', k: -60 }, { method: 'weighted', weight: 0.5, wieght: 1 }, { method: 'rrf', weight: 0.2 }]) {
      await expectCode(index.search('refund', { fusion }), 'E_INPUT', /fusion has "(k|wieght|weight)"/);
    }
    const browser = await model.openIndex('fusion-check', { storage: 'memory' });
    await browser.add([{ id: 'a', text: 'refunds within thirty days' }]);
    await expectCode(browser.search('refund', { fusion: { method: 'rrf', k: 60 } }), 'E_INPUT', /fusion has "k"/);
    assert.equal((await index.search('refund', { fusion: { method: 'rrf' } }))[0].id, 'faq-refund');
  } finally {
    await model.dispose();
  }
});

test('a worker pool says a missing q8 file once, not once per worker', async () => {
  const script = `import { Embedder } from ${JSON.stringify(join(ROOT, 'pkg/index.js'))};
const model = await Embedder.load(${JSON.stringify(TINY)}, { dtype: 'q8', threads: 2, cache: false });
await model.encode(['a', 'b', 'c', 'd']);
await model.dispose();`;
  const file = join(work, 'pool-warning.mjs');
  await writeFile(file, script);
  const { stderr } = await execFileAsync(process.execPath, [file]);
  const warnings = stderr.split('\n').filter((line) => line.includes('offers no model.q8.safetensors'));
  assert.equal(warnings.length, 1, stderr);
});

/** The family fixture `name` copied with `patch(config)` applied to `file`'s JSON. */
async function patched(name, file, patch) {
  const dir = await mkdtemp(join(work, `${name}-`));
  await cp(join(FAMILIES, name), dir, { recursive: true, dereference: true });
  const path = join(dir, file);
  const json = JSON.parse(await readFile(path, 'utf8'));
  await writeFile(path, JSON.stringify(patch(json)));
  return dir;
}

test('hostile folders of the new families: E_CONFIG or E_WEIGHTS naming what is wrong, nothing cached, the process keeps working', async () => {
  const set = (values) => (json) => ({ ...json, ...values });
  const cases = [
    ['modernbert-like', 'config.json', set({ num_attention_heads: 5 }), 'E_CONFIG', /hidden_size 64 is not a multiple of num_attention_heads 5/],
    ['modernbert-like', 'config.json', set({ layer_types: ['full_attention'] }), 'E_CONFIG', /layer_types.*lists 1 layers; num_hidden_layers is 3/],
    ['modernbert-like', 'config.json', set({ local_attention: 0 }), 'E_CONFIG', /local_attention/],
    ['modernbert-like', 'config.json', set({ rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 'NaN' } } }), 'E_CONFIG', /rope_theta/],
    ['embeddinggemma-like', 'config.json', set({ sliding_window: 1e9 }), 'E_CONFIG', /sliding_window/],
    ['embeddinggemma-like', 'config.json', set({ num_key_value_heads: 3 }), 'E_CONFIG', /num_key_value_heads/],
    ['embeddinggemma-like', 'config.json', set({ rope_parameters: { full_attention: { rope_type: 'yarn', rope_theta: 1e6 } } }), 'E_CONFIG', /yarn/],
    ['embeddinggemma-like', 'config.json', set({ attn_logit_softcapping: 50 }), 'E_CONFIG', /soft-capping/],
    ['embeddinggemma-like', 'config.json', set({ vocab_size: 5 }), 'E_CONFIG', /token id \d+, beyond the model's vocab_size 5/],
    ['embeddinggemma-like', 'config.json', set({ hidden_size: 96 }), 'E_CONFIG', /differs from the model's hidden_size 96/],
    ['embeddinggemma-like', 'config.json', set({ intermediate_size: 97 }), 'E_WEIGHTS', /gate_proj\.weight` has shape/],
    ['embeddinggemma-like', '2_Dense/config.json', set({ in_features: 65 }), 'E_CONFIG', /2_Dense\/config\.json: in_features is 65, but the vector reaching this Dense module is 64 wide/],
    ['embeddinggemma-like', '2_Dense/config.json', set({ activation_function: 'torch.nn.modules.activation.Softmax' }), 'E_CONFIG', /activation_function/],
    ['qwen3-embedding-like', 'config.json', set({ head_dim: 7 }), 'E_CONFIG', /head_dim 7 is odd/],
    ['qwen3-embedding-like', 'config.json', set({ model_type: 'nomic_bert', architectures: ['NomicBertModel'] }), 'E_CONFIG', /"nomic_bert".*ModernBERT, Gemma3/],
    ['model2vec-like', 'config.json', (json) => ({ ...json, normalize: undefined }), 'E_CONFIG', /without `normalize`/],
    ['model2vec-like', 'config.json', set({ normalize: 'yes' }), 'E_CONFIG', /normalize/],
    ['model2vec-like', 'tokenizer.json', (json) => ({ ...json, model: { ...json.model, vocab: Object.fromEntries(Object.entries(json.model.vocab).slice(0, 900)) } }), 'E_WEIGHTS', /has 1200 rows but the tokenizer has 900 tokens/],
  ];
  for (const [name, file, patch, code, message] of cases) {
    const dir = await patched(name, file, patch);
    await expectCode(Embedder.load(dir, { cache: false, backend: 'cpu' }), code, message);
  }
  const good = await Embedder.load(join(FAMILIES, 'embeddinggemma-like'), { cache: false, backend: 'cpu' });
  assert.equal((await good.encode('still works'))[0].length, 64);
  await good.dispose();
});
