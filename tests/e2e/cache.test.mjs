// Downloads are verified before they are used or cached, failures are never remembered, and a
// second load of a cached model makes no network request at all.

import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { cosine, MODEL_PATH, openBrowser } from './harness.mjs';

const ROOT = new URL('../../', import.meta.url);
const reference = JSON.parse(await readFile(new URL('tests/fixtures/all-MiniLM-L6-v2.json', ROOT), 'utf8'));
const probe = reference.cases.find((c) => c.text === 'A man is eating food.' && c.prompt === null);
const TINY = 'tests/fixtures/tiny/models/bge-cls-like/';
const LATE = new URL('test-results/models/appears-later/', ROOT);
let harness;

async function inPage(fn, arg) {
  return harness.page.evaluate(fn, arg);
}

before(async () => {
  await rm(LATE, { recursive: true, force: true });
  harness = await openBrowser();
  await inPage(async () => {
    const { Embedder } = await import('/pkg/index.js');
    globalThis.Embedder = Embedder;
    globalThis.attempt = async (action) => {
      try {
        return { ok: true, value: await action() };
      } catch (error) {
        return { ok: false, code: error.code, message: error.message };
      }
    };
    globalThis.cachedUrls = async () => (await (await caches.open('webembed-v1')).keys()).map((r) => r.url);
  });
});
after(async () => harness?.close());

test('a cached model loads again with no network request, the wasm binary included', async () => {
  const first = await inPage(async (path) => {
    const events = [];
    const model = await Embedder.load(path, { onProgress: (e) => events.push(e) });
    await model.dispose();
    return { statuses: [...new Set(events.map((e) => e.status))], last: events.at(-1) };
  }, MODEL_PATH);
  assert.deepEqual(first.statuses.sort(), ['done', 'download']);
  assert.ok(first.last.aggregate.loaded === first.last.aggregate.total && first.last.aggregate.total > 80e6, JSON.stringify(first.last));

  // A second page: the package's JS loads (the app's own code), then the network goes away and
  // the model loads from the cache. Its module map is fresh, so the wasm binary must come from
  // the cache too.
  const second_page = await harness.page.context().newPage();
  await second_page.goto(`${harness.url}/tests/e2e/blank.html`);
  await second_page.evaluate(async () => {
    globalThis.Embedder = (await import('/pkg/index.js')).Embedder;
  });
  const requests = [];
  second_page.on('request', (request) => requests.push(request.url()));
  await harness.page.context().setOffline(true);
  const second = await second_page.evaluate(async (path) => {
    const events = [];
    const model = await Embedder.load(path, { onProgress: (e) => events.push(e) });
    const [vector] = await model.encode('A man is eating food.');
    await model.dispose();
    return { statuses: [...new Set(events.map((e) => e.status))], vector: Array.from(vector) };
  }, MODEL_PATH);
  await harness.page.context().setOffline(false);
  await second_page.close();
  assert.deepEqual(requests, [], 'no request while loading from the cache');
  assert.deepEqual(second.statuses, ['cached']);
  assert.ok(cosine(second.vector, probe.embedding) >= 0.99999);
});

test('a truncated or HTML download is never cached', async () => {
  const result = await inPage(async () => {
    const truncated = await attempt(() => Embedder.load('/test-results/models/truncated/'));
    const html = await attempt(() => Embedder.load('/test-results/models/html-config/'));
    return { truncated, html, urls: await cachedUrls() };
  });
  // bad-input.test.mjs writes these folders; when it has not run, they 404 (also never cached).
  assert.equal(result.truncated.ok, false);
  assert.equal(result.html.ok, false);
  assert.ok(!result.urls.some((u) => u.includes('/truncated/model.safetensors') || u.includes('/html-config/config.json')), result.urls.join('\n'));
});

test('integrity is checked with SHA-256: a mismatch is E_INTEGRITY, the right digest loads', async () => {
  const bytes = await readFile(new URL(`${TINY}model.safetensors`, ROOT));
  const digest = `sha256-${(await import('node:crypto')).createHash('sha256').update(bytes).digest('base64')}`;
  const result = await inPage(async ({ folder, digest }) => {
    const wrong = await attempt(() => Embedder.load(folder, { cache: false, integrity: { 'model.safetensors': 'sha256-AAAA' } }));
    const right = await attempt(async () => (await Embedder.load(folder, { cache: false, integrity: { 'model.safetensors': digest } })).dimension);
    return { wrong, right };
  }, { folder: `/${TINY}`, digest });
  assert.equal(result.wrong.code, 'E_INTEGRITY', JSON.stringify(result.wrong));
  assert.match(result.wrong.message, /model\.safetensors/);
  assert.deepEqual(result.right, { ok: true, value: 384 });
});

test('network errors are retried with backoff, a 404 is not, and failures are not remembered', async () => {
  const result = await inPage(async (folder) => {
    const calls = {};
    let failuresLeft = 2;
    const flaky = async (url, init) => {
      calls[url] = (calls[url] ?? 0) + 1;
      if (url.endsWith('config.json') && !url.includes('_') && failuresLeft-- > 0) throw new TypeError('network down');
      return fetch(url, init);
    };
    const model = await Embedder.load(folder, { cache: false, fetch: flaky });
    const configCalls = Object.entries(calls).find(([u]) => u.endsWith('/config.json'))[1];
    return { dimension: model.dimension, configCalls };
  }, `/${TINY}`);
  assert.equal(result.dimension, 384);
  assert.equal(result.configCalls, 3, 'two failures, then success');

  // The folder does not exist yet: the load fails at once (a 404 is asked once); once the
  // folder exists, the next load works.
  const missing = await inPage(async () => {
    let configCalls = 0;
    const counting = (url, init) => {
      if (url.endsWith('/config.json')) configCalls += 1;
      return fetch(url, init);
    };
    return { ...(await attempt(() => Embedder.load('/test-results/models/appears-later/', { cache: false, fetch: counting }))), configCalls };
  });
  assert.equal(missing.code, 'E_FETCH');
  assert.equal(missing.configCalls, 1, 'a 404 is not retried');
  await mkdir(new URL('1_Pooling/', LATE), { recursive: true });
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'modules.json', '1_Pooling/config.json', 'model.safetensors']) {
    await copyFile(new URL(`${TINY}${file}`, ROOT), new URL(file, LATE));
  }
  const later = await inPage(() => attempt(async () => (await Embedder.load('/test-results/models/appears-later/', { cache: false })).dimension));
  assert.deepEqual(later, { ok: true, value: 384 });
});

