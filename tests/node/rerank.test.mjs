// Rerankers in Node: Reranker.score and rank against sentence-transformers' CrossEncoder on the tiny
// random-weight rerankers (tests/fixtures/tiny/rerankers, references beside them), q8's rank
// agreement, bad arguments and hostile folders, and a reranked index search.

import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Embedder, Reranker } from '../../pkg/index.js';

const ROOT = new URL('../../', import.meta.url);
const TINY = new URL('tests/fixtures/tiny/', ROOT);
const folder = (name) => fileURLToPath(new URL(`rerankers/${name}/`, TINY));
const reference = async (name) => JSON.parse(await readFile(new URL(`rerank-references/${name}.json`, TINY), 'utf8'));
const NAMES = ['bert-1label', 'bert-3label-st6', 'xlmr-1label-identity', 'xlmr-2label-st6'];
const codeOf = async (promise) => promise.then(() => 'resolved', (error) => error.code);

test('scores match CrossEncoder.predict within 1e-5 for both architectures, one label and several, both layouts', async () => {
  for (const name of NAMES) {
    const ref = await reference(name);
    const reranker = await Reranker.load(folder(name), { cache: false });
    assert.equal(reranker.numLabels, ref.num_labels, name);
    assert.equal(reranker.maxSeqLength, ref.max_length, name);
    const scores = await reranker.score(ref.cases.map((c) => c.pair), { batchSize: 8 });
    assert.equal(scores.length, ref.cases.length);
    let worst = 0;
    scores.forEach((got, i) => {
      const want = ref.batched_scores[i];
      assert.equal(Array.isArray(got), ref.num_labels > 1, `${name}: one number per pair for one label, an array for several`);
      [got].flat().forEach((g, j) => (worst = Math.max(worst, Math.abs(g - [want].flat()[j]))));
    });
    assert.ok(worst <= 1e-5, `${name}: worst |difference| ${worst}`);
    await reranker.dispose();
  }
});

test('rank orders as CrossEncoder.rank, with k and returnDocuments; several labels cannot rank', async () => {
  for (const name of ['bert-1label', 'xlmr-1label-identity']) {
    const { rank } = await reference(name);
    const reranker = await Reranker.load(folder(name), { cache: false });
    const ranked = await reranker.rank(rank.query, rank.documents);
    assert.deepEqual(ranked.map((r) => r.index), rank.result.map((r) => r.index), name);
    ranked.forEach((r, i) => assert.ok(Math.abs(r.score - rank.result[i].score) <= 1e-5, `${name}: ${r.score} vs ${rank.result[i].score}`));
    const top = await reranker.rank(rank.query, rank.documents, { k: 2, returnDocuments: true });
    assert.deepEqual(top, ranked.slice(0, 2).map((r) => ({ ...r, text: rank.documents[r.index] })));
    await reranker.dispose();
  }
  const multi = await Reranker.load(folder('bert-3label-st6'), { cache: false });
  assert.equal(await codeOf(multi.rank('q', ['a'])), 'E_INPUT');
  await multi.dispose();
});

