// Shipped indexes in Chromium: a folder the CLI wrote, served as plain files, searched with
// model.loadIndex in the page and in worker mode; offline after the first searches (the model
// cache answers, nothing is fetched); a corrupted partition is E_INDEX naming it while keyword
// search answers, and is never cached: served right again, the same index searches.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { openBrowser } from './harness.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = 'build/e2e-shipped';
const MODEL = '/tests/fixtures/tiny/models/bge-cls-like/';
let harness;

before(async () => {
  await rm(`${ROOT}${BUILD}`, { recursive: true, force: true });
  await promisify(execFile)('node', ['pkg/cli/main.mjs', 'index', 'tests/fixtures/shipped/site', '--model', `${ROOT}tests/fixtures/tiny/models/bge-cls-like`, '--out', `${BUILD}/site`, '--cache', `${BUILD}/cache`, '--threads', '1'], { cwd: ROOT });
  await promisify(execFile)('node', ['pkg/cli/main.mjs', 'index', 'tests/fixtures/shipped/site', '--model', `${ROOT}tests/fixtures/tiny/models/bge-cls-like`, '--out', `${BUILD}/site-two-levels`, '--cache', `${BUILD}/cache`, '--threads', '1', '--levels', '2'], { cwd: ROOT });
  await cp(`${ROOT}${BUILD}/site`, `${ROOT}${BUILD}/damaged`, { recursive: true });
  harness = await openBrowser();
});
after(async () => {
  await harness?.close();
  await rm(`${ROOT}${BUILD}`, { recursive: true, force: true });
});

const QUERIES = [['sourdough starter', 'keyword'], ['realpath', 'keyword'], ['how do I reset my password', 'hybrid'], ['trains on Sunday', 'semantic']];

test('loadIndex in the page and in worker mode, then offline from the cache', async () => {
  const result = await harness.page.evaluate(
    async ({ model: folder, queries }) => {
      const { Embedder } = await import('/pkg/index.js');
      await caches.delete('webembed-v1');
      const run = async (index) => {
        const out = [];
        for (const [query, mode] of queries) out.push((await index.search(query, { mode, k: 3 })).map((hit) => [hit.id, hit.url, Math.round(hit.score * 1e4)]));
        return out;
      };
      const model = await Embedder.load(folder, { backend: 'cpu', dtype: 'q8' });
      const index = await model.loadIndex('/build/e2e-shipped/site/');
      const page = await run(index);
      const fetched = index.fetched;
      const again = await run(index);
      const refetched = index.fetched.files - fetched.files;
      const worker = await Embedder.load(folder, { backend: 'cpu', dtype: 'q8', worker: true });
      const inWorker = await run(await worker.loadIndex('/build/e2e-shipped/site/'));
      await worker.dispose();
      return { page, again, inWorker, fetched, refetched, size: index.size };
    },
    { model: MODEL, queries: QUERIES },
  );
  assert.equal(result.size, 8);
  assert.equal(result.page[0][0][0], 'notes.txt');
  assert.deepEqual(result.page[1][0].slice(0, 2), ['api.html#resolving-symlinks', 'api.html#resolving-symlinks']);
  assert.ok(result.fetched.files >= 4, `fetched ${result.fetched.files} files`);
  assert.equal(result.refetched, 0, 'repeated searches fetch nothing');
  assert.deepEqual(result.again, result.page);
  assert.deepEqual(result.inWorker, result.page, 'worker mode gives the same hits');

  // Offline: the manifest and every file the searches used come from the model cache.
  await harness.page.context().setOffline(true);
  try {
    const offline = await harness.page.evaluate(
      async ({ model: folder, queries }) => {
        const { Embedder } = await import('/pkg/index.js');
        const model = await Embedder.load(folder, { backend: 'cpu', dtype: 'q8' });
        const index = await model.loadIndex('/build/e2e-shipped/site/');
        const out = [];
        for (const [query, mode] of queries) out.push((await index.search(query, { mode, k: 3 })).map((hit) => [hit.id, hit.url, Math.round(hit.score * 1e4)]));
        let error = null;
        try {
          await model.loadIndex('/build/e2e-shipped/never-fetched/');
        } catch (e) {
          error = { code: e.code, message: e.message };
        }
        return { out, fetched: index.fetched, error };
      },
      { model: MODEL, queries: QUERIES },
    );
    assert.deepEqual(offline.out, result.page);
    assert.equal(offline.fetched.files, 0, 'nothing fetched offline');
    assert.equal(offline.error?.code, 'E_FETCH', 'an index never fetched cannot open offline, and says so');
  } finally {
    await harness.page.context().setOffline(false);
  }
});

