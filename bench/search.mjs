// Benchmark (prints figures; not a test): the search index at scale in headless Chromium, one
// thread. 100 000 stored chunks of 384 dimensions (synthetic clustered unit vectors: embedding
// 100 000 passages would take hours here: unit vectors around 64 topic centres), int8 and f32: the scan and top-k alone, a whole
// search() with the query embedded by all-MiniLM-L6-v2, recall@10 of the int8 index against an
// exact f32 search, the vectors' memory, and the time to open the stored index after a reload —
// beside a plain JavaScript f32 loop over the same vectors (what users write today). Each chunk
// has a text of ~100 words drawn from the words of ../shared/bench/corpus.json (Zipf-like, as
// text is), so the keyword side holds real postings: keyword search, hybrid search, the
// postings' memory, and what the keyword side adds to the cost of adding passages (embedding
// included) are printed too.
//
//   node bench/search.mjs [--chunks 100000] [--queries 50] [--storage indexeddb|opfs]
//
// Needs pkg/ built and models/all-MiniLM-L6-v2 (scripts/setup.sh); ../shared/bench/corpus.json
// for the texts (without it, a fixed list of words).

import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { openBrowser } from '../tests/e2e/harness.mjs';

const { values } = parseArgs({
  options: { chunks: { type: 'string', default: '100000' }, queries: { type: 'string', default: '50' }, storage: { type: 'string', default: 'indexeddb' } },
});
const storage = values.storage;
const chunks = Number(values.chunks);
const queries = Number(values.queries);

const CORPUS = new URL('../../shared/bench/corpus.json', import.meta.url);
const passages = existsSync(CORPUS) ? JSON.parse(readFileSync(CORPUS, 'utf8')) : null;
if (!passages) console.log('../shared/bench/corpus.json is absent: chunk texts from a fixed list of words, and no add-cost figure');
// Words by frequency: the corpus's own counts (a Zipf-like spread), or a fixed list.
const words = passages ? passages.join(' ').toLowerCase().match(/[a-z]{2,}/g) : 'the of and to in is for that with as on by this from are be or at an it which we can'.split(' ');

const harness = await openBrowser();
harness.page.setDefaultTimeout(0);

const setUp = () =>
  harness.page.evaluate(async () => {
    globalThis.Embedder = (await import('/pkg/index.js')).Embedder;
    // Clustered unit vectors from a fixed seed, as sentence embeddings cluster by topic.
    const generator = (seed) => {
      let state = (BigInt(seed) * 0x9e3779b97f4a7c15n) | 1n;
      const mask = (1n << 64n) - 1n;
      return () => {
        state ^= (state << 13n) & mask;
        state ^= state >> 7n;
        state ^= (state << 17n) & mask;
        return Number(state >> 40n) / 2 ** 24 - 0.5;
      };
    };
    // `count` unit vectors around 64 topic centres (`centreSeed`), with noise from `noiseSeed`.
    globalThis.vectors = (count, dimension, centreSeed, noiseSeed = centreSeed) => {
      const centers = Float32Array.from({ length: 64 * dimension }, generator(centreSeed));
      const next = generator(noiseSeed);
      const out = new Float32Array(count * dimension);
      for (let i = 0; i < count; i++) {
        const row = out.subarray(i * dimension, (i + 1) * dimension);
        let norm = 0;
        for (let d = 0; d < dimension; d++) {
          row[d] = centers[(i % 64) * dimension + d] + 0.8 * next();
          norm += row[d] * row[d];
        }
        norm = Math.sqrt(norm);
        for (let d = 0; d < dimension; d++) row[d] /= norm;
      }
      return out;
    };
    globalThis.median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  });

await setUp();
const built = await harness.page.evaluate(async ({ chunks, queries, storage, words }) => {
  const dimension = 384;
  // ~100 words per chunk drawn from the corpus's words (frequent words often, rare ones seldom).
  const pick = (() => {
    let state = 12345;
    return () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return words[state % words.length];
    };
  })();
  const textOf = () => Array.from({ length: 100 }, pick).join(' ');
  const model = await Embedder.load('/models/all-MiniLM-L6-v2/', { backend: 'cpu', threads: 1, dtype: 'q8' });
  const stored = vectors(chunks, dimension, 1);
  // Queries about the stored topics (what a search asks), and queries about nothing stored.
  const askedSets = { near: vectors(queries, dimension, 1, 2), unrelated: vectors(queries, dimension, 3) };
  const docs = Array.from({ length: chunks }, (_, i) => ({ id: `c${i}`, text: textOf() }));
  const keywordQueries = Array.from({ length: queries }, () => `${pick()} ${pick()} ${pick()}`);
  const out = {};
  for (const kind of ['int8', 'f32']) {
    const index = await model.openIndex(`bench-${kind}`, { vectors: kind, storage });
    await index.clear();
    const addStart = performance.now();
    for (let at = 0; at < chunks; at += 10_000) await index._addEmbeddedForBench(docs.slice(at, at + 10_000), stored.subarray(at * dimension, (at + 10_000) * dimension));
    const addMs = performance.now() - addStart;
    const scan = [];
    const byVector = [];
    const found = {};
    for (const [set, asked] of Object.entries(askedSets)) {
      found[set] = [];
      for (let q = 0; q < queries; q++) {
        const query = asked.subarray(q * dimension, (q + 1) * dimension);
        let start = performance.now();
        index._scanForBench(query, 10);
        scan.push(performance.now() - start);
        start = performance.now();
        const hits = await index.search(query, { k: 10 });
        byVector.push(performance.now() - start);
        found[set].push(hits.map((h) => Number(h.id.slice(1))));
      }
    }
    const timed = async (mode, list) => {
      const times = [];
      for (const query of list) {
        const start = performance.now();
        await index.search(query, { k: 10, mode });
        times.push(performance.now() - start);
      }
      return median(times);
    };
    const questions = Array.from({ length: 20 }, (_, q) => `what is the meaning of ${keywordQueries[q]}?`);
    const wholeMs = await timed('semantic', questions);
    const hybridMs = await timed('hybrid', questions);
    const keywordMs = await timed('keyword', keywordQueries);
    out[kind] = { addMs, scanMs: median(scan), byVectorMs: median(byVector), wholeMs, hybridMs, keywordMs, vectorBytes: index.vectorBytes, keywordBytes: index.keywordBytes, found };
    await index.close();
  }
  // The plain JavaScript loop: f32 dot products over a Float32Array, then sort for the top 10.
  const plain = [];
  const truth = { near: [], unrelated: [] };
  for (const [set, asked] of Object.entries(askedSets)) for (let q = 0; q < queries; q++) {
    const query = asked.subarray(q * dimension, (q + 1) * dimension);
    const start = performance.now();
    const scores = new Float32Array(chunks);
    for (let i = 0; i < chunks; i++) {
      let dot = 0;
      const base = i * dimension;
      for (let d = 0; d < dimension; d++) dot += stored[base + d] * query[d];
      scores[i] = dot;
    }
    const top = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]).slice(0, 10);
    plain.push(performance.now() - start);
    truth[set].push(top);
  }
  const recallOf = (found, set) => found[set].reduce((n, hits, q) => n + hits.filter((id) => truth[set][q].includes(id)).length, 0) / (10 * queries);
  const recall = (found) => ({ near: recallOf(found, 'near'), unrelated: recallOf(found, 'unrelated') });
  await model.dispose();
  return {
    plainMs: median(plain),
    int8: { ...out.int8, recall: recall(out.int8.found), found: undefined },
    f32: { ...out.f32, recall: recall(out.f32.found), found: undefined },
  };
}, { chunks, queries, storage, words });

