// The search index in Chromium: long documents chunked and found by their best chunk, kept in
// IndexedDB across reloads, a page killed mid-add losing only that call, another model refused,
// export/import, 10 000 documents with removals, the IR metrics against sentence-transformers',
// and the index in worker mode and in a worker pool.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { MODEL_PATH, openBrowser } from './harness.mjs';

const ROOT = new URL('../../', import.meta.url);
const TINY = '/tests/fixtures/tiny/models/e5-small-v2-like/';
const irFixture = JSON.parse(await readFile(new URL('tests/fixtures/ir-evaluation.json', ROOT), 'utf8'));
let harness;

async function setUp(page) {
  await page.evaluate(async () => {
    const { Embedder } = await import('/pkg/index.js');
    globalThis.Embedder = Embedder;
    // The OPFS folder of index `name` (named by the SHA-256 of the name).
    globalThis.indexFolder = async (name) => {
      const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(name));
      const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
      return (await (await navigator.storage.getDirectory()).getDirectoryHandle('webembed-index-v1')).getDirectoryHandle(hex);
    };
    globalThis.attempt = async (action) => {
      try {
        return { ok: true, value: await action() };
      } catch (error) {
        return { ok: false, code: error.code, message: error.message };
      }
    };
  });
}

before(async () => {
  harness = await openBrowser();
  await setUp(harness.page);
});
after(async () => harness?.close());

// A long article: many sentences about one thing each, one sentence to find in the middle.
const filler = Array.from({ length: 60 }, (_, i) => `Paragraph ${i} talks about the history of the printing press and movable type in Europe.`).join(' ');
const ARTICLE = `${filler} To reset the router, hold the small button on its back for ten seconds. ${filler}`;
const DOCS = [
  { id: 'router', text: ARTICLE, metadata: { lang: 'en', url: 'https://example.com/router' } },
  { id: 'bread', text: 'Bread is made by baking a dough of flour and water.', metadata: { lang: 'en' } },
  { id: 'sun', text: 'The Sun is the star at the centre of the Solar System.', metadata: { lang: 'en' } },
  { id: 'brot', text: 'Brot wird aus Mehl und Wasser gebacken.', metadata: { lang: 'de' } },
];

test("the scan's nibble kernel of both wasm binaries equals the scalar reference", async () => {
  const result = await harness.page.evaluate(async () => {
    const { newInstance } = await import('/pkg/engine/instance.js');
    const out = {};
    for (const simd of ['relaxed-simd', 'simd128']) out[simd] = (await newInstance(simd, null)).checkScanKernel();
    return out;
  });
  assert.deepEqual(result, { 'relaxed-simd': [], simd128: [] });
});

test('a long document is chunked, found by its best chunk, and still there after a reload', async () => {
  const first = await harness.page.evaluate(async ({ path, docs }) => {
    const model = await Embedder.load(path);
    const index = await model.openIndex('articles');
    await index.clear();
    const progress = [];
    await index.add(docs, { onProgress: (p) => progress.push(p) });
    const hits = await index.search('how do I reset the router?', { k: 3 });
    const filtered = await index.search('flour and water', { k: 3, filter: (m) => m.lang === 'de' });
    const router = index.get('router');
    const result = { size: index.size, chunkCount: index.chunkCount, storage: index.storage, progress: progress.at(-1), hits, filtered, chunks: router.chunks, textLength: router.text.length };
    await index.close();
    await model.dispose();
    return result;
  }, { path: MODEL_PATH, docs: DOCS });
  assert.equal(first.storage, 'indexeddb');
  assert.equal(first.size, 4);
  assert.ok(first.chunks.length >= 3, `the article is ${first.chunks.length} chunks`);
  assert.equal(first.chunkCount, first.chunks.length + 3);
  assert.deepEqual(first.progress, { chunks: first.chunkCount, totalChunks: first.chunkCount, documents: 4 });
  // Every character of the article is in some chunk, and chunks overlap.
  assert.equal(first.chunks[0].start, 0);
  assert.equal(first.chunks.at(-1).end, first.textLength);
  for (let i = 1; i < first.chunks.length; i++) assert.ok(first.chunks[i].start <= first.chunks[i - 1].end, 'no gap between chunks');
  assert.equal(first.hits[0].id, 'router');
  assert.match(first.hits[0].text, /hold the small button/);
  assert.equal(first.hits[0].text, ARTICLE.slice(first.hits[0].chunk.start, first.hits[0].chunk.end));
  assert.equal(first.hits[0].metadata.url, 'https://example.com/router');
  assert.equal(new Set(first.hits.map((h) => h.id)).size, first.hits.length, 'one hit per document');
  assert.deepEqual(first.filtered.map((h) => h.id), ['brot']);

  await harness.page.reload();
  await setUp(harness.page);
  const second = await harness.page.evaluate(async (path) => {
    const model = await Embedder.load(path);
    const index = await model.openIndex('articles');
    const hits = await index.search('how do I reset the router?', { k: 3 });
    const result = { size: index.size, chunkCount: index.chunkCount, hits };
    await index.close();
    await model.dispose();
    return result;
  }, MODEL_PATH);
  assert.equal(second.size, 4);
  assert.equal(second.chunkCount, first.chunkCount);
  assert.deepEqual(second.hits, first.hits);
});