test('a corrupted partition: E_INDEX naming it, keyword search still answers, and the bad bytes are never cached', async () => {
  await harness.page.route('**/build/e2e-shipped/damaged/p/*.bin', async (route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    body[body.length - 1] ^= 0x55;
    await route.fulfill({ response, body });
  });
  const damaged = await harness.page.evaluate(async (folder) => {
    const { Embedder } = await import('/pkg/index.js');
    globalThis.shippedModel = await Embedder.load(folder, { backend: 'cpu', dtype: 'q8' });
    globalThis.damagedIndex = await globalThis.shippedModel.loadIndex('/build/e2e-shipped/damaged/');
    let error = null;
    try {
      await globalThis.damagedIndex.search('password', { mode: 'semantic' });
    } catch (e) {
      error = { code: e.code, message: e.message };
    }
    const keyword = (await globalThis.damagedIndex.search('sourdough', { mode: 'keyword' }))[0]?.id;
    const cached = (await (await caches.open('webembed-v1')).keys()).map((r) => r.url).filter((url) => url.includes('/damaged/p/'));
    return { error, keyword, cached };
  }, MODEL);
  assert.equal(damaged.error?.code, 'E_INDEX');
  assert.match(damaged.error.message, /\/damaged\/p\/[0-9a-f]{16}\.bin: .*damaged or was replaced.*keyword search .* still answer/);
  assert.equal(damaged.keyword, 'notes.txt');
  assert.deepEqual(damaged.cached, [], 'the bad partition was not cached');
  await harness.page.unroute('**/build/e2e-shipped/damaged/p/*.bin');
  const healed = await harness.page.evaluate(async () => (await globalThis.damagedIndex.search('password', { mode: 'semantic', k: 8 })).length);
  assert.equal(healed, 8, 'served right again, the same index object searches');
  assert.deepEqual(harness.errors, []);
});

test('the Python docs example page searches a shipped index (here the fixture site)', async () => {
  const page = await harness.browser.newPage();
  try {
    await page.goto(`${harness.url}/examples/python-docs/?index=/build/e2e-shipped/site/&model=${MODEL}&links=/docs/`);
    await page.waitForFunction(() => !document.getElementById('query').disabled, null, { timeout: 60_000 });
    assert.match(await page.textContent('#status'), /^8 sections, opened with \d+ KB$/);
    await page.fill('#query', 'sourdough starter');
    await page.waitForSelector('#results li');
    assert.equal(await page.getAttribute('#results li a', 'href'), `${harness.url}/docs/notes.txt`);
    assert.equal(await page.textContent('#results li mark'), 'Sourdough');
    assert.match(await page.textContent('#status'), /results in \d+ ms, \d+ KB fetched/);
  } finally {
    await page.close();
  }
});

test('an index in two levels (blocks and table pages fetched on demand) gives the page the hits of one level', async () => {
  const result = await harness.page.evaluate(
    async ({ model: folder, queries }) => {
      const { Embedder } = await import('/pkg/index.js');
      const model = await Embedder.load(folder, { backend: 'cpu', dtype: 'q8' });
      const run = async (url) => {
        const index = await model.loadIndex(url);
        const out = [];
        for (const [query, mode] of queries) out.push((await index.search(query, { mode, k: 3 })).map((hit) => [hit.id, Math.round(hit.score * 1e4)]));
        return { out, fetched: index.fetched.files };
      };
      const one = await run('/build/e2e-shipped/site/');
      const two = await run('/build/e2e-shipped/site-two-levels/');
      const version = (await (await fetch('/build/e2e-shipped/site-two-levels/webembed-index.json')).json()).version;
      await model.dispose();
      return { one, two, version };
    },
    { model: MODEL, queries: QUERIES },
  );
  assert.equal(result.version, 4);
  assert.deepEqual(result.two.out, result.one.out);
  assert.ok(result.two.fetched > result.one.fetched, 'the blocks were fetched as well');
});
