// The search index in Node: memory storage (Node has no IndexedDB), the same chunking, ranking,
// replacement, removal, export/import and IR metrics as in the browser.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Embedder } from '../../pkg/index.js';

const ROOT = new URL('../../', import.meta.url);
const MINILM = fileURLToPath(new URL('models/all-MiniLM-L6-v2/', ROOT));
const TINY = fileURLToPath(new URL('tests/fixtures/tiny/models/e5-small-v2-like/', ROOT));
const irFixture = JSON.parse(await readFile(new URL('tests/fixtures/ir-evaluation.json', ROOT), 'utf8'));

const codeOf = async (promise) => promise.then(() => 'resolved', (error) => error.code);

test('add, search, replace, remove, export and import in memory', async () => {
  const model = await Embedder.load(TINY);
  const index = await model.openIndex('node-notes');
  assert.equal(index.storage, 'memory');
  await index.add([
    { id: 'a', text: 'apple pie recipe with cinnamon', metadata: { kind: 'food' } },
    { id: 'b', text: 'the orbit of the moon around the earth', metadata: { kind: 'space' } },
    { id: 'c', text: 'sourdough bread and wild yeast', metadata: { kind: 'food' } },
  ]);
  assert.equal(index.size, 3);
  let hits = await index.search('the orbit of the moon around the earth', { k: 2, mode: 'semantic' });
  assert.equal(hits[0].id, 'b');
  // Documents carry the e5 'passage: ' prompt and queries 'query: ', so even the same text is not 1.
  assert.ok(hits[0].score > 0.9 && hits[0].score > hits[1].score, `${hits[0].score}`);
  // The int8 candidates are rescored with their exact vectors (int8 alone is ~1e-4 off).
  const [query] = await model.encode(['the orbit of the moon around the earth'], { prompt: index.settings.model.queryPrompt });
  const chunks = await model.encode(hits.map((h) => h.text), { prompt: index.settings.model.documentPrompt });
  hits.forEach((hit, i) => {
    const exact = chunks[i].reduce((sum, x, d) => sum + x * query[d], 0);
    assert.ok(Math.abs(hit.score - exact) < 1e-5, `${hit.id}: ${hit.score} vs exact ${exact}`);
  });
  hits = await index.search('the orbit of the moon around the earth', { k: 3, filter: (m) => m.kind === 'food' });
  assert.deepEqual(hits.map((h) => h.id).sort(), ['a', 'c']);

  await index.add([{ id: 'b', text: 'a bicycle with a flat tyre', metadata: { kind: 'repair' } }]);
  assert.equal(index.size, 3);
  assert.equal(index.get('b').metadata.kind, 'repair');
  assert.equal(await index.remove(['a', 'zzz']), 1);
  assert.equal(index.size, 2);

  const buffer = await index.export();
  const copy = await model.importIndex(buffer, { name: 'node-notes-copy' });
  assert.deepEqual(await copy.search('flat tyre'), await index.search('flat tyre'));
  assert.equal(await codeOf(model.importIndex(new ArrayBuffer(8))), 'E_INDEX');
  assert.equal(await codeOf(index.add([{ id: 7, text: 'x' }])), 'E_INPUT');
  assert.equal(await codeOf(index.search('x', { k: 0 })), 'E_INPUT');
  assert.equal(await codeOf(index.search(new Float32Array(3))), 'E_INPUT');
  // The index still works after those errors.
  assert.equal((await index.search('flat tyre', { k: 1 }))[0].id, 'b');
  await Promise.all([index.close(), copy.close()]);
  assert.equal(await codeOf(index.search('x')), 'E_DISPOSED');
  await model.dispose();
});

test('chunks() cuts a long text into spans that fit, with no text left out', async () => {
  const model = await Embedder.load(MINILM);
  const text = Array.from({ length: 80 }, (_, i) => `Sentence ${i} is about something else entirely, 😀 and more.`).join(' ');
  const spans = await model.chunks(text, { maxTokens: 64, overlapTokens: 16 });
  assert.ok(spans.length > 5, `${spans.length} chunks`);
  assert.equal(spans[0].start, 0);
  assert.equal(spans.at(-1).end, text.length);
  for (const [i, { start, end }] of spans.entries()) {
    assert.ok((await model.tokenize(text.slice(start, end))).length <= 64, `chunk ${i}`);
    if (i > 0) assert.ok(start <= spans[i - 1].end, 'no gap');
  }
  assert.deepEqual(await model.chunks('short'), [{ start: 0, end: 5 }]);
  assert.equal(await codeOf(model.chunks(text, { maxTokens: 100_000 })), 'E_INPUT');
  await model.dispose();
});

test("evaluate() gives sentence-transformers' IR metrics in Node too", async () => {
  const model = await Embedder.load(MINILM);
  const metrics = await model.evaluate({ queries: irFixture.queries, corpus: irFixture.corpus, relevant: irFixture.relevant }, { k: irFixture.cutoffs });
  for (const [name, byK] of Object.entries(irFixture.metrics)) {
    for (const [k, expected] of Object.entries(byK)) assert.ok(Math.abs(metrics[name][k] - expected) <= 1e-6, `${name}@${k}`);
  }
  assert.equal(await codeOf(model.evaluate({ queries: {}, corpus: {} })), 'E_INPUT');
  await model.dispose();
});