test('an aborted load is E_ABORTED and the next load works', async () => {
  const result = await inPage(async (folder) => {
    const controller = new AbortController();
    const pending = attempt(() => Embedder.load(folder, { cache: false, signal: controller.signal }));
    controller.abort();
    const aborted = await pending;
    const next = await attempt(async () => (await Embedder.load(folder, { cache: false })).dimension);
    return { aborted, next };
  }, `/${TINY}`);
  assert.equal(result.aborted.code, 'E_ABORTED', JSON.stringify(result.aborted));
  assert.deepEqual(result.next, { ok: true, value: 384 });
});

test('cache: false stores nothing, and clearCache(source) removes that model', async () => {
  const result = await inPage(async ({ tiny, mini }) => {
    const before = await cachedUrls();
    await Embedder.load(tiny, { cache: false });
    const afterUncached = await cachedUrls();
    const removed = await Embedder.clearCache(mini);
    return { before: before.length, afterUncached: afterUncached.length, removed, left: await cachedUrls() };
  }, { tiny: `/${TINY}`, mini: MODEL_PATH });
  assert.equal(result.afterUncached, result.before);
  assert.ok(result.removed >= 6, `removed ${result.removed}`);
  assert.ok(!result.left.some((u) => u.includes(MODEL_PATH)), result.left.join('\n'));
  assert.deepEqual(harness.errors, []);
});

test("dtype 'f16' loads model.fp16.safetensors when offered, else falls back with a warning", async () => {
  const folder = new URL('test-results/models/with-fp16/', ROOT);
  await rm(folder, { recursive: true, force: true });
  await mkdir(new URL('1_Pooling/', folder), { recursive: true });
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'modules.json', '1_Pooling/config.json']) {
    await copyFile(new URL(`${TINY}${file}`, ROOT), new URL(file, folder));
  }
  await copyFile(new URL(`${TINY}model.safetensors`, ROOT), new URL('model.fp16.safetensors', folder));
  const warnings = [];
  const onConsole = (message) => message.type() === 'warning' && warnings.push(message.text());
  harness.page.on('console', onConsole);
  const result = await inPage(async (tiny) => {
    const events = [];
    const half = await attempt(async () => (await Embedder.load('/test-results/models/with-fp16/', { cache: false, dtype: 'f16', onProgress: (e) => events.push(e.file) })).dimension);
    const fallback = await attempt(async () => (await Embedder.load(tiny, { cache: false, dtype: 'f16' })).dimension);
    return { half, files: [...new Set(events)], fallback };
  }, `/${TINY}`);
  harness.page.off('console', onConsole);
  assert.deepEqual(result.half, { ok: true, value: 384 });
  assert.ok(result.files.includes('model.fp16.safetensors') && !result.files.includes('model.safetensors'), result.files.join(', '));
  assert.deepEqual(result.fallback, { ok: true, value: 384 });
  assert.ok(warnings.some((w) => w.includes('model.fp16.safetensors') && w.includes('f32')), warnings.join('\n'));
});

test('OPFSCache stores verified files in the origin private file system and serves a second load', async () => {
  const result = await inPage(async (tiny) => {
    const { OPFSCache } = await import('/pkg/index.js');
    const opfs = new OPFSCache('webembed-test');
    await Embedder.load(tiny, { cache: opfs });
    const stored = await opfs.keys();
    const statuses = [];
    const again = await Embedder.load(tiny, { cache: opfs, onProgress: (e) => statuses.push(e.status) });
    const [vector] = await again.encode('hello');
    const removed = await Embedder.clearCache(tiny, { cache: opfs });
    return { stored, statuses: [...new Set(statuses)], ok: vector.length === 384, removed, left: await opfs.keys() };
  }, `/${TINY}`);
  assert.ok(result.stored.some((u) => u.endsWith('/model.safetensors')), result.stored.join('\n'));
  assert.deepEqual(result.statuses, ['cached']);
  assert.ok(result.ok);
  assert.equal(result.removed, result.stored.length);
  assert.deepEqual(result.left, []);
});

test('when the cache refuses to store (quota), the model still loads and a warning says why', async () => {
  const warnings = [];
  const onConsole = (message) => message.type() === 'warning' && warnings.push(message.text());
  harness.page.on('console', onConsole);
  const result = await inPage(async (tiny) => {
    const full = {
      match: async () => undefined,
      put: async () => {
        throw new DOMException('the quota has been exceeded', 'QuotaExceededError');
      },
      delete: async () => false,
    };
    return attempt(async () => (await Embedder.load(tiny, { cache: full })).dimension);
  }, `/${TINY}`);
  harness.page.off('console', onConsole);
  assert.deepEqual(result, { ok: true, value: 384 });
  assert.ok(warnings.some((w) => w.includes('QuotaExceededError') && w.includes('model.safetensors')), warnings.join('\n'));
});