test('an int8 index ranks its candidates by their exact vectors, kept in IndexedDB across a reload', async () => {
  const search = (page) =>
    page.evaluate(async ({ path, docs, fresh }) => {
      const model = await Embedder.load(path);
      const index = await model.openIndex('exact-scores');
      if (fresh) {
        await index.clear();
        await index.add(docs);
      }
      const [query] = await model.encode(['baking bread with flour'], { prompt: index.settings.model.queryPrompt });
      const hits = await index.search(query, { k: 4 });
      // The exact score of each hit's chunk: its own embedding, dotted with the query in float64.
      const chunks = await model.encode(hits.map((h) => h.text), { prompt: index.settings.model.documentPrompt });
      const exact = chunks.map((v) => v.reduce((sum, x, d) => sum + x * query[d], 0));
      await index.close();
      await model.dispose();
      return { ids: hits.map((h) => h.id), scores: hits.map((h) => h.score), exact };
    }, { path: MODEL_PATH, docs: DOCS, fresh: !page.reloaded });
  const first = await search(harness.page);
  // int8 alone is ~1e-4 off; the rescored scores are the exact ones.
  first.scores.forEach((score, i) => assert.ok(Math.abs(score - first.exact[i]) < 1e-5, `hit ${i}: ${score} vs exact ${first.exact[i]}`));
  for (let i = 1; i < first.scores.length; i++) assert.ok(first.scores[i] <= first.scores[i - 1], 'best first');
  assert.equal(first.ids[0], 'bread');
  await harness.page.reload();
  await setUp(harness.page);
  harness.page.reloaded = true;
  const second = await search(harness.page);
  delete harness.page.reloaded;
  assert.deepEqual(second, first);
});

test('another model, or other settings, opening a stored index is E_INDEX', async () => {
  const result = await harness.page.evaluate(async (tiny) => {
    const model = await Embedder.load(tiny);
    const other = await attempt(() => model.openIndex('articles'));
    const minilm = await Embedder.load('/models/all-MiniLM-L6-v2/');
    const settings = await attempt(() => minilm.openIndex('articles', { vectors: 'f32' }));
    const q8 = await Embedder.load('/models/all-MiniLM-L6-v2/', { dtype: 'q8' });
    const dtype = await attempt(() => q8.openIndex('articles'));
    await Promise.all([model.dispose(), minilm.dispose(), q8.dispose()]);
    return { other, settings, dtype };
  }, TINY);
  assert.equal(result.other.code, 'E_INDEX');
  assert.match(result.other.message, /url "[^"]*all-MiniLM-L6-v2\/" \(stored\) ≠ "[^"]*e5-small-v2-like\/"/);
  assert.equal(result.settings.code, 'E_INDEX');
  assert.equal(result.dtype.code, 'E_INDEX');
  assert.match(result.dtype.message, /dtype "f32" \(stored\) ≠ "q8"/);
});

