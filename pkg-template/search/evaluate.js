// Retrieval quality of a model on a labelled set, as sentence-transformers'
// InformationRetrievalEvaluator measures it: queries and corpus embedded, every corpus text
// ranked by cosine for each query, then accuracy, precision, recall, MRR, nDCG and MAP at each
// cutoff (the arithmetic lives in crate/src/search/metrics.rs).

import { asWebembedError, WebembedError } from '../core/errors.js';
import { newInstance, pickSimd } from '../engine/instance.js';

/**
 * `data`: { queries: { qid: text }, corpus: { cid: text }, relevant: { qid: [cid, …] } } (the
 * evaluator's dictionaries; a Set or array of ids per query). Options: k (a cutoff or a list;
 * default [1, 3, 5, 10]), queryPrompt, corpusPrompt, batchSize. Resolves to { accuracy,
 * precision, recall, mrr, ndcg, map } (each { [k]: value }) and queries (how many counted).
 *
 * With `mode` ('hybrid' | 'semantic' | 'keyword'), the corpus goes into a search index in memory
 * (chunked, as `openIndex` does; `index` options such as language pass through) and each query is
 * an `index.search(query, { mode, fusion, rerank, candidates })`: what an application's search
 * would return (`rerank` alone means hybrid). Without
 * it, every corpus text is ranked by the cosine of its whole embedding, as the evaluator does.
 */
export async function evaluate(model, data, options = {}) {
  try {
    const { queries, corpus, relevant } = checkData(data);
    const cutoffs = checkCutoffs(options?.k ?? [1, 3, 5, 10]);
    const { queryPrompt, corpusPrompt, batchSize, rerank } = options ?? {};
    const mode = options?.mode ?? (rerank ? 'hybrid' : undefined);
    // As the evaluator: queries without a relevant document are left out.
    const queryIds = Object.keys(queries).filter((qid) => (relevant.get(qid)?.size ?? 0) > 0);
    const corpusIds = Object.keys(corpus);
    if (mode !== undefined) {
      const ranked = await rankWithIndex(model, { queries, corpus, relevant, queryIds, corpusIds }, Math.max(...cutoffs), { ...options, mode });
      const glue = await newInstance(pickSimd('auto'), null);
      return JSON.parse(glue.irMetrics(JSON.stringify(ranked), Uint32Array.from(cutoffs)));
    }
    const encode = (texts, prompt) => model.encode(texts, { ...(prompt === undefined ? {} : { prompt }), ...(batchSize ? { batchSize } : {}) });
    const corpusVectors = normalized(await encode(corpusIds.map((id) => corpus[id]), corpusPrompt));
    const queryVectors = normalized(await encode(queryIds.map((id) => queries[id]), queryPrompt));
    const deepest = Math.min(Math.max(...cutoffs), corpusIds.length);
    const ranked = queryIds.map((qid, q) => ({
      retrieved: topIds(queryVectors[q], corpusVectors, corpusIds, deepest),
      relevant: [...relevant.get(qid)],
    }));
    const glue = await newInstance(pickSimd('auto'), null);
    const metrics = JSON.parse(glue.irMetrics(JSON.stringify(ranked), Uint32Array.from(cutoffs)));
    return metrics;
  } catch (error) {
    throw asWebembedError(error);
  }
}

let evaluations = 0;

/** Each query's ranking by a search index of the corpus (memory storage, dropped afterwards). */
async function rankWithIndex(model, { queries, corpus, relevant, queryIds, corpusIds }, deepest, options) {
  const { mode, fusion, rerank, candidates, index: indexOptions, queryPrompt, corpusPrompt, batchSize } = options;
  const index = await model.openIndex(`webembed-evaluate-${++evaluations}-${Date.now()}`, {
    ...indexOptions,
    storage: 'memory',
    ...(queryPrompt === undefined ? {} : { queryPrompt }),
    ...(corpusPrompt === undefined ? {} : { documentPrompt: corpusPrompt }),
  });
  try {
    await index.add(corpusIds.map((id) => ({ id, text: corpus[id] })), batchSize ? { batchSize } : {});
    const k = Math.min(deepest, corpusIds.length);
    const ranked = [];
    for (const qid of queryIds) {
      const hits = await index.search(queries[qid], { k, mode, ...(fusion ? { fusion } : {}), ...(rerank ? { rerank, candidates } : {}) });
      ranked.push({ retrieved: hits.map((hit) => hit.id), relevant: [...relevant.get(qid)] });
    }
    return ranked;
  } finally {
    await index.clear();
    await index.close();
  }
}

function checkData(data) {
  const { queries, corpus, relevant } = data ?? {};
  for (const [name, value] of Object.entries({ queries, corpus, relevant })) {
    if (!value || typeof value !== 'object') throw new WebembedError('E_INPUT', `evaluate(): data.${name} must be an object keyed by id`);
  }
  for (const [name, value] of Object.entries({ queries, corpus })) {
    for (const [id, text] of Object.entries(value)) {
      if (typeof text !== 'string') throw new WebembedError('E_INPUT', `evaluate(): data.${name}[${JSON.stringify(id)}] must be a string`);
    }
  }
  const sets = new Map();
  for (const [qid, ids] of Object.entries(relevant)) {
    const list = ids instanceof Set ? [...ids] : ids;
    if (!Array.isArray(list) || list.some((id) => typeof id !== 'string')) {
      throw new WebembedError('E_INPUT', `evaluate(): data.relevant[${JSON.stringify(qid)}] must be an array or Set of corpus ids`);
    }
    sets.set(qid, new Set(list));
  }
  return { queries, corpus, relevant: sets };
}

function checkCutoffs(k) {
  const list = Array.isArray(k) ? k : [k];
  if (list.length === 0 || list.some((v) => !Number.isInteger(v) || v < 1 || v > 10_000)) {
    throw new WebembedError('E_INPUT', `evaluate(): k must be an integer from 1 to 10000 or a list of them; got ${JSON.stringify(k)}`);
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

function normalized(vectors) {
  return vectors.map((v) => {
    let sum = 0;
    for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
    const scale = 1 / Math.max(Math.sqrt(sum), 1e-12);
    return v.map((x) => x * scale);
  });
}

/** The `count` best corpus ids for one query, best first (ties: the earlier corpus entry). */
function topIds(query, corpusVectors, corpusIds, count) {
  const scores = corpusVectors.map((vector, index) => {
    let dot = 0;
    for (let i = 0; i < vector.length; i++) dot += vector[i] * query[i];
    return { index, dot };
  });
  scores.sort((a, b) => b.dot - a.dot || a.index - b.index);
  return scores.slice(0, count).map((s) => corpusIds[s.index]);
}