// What the keyword side adds to adding passages, embedding included: 256 real passages added to
// an index (MiniLM q8), and the same passages' chunks through the keyword side alone.
const addCost = passages && (await harness.page.evaluate(async (passages) => {
  const model = await Embedder.load('/models/all-MiniLM-L6-v2/', { backend: 'cpu', threads: 1, dtype: 'q8' });
  const index = await model.openIndex('bench-add', { storage: 'memory' });
  const docs = passages.map((text, i) => ({ id: `p${i}`, text }));
  let start = performance.now();
  await index.add(docs);
  const addMs = performance.now() - start;
  const texts = [];
  for (const doc of docs) for (const { start: s, end } of index.get(doc.id).chunks) texts.push(doc.text.slice(s, end));
  const { newInstance } = await import('/pkg/engine/instance.js');
  const glue = await newInstance('relaxed-simd', null);
  const store = new glue.SearchStore(384, 'int8', undefined, 1.2, 0.75);
  const zero = new Float32Array(384);
  zero[0] = 1;
  start = performance.now();
  for (const text of texts) store.add(zero, [text]);
  const keywordMs = performance.now() - start;
  store.free();
  await index.close();
  await model.dispose();
  return { addMs, keywordMs, chunks: texts.length };
}, passages));

await harness.page.reload();
await setUp();
const reopened = await harness.page.evaluate(async (storage) => {
  const model = await Embedder.load('/models/all-MiniLM-L6-v2/', { backend: 'cpu', threads: 1, dtype: 'q8' });
  const out = {};
  for (const kind of ['int8', 'f32']) {
    const start = performance.now();
    const index = await model.openIndex(`bench-${kind}`, { storage });
    out[kind] = { openMs: performance.now() - start, size: index.size };
    await index.clear();
    await index.close();
  }
  await model.dispose();
  return out;
}, storage);
await harness.close();

const fmt = (ms) => `${ms.toFixed(2)} ms`;
console.log(`search index, ${chunks} chunks × 384, ${queries} queries, headless Chromium, 1 thread, stored in ${storage}`);
console.log(`plain JS f32 loop + sort (scan and top-10): ${fmt(built.plainMs)} median`);
for (const kind of ['int8', 'f32']) {
  const r = built[kind];
  console.log(
    `webembed ${kind}: scan+top-10 ${fmt(r.scanMs)} median (${(built.plainMs / r.scanMs).toFixed(1)}× the plain loop); ` +
      `search(vector) ${fmt(r.byVectorMs)} (the scan, then for int8 the ${10 + 16} best rescored with their exact vectors from ${storage}); ` +
      `whole search() with MiniLM q8 query embedding: semantic ${fmt(r.wholeMs)}, hybrid ${fmt(r.hybridMs)}; keyword search (3 words) ${fmt(r.keywordMs)}; ` +
      `recall@10 vs exact f32 ${r.recall.near.toFixed(4)} ` +
      `(queries about stored topics; ${r.recall.unrelated.toFixed(4)} for queries about nothing stored); ` +
      `vectors ${(r.vectorBytes / 2 ** 20).toFixed(1)} MiB, keyword postings ${(r.keywordBytes / 2 ** 20).toFixed(1)} MiB; add ${(r.addMs / 1000).toFixed(1)} s; ` +
      `open from ${storage} after reload ${fmt(reopened[kind].openMs)} (${reopened[kind].size} documents)`,
  );
}
if (addCost) {
  console.log(`adding ${addCost.chunks} chunks of the corpus's passages (MiniLM q8, embedding included): ${(addCost.addMs / 1000).toFixed(2)} s, ` +
    `of which the keyword side ${fmt(addCost.keywordMs)}: ${((addCost.keywordMs / (addCost.addMs - addCost.keywordMs)) * 100).toFixed(2)}% more than without it`);
}