/**
 * Adds 50 documents to index `name`, starts adding 3000 more in another page and closes that page
 * once they are being embedded; then reopens the index: { size, lost, hit }.
 */
async function interruptAnAdd(name, options) {
  const page = await harness.page.context().newPage();
  await page.goto(`${harness.url}/tests/e2e/blank.html`);
  await setUp(page);
  await page.evaluate(async ({ tiny, name, options }) => {
    const model = await Embedder.load(tiny);
    const index = await model.openIndex(name, options);
    await index.clear();
    await index.add(Array.from({ length: 50 }, (_, i) => ({ id: `kept-${i}`, text: `kept document number ${i}` })));
    globalThis.started = new Promise((resolve) => {
      index.add(Array.from({ length: 3000 }, (_, i) => ({ id: `lost-${i}`, text: `document ${i} that never lands `.repeat(20) })), { onProgress: resolve });
    });
    await globalThis.started;
  }, { tiny: TINY, name, options });
  await page.close({ runBeforeUnload: false });
  return harness.page.evaluate(async ({ tiny, name, options }) => {
    const model = await Embedder.load(tiny);
    const index = await model.openIndex(name, options);
    // A random-weight model: search by the stored document's own vector.
    const [vector] = await model.encode(['kept document number 7'], { prompt: index.settings.model.documentPrompt });
    const result = { size: index.size, lost: index.has('lost-0'), hit: (await index.search(vector, { k: 1 }))[0].id };
    // The keyword postings hold what the vectors hold: the kept documents, nothing of the lost add.
    const kept = await index.search('kept document', { mode: 'keyword', k: 100 });
    const lost = await index.search('never lands', { mode: 'keyword', k: 100 });
    result.keywords = { kept: kept.length, lost: lost.length, first: (await index.search('number 7', { mode: 'keyword', k: 1 }))[0].id };
    await index.close();
    await model.dispose();
    return result;
  }, { tiny: TINY, name, options });
}

test('a page closed in the middle of an add keeps everything stored before it, and nothing of that add', async () => {
  assert.deepEqual(await interruptAnAdd('interrupted', {}), { size: 50, lost: false, hit: 'kept-7', keywords: { kept: 50, lost: 0, first: 'kept-7' } });
  const exact = await harness.page.evaluate(async () => {
    const db = await new Promise((resolve) => {
      const open = indexedDB.open('webembed-index-v1');
      open.onsuccess = () => resolve(open.result);
    });
    const count = await new Promise((resolve) => {
      const request = db.transaction('exact').objectStore('exact').count(IDBKeyRange.bound(['interrupted', ''], ['interrupted', []]));
      request.onsuccess = () => resolve(request.result);
    });
    db.close();
    return count;
  });
  assert.equal(exact, 50, 'exact vectors stored for the 50 kept documents only');
});