function spearman(a, b) {
  const ranks = (v) => {
    const order = v.map((_, i) => i).sort((x, y) => v[x] - v[y]);
    const r = new Array(v.length);
    order.forEach((i, pos) => (r[i] = pos));
    return r;
  };
  const [ra, rb] = [ranks(a), ranks(b)];
  const n = a.length;
  const d2 = ra.reduce((sum, x, i) => sum + (x - rb[i]) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

test('q8 scores rank the query × passage grid like f32 (Spearman ≥ 0.99)', async () => {
  const texts = (await reference('bert-1label')).cases.slice(0, 12).map((c) => c.pair[0]);
  const pairs = texts.flatMap((a) => texts.map((b) => [a, b]));
  for (const name of ['bert-1label', 'xlmr-1label-identity']) {
    const f32 = await Reranker.load(folder(name), { cache: false });
    const q8 = await Reranker.load(folder(name), { cache: false, dtype: 'q8' });
    assert.equal(q8.dtype, 'q8');
    const rho = spearman(await f32.score(pairs), await q8.score(pairs));
    assert.ok(rho >= 0.99, `${name}: Spearman ${rho}`);
    await Promise.all([f32.dispose(), q8.dispose()]);
  }
});

test('bad pairs are E_INPUT naming the pair, and the same reranker answers after', async () => {
  const reranker = await Reranker.load(folder('bert-1label'), { cache: false });
  const cases = [
    ['a string', 'query'],
    ['a pair of one', [['only one']]],
    ['a number side', [['q', 'p'], ['q', 7]]],
    ['a hole', [['q', 'p'], , ['q', 'p']]], // eslint-disable-line no-sparse-arrays
    ['an object', [{ 0: 'q', 1: 'p' }]],
    ['a bad batch size', [['q', 'p']], { batchSize: 0 }],
  ];
  for (const [what, pairs, options] of cases) {
    const error = await reranker.score(pairs, options).then(() => null, (e) => e);
    assert.equal(error?.code, 'E_INPUT', `${what}: ${error?.message}`);
  }
  const error = await reranker.score([['q', 'p'], ['q', 7]]).catch((e) => e);
  assert.match(error.message, /pairs\[1\]\[1\]/);
  assert.deepEqual(await reranker.score([]), []);
  // A 10 MB passage is cut as encode cuts texts; the score is that of its kept tokens.
  const huge = 'semantic search in the browser '.repeat(350_000);
  const [long, prefix] = await reranker.score([['query', huge], ['query', huge.slice(0, 8000)]]);
  assert.equal(long, prefix);
  const ref = await reference('bert-1label');
  const [again] = await reranker.score([ref.cases[0].pair]);
  assert.ok(Math.abs(again - ref.cases[0].score) <= 1e-5);
  await reranker.dispose();
  assert.equal(await codeOf(reranker.score([['q', 'p']])), 'E_DISPOSED');
});

/** A copy of a tiny reranker with `change(dir)` applied. */
async function damaged(name, change) {
  const dir = await mkdtemp(join(tmpdir(), 'webembed-reranker-'));
  await cp(folder(name), dir, { recursive: true, dereference: true });
  await change(dir);
  return dir;
}

const editJson = (dir, file, edit) =>
  readFile(join(dir, file), 'utf8').then((text) => writeFile(join(dir, file), JSON.stringify(edit(JSON.parse(text)))));

/** Renames a tensor in a safetensors header (its bytes stay): the file then lacks `from`. */
async function renameTensor(dir, from, to) {
  const path = join(dir, 'model.safetensors');
  const bytes = await readFile(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  header[to] = header[from];
  delete header[from];
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  await writeFile(path, Buffer.concat([length, json, bytes.subarray(8 + headerLength)]));
}

test('hostile reranker folders are E_CONFIG / E_WEIGHTS naming the file', async () => {
  const cases = [
    ['num_labels 0', 'bert-1label', (d) => editJson(d, 'config.json', (c) => ({ ...c, id2label: undefined, label2id: undefined, num_labels: 0 })), 'E_CONFIG', 'config.json'],
    ['a million labels', 'bert-1label', (d) => editJson(d, 'config.json', (c) => ({ ...c, id2label: undefined, label2id: undefined, num_labels: 1_000_000 })), 'E_CONFIG', 'config.json'],
    ['labels beyond the classifier', 'xlmr-1label-identity', (d) => editJson(d, 'config.json', (c) => ({ ...c, id2label: { 0: 'a', 1: 'b', 2: 'c' } })), 'E_WEIGHTS', 'model.safetensors'],
    ['no classifier tensor', 'bert-1label', (d) => renameTensor(d, 'classifier.weight', 'classifier.weight_renamed'), 'E_WEIGHTS', 'classifier.weight'],
    ['no pooler tensor', 'bert-3label-st6', (d) => renameTensor(d, 'bert.pooler.dense.weight', 'unused.weight'), 'E_WEIGHTS', 'pooler.dense.weight'],
    ['an unknown activation', 'xlmr-2label-st6', (d) => editJson(d, 'config_sentence_transformers.json', (c) => ({ ...c, activation_fn: 'torch.nn.modules.activation.GELU' })), 'E_CONFIG', 'config_sentence_transformers.json'],
    ['an untrusted activation', 'bert-1label', (d) => editJson(d, 'config.json', (c) => ({ ...c, sentence_transformers: { activation_fn: 'my_package.Fancy' } })), 'E_CONFIG', 'config.json'],
    ['an unknown head', 'bert-1label', (d) => editJson(d, 'config.json', (c) => ({ ...c, architectures: ['BertForTokenClassification'] })), 'E_CONFIG', 'config.json'],
  ];
  for (const [what, name, change, code, file] of cases) {
    const dir = await damaged(name, change);
    try {
      const error = await Reranker.load(dir, { cache: false }).then(() => null, (e) => e);
      assert.equal(error?.code, code, `${what}: ${error?.message}`);
      assert.ok(error.message.includes(file), `${what}: ${error.message}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const embedder = fileURLToPath(new URL('models/e5-small-v2-like/', TINY));
  assert.equal(await codeOf(Reranker.load(embedder, { cache: false })), 'E_CONFIG');
  // After every refusal, a reranker loads and scores as before.
  const reranker = await Reranker.load(folder('bert-1label'), { cache: false });
  assert.equal((await reranker.score([['a', 'b']])).length, 1);
  await reranker.dispose();
});

test('a reranked search rescores the best candidates by their best chunk, and evaluate takes rerank', async () => {
  const model = await Embedder.load(fileURLToPath(new URL('models/e5-small-v2-like/', TINY)), { cache: false });
  const reranker = await Reranker.load(folder('bert-1label'), { cache: false });
  const index = await model.openIndex('reranked', { storage: 'memory' });
  const texts = (await reference('bert-1label')).cases.slice(0, 12).map((c) => c.pair[0]);
  await index.add(texts.map((text, i) => ({ id: `d${i}`, text })));
  const query = 'A man is eating food.';
  const hits = await index.search(query, { k: 5, rerank: reranker, candidates: 10 });
  assert.equal(hits.length, 5);
  const direct = await reranker.score(hits.map((h) => [query, h.text]));
  hits.forEach((hit, i) => {
    assert.equal(hit.score, hit.rerankScore);
    assert.equal(hit.rerankScore, direct[i], 'the score of the query and the hit’s chunk');
    if (i > 0) assert.ok(hits[i - 1].score >= hit.score, 'best first');
    assert.ok(typeof hit.semanticScore === 'number' && typeof hit.keywordScore === 'number', 'why it was found still says');
  });
  // The reranked top 5 are the 5 best-scored of the 10 fused candidates.
  const candidates = await index.search(query, { k: 10, candidates: 10 });
  const all = await reranker.score(candidates.map((h) => [query, h.text]));
  const best = candidates.map((h, i) => ({ id: h.id, s: all[i] })).sort((a, b) => b.s - a.s).slice(0, 5);
  assert.deepEqual(hits.map((h) => h.id), best.map((b) => b.id));
  const multi = await Reranker.load(folder('bert-3label-st6'), { cache: false });
  assert.equal(await codeOf(index.search(query, { rerank: multi })), 'E_INPUT');
  assert.equal(await codeOf(index.search(new Float32Array(model.dimension), { rerank: reranker })), 'E_INPUT');
  const data = { queries: { q: query }, corpus: Object.fromEntries(texts.map((t, i) => [`d${i}`, t])), relevant: { q: ['d2'] } };
  const metrics = await model.evaluate(data, { rerank: reranker, k: [1, 10] });
  assert.equal(metrics.queries, 1);
  assert.ok(metrics.mrr[10] > 0 && metrics.mrr[10] <= 1);
  await index.close();
  await Promise.all([model.dispose(), reranker.dispose(), multi.dispose()]);
});
