// Hybrid search in Node: the keyword side (BM25 over the analyzer's terms) beside the vectors in
// one index, the three modes, fusion options, highlights, stemming, CJK, export/import, and
// evaluate() by mode.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Embedder } from '../../pkg/index.js';

const ROOT = new URL('../../', import.meta.url);
const MINILM = fileURLToPath(new URL('models/all-MiniLM-L6-v2/', ROOT));

const DOCS = [
  { id: 'realpath', text: 'os.path.realpath(path) returns the canonical path of the specified filename, eliminating any symbolic links.' },
  { id: 'abspath', text: 'os.path.abspath(path) returns a normalized absolutized version of the pathname path.' },
  { id: 'dumps', text: 'json.dumps(obj) serializes obj to a JSON formatted str.' },
  { id: 'sleep', text: 'time.sleep(secs) suspends execution of the calling thread for the given number of seconds.' },
  { id: 'tokyo', text: '東京タワーは東京都港区にある電波塔です。' },
];

const model = await Embedder.load(MINILM, { dtype: 'q8' });
const codeOf = async (promise) => promise.then(() => 'resolved', (error) => error.code);

test('each mode ranks, and each hit says why it was found and where the terms are', async () => {
  const index = await model.openIndex('hybrid-modes', { storage: 'memory' });
  await index.add(DOCS);
  const keyword = await index.search('realpath', { mode: 'keyword' });
  assert.deepEqual(keyword.map((h) => h.id), ['realpath']);
  const [hit] = keyword;
  assert.equal(hit.score, hit.keywordScore);
  // Keyword mode does not embed the query: no cosine to give.
  assert.ok(hit.keywordScore > 0 && hit.semanticScore === null, JSON.stringify(hit));
  assert.deepEqual(hit.highlights.map(({ start, end }) => hit.text.slice(start, end)), ['realpath']);

  // An exact identifier: hybrid puts its defining document first.
  const hybrid = await index.search('os.path.realpath', { k: 3 });
  assert.equal(hybrid[0].id, 'realpath');
  // The whole name marked once, and its parts where they stand alone ('path').
  const marked = hybrid[0].highlights.map(({ start, end }) => hybrid[0].text.slice(start, end));
  assert.deepEqual(marked, ['os.path.realpath', 'path', 'path']);
  for (const h of hybrid) assert.ok(typeof h.semanticScore === 'number' && typeof h.keywordScore === 'number', JSON.stringify(h));
  // The default fusion for one word or identifier: 0.3 · cosine + 0.7 · √(BM25 / the query's
  // bound), the bound each term's idf × (k1 + 1): the share of the query a document holds.
  const close = (a, b) => Math.abs(a - b) < 1e-5;
  const share = (hit, query) => Math.sqrt(Math.min(1, (hit.keywordScore ?? 0) / index._keywordBoundForBench(query)));
  for (const h of hybrid) assert.ok(close(h.score, 0.3 * h.semanticScore + 0.7 * share(h, 'os.path.realpath')), `${h.score} vs ${h.semanticScore}`);
  // For several words, the cosine weighs 0.85.
  const query = 'how do I get the canonical path of a file';
  const question = await index.search(query, { k: 3 });
  for (const h of question) assert.ok(close(h.score, 0.85 * h.semanticScore + 0.15 * share(h, query)), JSON.stringify(h));
  // Ordered by that score.
  for (let i = 1; i < question.length; i++) assert.ok(question[i - 1].score >= question[i].score);
  // Reciprocal rank fusion when asked: 1/(61 + rank) from each side that ranked it, first by keywords.
  const rrf = await index.search('os.path.realpath', { k: 3, fusion: { method: 'rrf' } });
  assert.equal(rrf[0].id, 'realpath');
  assert.ok(rrf[0].score > 1 / 61 && rrf[0].score <= 2 / 61 + 1e-7, `${rrf[0].score}`);

  // A paraphrase with no shared word: the semantic side finds it, hybrid keeps it.
  const paraphrase = await index.search('pause program briefly', { k: 2 });
  assert.equal(paraphrase[0].id, 'sleep');
  assert.equal((await index.search('pause program briefly', { mode: 'keyword' })).length, 0);

  const semantic = await index.search('pause program briefly', { mode: 'semantic', k: 5 });
  for (const h of semantic) assert.equal(h.score, h.semanticScore);
  // Weighted fusion at weight 1 is the semantic order; at 0, the keyword order.
  const allSemantic = await index.search('pause program briefly', { k: 5, fusion: { method: 'weighted', weight: 1 } });
  assert.deepEqual(allSemantic.map((h) => h.id), semantic.map((h) => h.id));
  const allKeyword = await index.search('os.path functions', { k: 2, fusion: { method: 'weighted', weight: 0 } });
  assert.deepEqual(allKeyword.map((h) => h.id).sort(), ['abspath', 'realpath']);

  // CJK as bigrams.
  const tokyo = await index.search('東京', { mode: 'keyword' });
  assert.deepEqual(tokyo.map((h) => h.id), ['tokyo']);
  assert.deepEqual(tokyo[0].highlights.map(({ start, end }) => tokyo[0].text.slice(start, end)), ['東京', '東京']);

  for (const [what, call] of [
    ['an unknown mode', () => index.search('x', { mode: 'fuzzy' })],
    ['keyword search by vector', async () => index.search((await model.encode(['x']))[0], { mode: 'keyword' })],
    ['a weight past 1', () => index.search('x', { fusion: { method: 'weighted', weight: 2 } })],
    ['an unknown fusion', () => index.search('x', { fusion: { method: 'max' } })],
    ['candidates 0', () => index.search('x', { candidates: 0 })],
  ]) {
    assert.equal(await codeOf(call()), 'E_INPUT', what);
  }
  assert.equal((await index.search('json', { k: 1 }))[0].id, 'dumps', 'still answers after the errors');
  await index.close();
});