test('an index in the Origin Private File System: kept across a reload, rescored exactly, and a torn or interrupted commit loses only itself', async () => {
  const first = await harness.page.evaluate(async ({ path, docs }) => {
    const model = await Embedder.load(path);
    const index = await model.openIndex('opfs-notes', { storage: 'opfs' });
    await index.clear();
    await index.add(docs);
    await index.remove(['sun']);
    await index.add([{ id: 'moon', text: 'The Moon orbits the Earth.', metadata: { lang: 'en' } }]);
    const [query] = await model.encode(['baking bread with flour'], { prompt: index.settings.model.queryPrompt });
    const hits = await index.search(query, { k: 4 });
    const chunks = await model.encode(hits.map((h) => h.text), { prompt: index.settings.model.documentPrompt });
    const exact = chunks.map((v) => v.reduce((sum, x, d) => sum + x * query[d], 0));
    const result = { storage: index.storage, size: index.size, ids: index.ids(), hits, exact };
    await index.close();
    await model.dispose();
    return result;
  }, { path: MODEL_PATH, docs: DOCS });
  assert.equal(first.storage, 'opfs');
  assert.deepEqual(first.ids, ['router', 'bread', 'brot', 'moon']);
  first.hits.forEach((hit, i) => assert.ok(Math.abs(hit.score - first.exact[i]) < 1e-5, `${hit.id}: ${hit.score} vs exact ${first.exact[i]}`));

  // A commit torn by a crash: a segment file written, its manifest cut off mid-write.
  await harness.page.evaluate(async () => {
    const dir = await indexFolder('opfs-notes');
    for (const [file, text] of [['segment-0-999.bin', 'half a segment'], ['manifest-999.json', '{"generation": 999, "meta": {']]) {
      const writable = await (await dir.getFileHandle(file, { create: true })).createWritable();
      await writable.write(text);
      await writable.close();
    }
  });
  await harness.page.reload();
  await setUp(harness.page);
  const second = await harness.page.evaluate(async ({ path }) => {
    const model = await Embedder.load(path);
    const index = await model.openIndex('opfs-notes', { storage: 'opfs' });
    const [query] = await model.encode(['baking bread with flour'], { prompt: index.settings.model.queryPrompt });
    const hits = await index.search(query, { k: 4 });
    const result = { size: index.size, ids: index.ids(), hits };
    await index.close();
    await model.dispose();
    const dir = await indexFolder('opfs-notes');
    result.files = [];
    for await (const [file] of dir.entries()) result.files.push(file);
    return result;
  }, { path: MODEL_PATH });
  assert.deepEqual({ size: second.size, ids: second.ids, hits: second.hits }, { size: 4, ids: first.ids, hits: first.hits });
  // One manifest and the files it names: the torn commit's files and older generations are gone.
  assert.equal(second.files.filter((f) => f.startsWith('manifest-')).length, 1, second.files.join(' '));
  assert.ok(!second.files.includes('segment-0-999.bin'), second.files.join(' '));

  assert.deepEqual(await interruptAnAdd('opfs-interrupted', { storage: 'opfs' }), { size: 50, lost: false, hit: 'kept-7', keywords: { kept: 50, lost: 0, first: 'kept-7' } });
});

test('10 000 documents: added, reloaded, searched, 1 000 removed, reloaded again, nothing stored twice', async () => {
  const words = ['apple', 'river', 'engine', 'violin', 'glacier', 'pepper', 'orbit', 'lantern', 'meadow', 'copper'];
  const build = await harness.page.evaluate(async ({ tiny, words }) => {
    const model = await Embedder.load(tiny);
    const index = await model.openIndex('ten-thousand', { storage: 'indexeddb' });
    await index.clear();
    const docs = Array.from({ length: 10_000 }, (_, i) => ({ id: `doc-${i}`, text: `${words[i % 10]} ${words[(i * 7) % 10]} number ${i}`, metadata: { n: i } }));
    await index.add(docs.slice(0, 6000));
    await index.add(docs.slice(6000));
    // Re-adding an id replaces it.
    await index.add([{ id: 'doc-5', text: 'replaced text about copper', metadata: { n: -5 } }]);
    const result = { size: index.size, chunks: index.chunkCount, doc5: index.get('doc-5').metadata.n };
    await index.close();
    await model.dispose();
    return result;
  }, { tiny: TINY, words });
  assert.deepEqual(build, { size: 10_000, chunks: 10_000, doc5: -5 });

  await harness.page.reload();
  await setUp(harness.page);
  const removed = await harness.page.evaluate(async (tiny) => {
    const model = await Embedder.load(tiny);
    const index = await model.openIndex('ten-thousand');
    const size = index.size;
    const hits = await index.search('glacier number 4', { k: 5 });
    const count = await index.remove(Array.from({ length: 1000 }, (_, i) => `doc-${i * 10}`).concat(['no-such-id']));
    const result = { size, hits: hits.length, removed: count, sizeAfter: index.size, doc5: index.get('doc-5')?.metadata.n };
    await index.close();
    await model.dispose();
    return result;
  }, TINY);
  assert.deepEqual(removed, { size: 10_000, hits: 5, removed: 1000, sizeAfter: 9000, doc5: -5 });

  await harness.page.reload();
  await setUp(harness.page);
  const reopened = await harness.page.evaluate(async (tiny) => {
    const model = await Embedder.load(tiny);
    const index = await model.openIndex('ten-thousand');
    const hits = await index.search('apple apple number 20', { k: 20 });
    const result = { size: index.size, chunks: index.chunkCount, has0: index.has('doc-0'), has1: index.has('doc-1'), removedInHits: hits.filter((h) => Number(h.id.slice(4)) % 10 === 0).length };
    await index.close();
    await model.dispose();
    // What IndexedDB holds: every document once.
    const db = await new Promise((resolve) => {
      const open = indexedDB.open('webembed-index-v1');
      open.onsuccess = () => resolve(open.result);
    });
    const segments = await new Promise((resolve) => {
      const request = db.transaction('segments').objectStore('segments').getAll(IDBKeyRange.bound(['ten-thousand', 0], ['ten-thousand', Infinity]));
      request.onsuccess = () => resolve(request.result);
    });
    const exactIds = await new Promise((resolve) => {
      const request = db.transaction('exact').objectStore('exact').getAllKeys(IDBKeyRange.bound(['ten-thousand', ''], ['ten-thousand', []]));
      request.onsuccess = () => resolve(request.result.map((key) => key[1]));
    });
    db.close();
    const ids = segments.flatMap((s) => s.docs.map((d) => d.id));
    const sameIds = exactIds.length === ids.length && exactIds.every((id) => ids.includes(id));
    return { ...result, stored: ids.length, distinct: new Set(ids).size, exact: exactIds.length, sameIds };
  }, TINY);
  assert.deepEqual(reopened, { size: 9000, chunks: 9000, has0: false, has1: true, removedInHits: 0, stored: 9000, distinct: 9000, exact: 9000, sameIds: true });
});

test('hybrid search in IndexedDB: identifiers by keywords, paraphrases by meaning, highlights, all kept across a reload', async () => {
  const docs = [
    { id: 'realpath', text: 'os.path.realpath(path) returns the canonical path of the specified filename, eliminating any symbolic links.' },
    { id: 'sleep', text: 'time.sleep(secs) suspends execution of the calling thread for the given number of seconds.' },
    { id: 'tokyo', text: '東京タワーは東京都港区にある電波塔です。' },
    ...DOCS,
  ];
  const search = (page, fresh) =>
    page.evaluate(async ({ path, docs, fresh }) => {
      const model = await Embedder.load(path);
      const index = await model.openIndex('hybrid-notes', { language: 'english' });
      if (fresh) {
        await index.clear();
        await index.add(docs);
      }
      const out = {};
      for (const [name, query, options] of [
        ['identifier', 'os.path.realpath', {}],
        ['paraphrase', 'pause program briefly', {}],
        ['stemmed', 'symbolic link eliminated', { mode: 'keyword' }],
        ['cjk', '東京', { mode: 'keyword' }],
        ['semantic', 'how do I reset the router?', { mode: 'semantic', k: 2 }],
      ]) {
        out[name] = (await index.search(query, { k: 3, ...options })).map(({ id, score, semanticScore, keywordScore, text, highlights }) => ({
          id, score, semanticScore, keywordScore, marked: highlights.map(({ start, end }) => text.slice(start, end)),
        }));
      }
      await index.close();
      await model.dispose();
      return out;
    }, { path: MODEL_PATH, docs, fresh });
  const first = await search(harness.page, true);
  assert.equal(first.identifier[0].id, 'realpath');
  assert.deepEqual(first.identifier[0].marked, ['os.path.realpath', 'path', 'path']);
  assert.ok(first.identifier[0].semanticScore > 0 && first.identifier[0].keywordScore > 0);
  assert.equal(first.paraphrase[0].id, 'sleep');
  assert.equal(first.stemmed[0].id, 'realpath');
  // English stemming: 'eliminated' finds 'eliminating', 'link' finds 'links'.
  assert.deepEqual(first.stemmed[0].marked, ['eliminating', 'symbolic', 'links']);
  assert.deepEqual(first.cjk.map((h) => h.id), ['tokyo']);
  assert.equal(first.semantic[0].id, 'router');
  assert.equal(first.semantic[0].score, first.semantic[0].semanticScore);
  await harness.page.reload();
  await setUp(harness.page);
  assert.deepEqual(await search(harness.page, false), first);
});