test('the keyword side follows adds, replacements, removals, export and import', async () => {
  const index = await model.openIndex('hybrid-changes', { storage: 'memory' });
  await index.add(DOCS);
  await index.add([{ id: 'dumps', text: 'pickle.dumps(obj) returns the pickled representation of obj as bytes.' }]);
  assert.deepEqual((await index.search('json', { mode: 'keyword' })).map((h) => h.id), []);
  assert.deepEqual((await index.search('pickle', { mode: 'keyword' })).map((h) => h.id), ['dumps']);
  await index.remove('realpath');
  assert.deepEqual((await index.search('realpath', { mode: 'keyword' })).map((h) => h.id), []);
  const copy = await model.importIndex(await index.export(), { name: 'hybrid-changes-copy', storage: 'memory' });
  for (const query of ['pickle', 'os.path.abspath', 'seconds']) {
    assert.deepEqual(await copy.search(query), await index.search(query), query);
  }
  // Reopened (memory storage lives as long as the process): the postings are there again.
  await index.close();
  const reopened = await model.openIndex('hybrid-changes', { storage: 'memory' });
  assert.deepEqual((await reopened.search('pickle', { mode: 'keyword' })).map((h) => h.id), ['dumps']);
  // An English model's index: English stemming and stopwords, BM25 with k1 1.2 and b 0.5.
  assert.deepEqual(reopened.settings.keywords, { language: 'english', k1: 1.2, b: 0.5 });
  assert.equal(await codeOf(model.openIndex('hybrid-changes', { storage: 'memory', language: 'french' })), 'E_INDEX');
  await Promise.all([reopened.close(), copy.close()]);
});

test('stemming by the index language, and BM25 options', async () => {
  const index = await model.openIndex('hybrid-stemmed', { storage: 'memory', language: 'english', k1: 0.9, b: 0.4 });
  await index.add([
    { id: 'shoes', text: 'Running shoes for long runs' },
    { id: 'cook', text: 'Cooking pasta' },
  ]);
  assert.deepEqual((await index.search('run', { mode: 'keyword' })).map((h) => h.id), ['shoes']);
  assert.deepEqual(index.settings.keywords, { language: 'english', k1: 0.9, b: 0.4 });
  await index.close();
  assert.equal(await codeOf(model.openIndex('hybrid-bad', { storage: 'memory', language: 'klingon' })), 'E_INPUT');
  assert.equal(await codeOf(model.openIndex('hybrid-bad', { storage: 'memory', k1: -1 })), 'E_INPUT');
});

test('evaluate() measures each mode on the same labelled set', async () => {
  const corpus = Object.fromEntries(DOCS.map((d) => [d.id, d.text]));
  const queries = { q1: 'os.path.abspath', q2: 'json.dumps', q3: 'suspend a thread for some seconds' };
  const relevant = { q1: ['abspath'], q2: ['dumps'], q3: ['sleep'] };
  const byMode = {};
  for (const mode of ['keyword', 'semantic', 'hybrid']) byMode[mode] = await model.evaluate({ queries, corpus, relevant }, { mode, k: [1, 3] });
  assert.equal(byMode.keyword.queries, 3);
  // The two identifiers are found first by keywords; the question has words of its document too.
  assert.equal(byMode.keyword.mrr[3], 1);
  assert.equal(byMode.hybrid.mrr[3], 1);
  assert.ok(byMode.semantic.mrr[3] > 0);
  assert.equal(await codeOf(model.evaluate({ queries, corpus, relevant }, { mode: 'fuzzy' })), 'E_INPUT');
});

test.after(() => model.dispose());