test('export and import give the same results; a foreign or damaged export is E_INDEX', async () => {
  const result = await harness.page.evaluate(async ({ path, tiny }) => {
    const model = await Embedder.load(path);
    const index = await model.openIndex('articles');
    const buffer = await index.export();
    const copy = await model.importIndex(buffer, { name: 'articles-copy' });
    const [a, b] = [await index.search('baking with flour'), await copy.search('baking with flour')];
    const damaged = await attempt(() => model.importIndex(buffer.slice(0, buffer.byteLength - 100), { name: 'broken' }));
    const junk = await attempt(() => model.importIndex(new Uint8Array([1, 2, 3]), { name: 'broken' }));
    const other = await Embedder.load(tiny);
    const foreign = await attempt(() => other.importIndex(buffer, { name: 'foreign' }));
    const result = { same: JSON.stringify(a) === JSON.stringify(b), size: copy.size, bytes: buffer.byteLength, damaged, junk, foreign };
    await Promise.all([index.close(), copy.close()]);
    await Promise.all([model.dispose(), other.dispose()]);
    return result;
  }, { path: MODEL_PATH, tiny: TINY });
  assert.ok(result.same);
  assert.equal(result.size, 4);
  for (const key of ['damaged', 'junk', 'foreign']) assert.equal(result[key].code, 'E_INDEX', `${key}: ${result[key].message}`);
});

test("evaluate() gives sentence-transformers' IR metrics to 1e-6", async () => {
  const metrics = await harness.page.evaluate(async ({ path, data, k }) => {
    const model = await Embedder.load(path);
    const result = await model.evaluate(data, { k });
    await model.dispose();
    return result;
  }, { path: MODEL_PATH, data: { queries: irFixture.queries, corpus: irFixture.corpus, relevant: irFixture.relevant }, k: irFixture.cutoffs });
  let compared = 0;
  for (const [name, byK] of Object.entries(irFixture.metrics)) {
    for (const [k, expected] of Object.entries(byK)) {
      assert.ok(Math.abs(metrics[name][k] - expected) <= 1e-6, `${name}@${k}: ${metrics[name][k]} vs ${expected}`);
      compared += 1;
    }
  }
  assert.equal(compared, 24);
  assert.equal(metrics.queries, Object.keys(irFixture.relevant).length);
});

test('the index works the same in worker mode and in a worker pool', async () => {
  const result = await harness.page.evaluate(async (tiny) => {
    const out = {};
    for (const [mode, options] of [['page', {}], ['worker', { worker: true }], ['pool', { threads: 2 }]]) {
      const model = await Embedder.load(tiny, options);
      const index = await model.openIndex(`modes-${mode}`, { storage: 'memory' });
      await index.add([
        { id: 'a', text: 'apple pie recipe with cinnamon' },
        { id: 'b', text: 'the orbit of the moon around the earth' },
      ]);
      const hits = await index.search('the orbit of the moon around the earth', { k: 2 });
      out[mode] = { parallelism: model.parallelism, ids: hits.map((h) => h.id), score: hits[0].score };
      await index.close();
      await model.dispose();
    }
    return out;
  }, TINY);
  assert.equal(result.pool.parallelism, 'worker-pool');
  for (const mode of ['page', 'worker', 'pool']) {
    assert.deepEqual(result[mode].ids, ['b', 'a'], mode);
    assert.ok(Math.abs(result[mode].score - result.page.score) < 1e-6, `${mode}: ${result[mode].score}`);
  }
});
