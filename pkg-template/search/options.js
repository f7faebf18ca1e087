// What a search takes, shared by the browser index (search-index.js) and the shipped one
// (shipped-index.js): the options' checks, hybrid's default fusion, the caller's filter, and
// reranking of the fused candidates.

import { WebembedError } from '../core/errors.js';

const MODES = ['hybrid', 'semantic', 'keyword'];

/**
 * Hybrid's fusion when none is asked: the cosine and the keyword side's share of the query
 * (BM25 over the query's bound, see crate/src/search/fusion.rs) mixed, the cosine weighing 0.85
 * for a query of several words (a question: meaning decides, the words break ties) and 0.3 for
 * one word or identifier (`os.path.realpath`: the exact term decides). Chosen on the development
 * halves of seven corpora (bench/search-quality: Python's docs as HTML and as reStructuredText,
 * PostgreSQL's and Debian's manuals, Markdown READMEs, small sets of sentences): hybrid at least
 * semantic − 0.004 on every one and +0.13 to +0.16 on the docs; on the held-out halves +0.10 to
 * +0.17 on the docs and within 0.004 of semantic elsewhere. Reciprocal rank fusion stays one
 * option away (`fusion: { method: 'rrf' }`), as do other weights.
 */
export function defaultFusion(query) {
  return { method: 'weighted', weight: /\s/.test(query.trim()) ? 0.85 : 0.3 };
}

/**
 * BM25's constants for a new index. b is 0.5, not the usual 0.75: chunks are already cut to at
 * most the model's window, so their lengths vary less than whole documents', and lengths
 * normalized less found more on the development sets (bench/search-quality: the reST sources'
 * identifiers 0.90 → 0.91, HTML questions +0.01, none worse by more than 0.003).
 */
export const BM25_DEFAULTS = { k1: 1.2, b: 0.5 };

/**
 * The keyword side's language when an index names none: English stemming and stopwords for an
 * English model, and for a multilingual one (`model.multilingual`: a vocabulary of 100 000
 * tokens or more, or one of many scripts) 'auto': each text's stopwords by its own language, no
 * stemming (a query's few words cannot be trusted to name its language, and a stem of the wrong
 * language would miss its documents).
 */
export function defaultLanguage(model) {
  return model?.multilingual ? 'auto' : 'english';
}

/** Documents a reranked search rescores when `candidates` is left out. */
const RERANK_CANDIDATES = 50;

export function rerankCandidates(candidates) {
  return candidates ?? RERANK_CANDIDATES;
}

/** `hits` rescored by `reranker` against their chunk's text, best first, the first `k`. */
export async function rerankHits(reranker, query, hits, k) {
  const scores = await reranker.score(hits.map((hit) => [query, hit.text]));
  const rescored = hits.map((hit, i) => ({ ...hit, score: scores[i], rerankScore: scores[i] }));
  // Ties keep the fused order (a stable sort).
  return rescored.sort((a, b) => b.score - a.score).slice(0, k);
}

/** The keys each fusion method takes. */
const FUSION_KEYS = { rrf: ['method'], weighted: ['method', 'weight'] };

export function checkSearchOptions(options, textQuery) {
  const { k = 10, filter, mode = textQuery ? 'hybrid' : 'semantic', fusion, candidates, rerank } = options ?? {};
  if (rerank !== undefined && rerank !== null) {
    if (typeof rerank?.score !== 'function' || rerank.numLabels !== 1) {
      throw new WebembedError('E_INPUT', 'rerank must be a one-label Reranker (Reranker.load of a CrossEncoder folder)');
    }
    if (!textQuery) throw new WebembedError('E_INPUT', "rerank needs the query's text; a query vector cannot be reranked");
  }
  if (!Number.isInteger(k) || k < 1 || k > 10_000) throw new WebembedError('E_INPUT', `k must be an integer from 1 to 10000; got ${k}`);
  if (filter !== undefined && typeof filter !== 'function') throw new WebembedError('E_INPUT', 'filter must be a function (metadata, id) → boolean');
  if (!MODES.includes(mode)) throw new WebembedError('E_INPUT', `mode must be 'hybrid', 'semantic' or 'keyword'; got ${JSON.stringify(mode)}`);
  if (!textQuery && mode !== 'semantic') throw new WebembedError('E_INPUT', `a query vector can only be searched semantically; mode ${JSON.stringify(mode)} needs the query's text`);
  if (candidates !== undefined && !(Number.isInteger(candidates) && candidates >= 1 && candidates <= 10_000)) {
    throw new WebembedError('E_INPUT', `candidates must be an integer from 1 to 10000; got ${candidates}`);
  }
  if (fusion === undefined || fusion === null) return { k, filter, mode, fusion: null, candidates, rerank: rerank ?? undefined };
  const method = fusion?.method ?? 'rrf';
  const weight = fusion?.weight ?? 0.5;
  if (fusion !== undefined && (typeof fusion !== 'object' || fusion === null)) throw new WebembedError('E_INPUT', "fusion must be { method: 'rrf' } or { method: 'weighted', weight }");
  // A key this version does not read (a misspelt `weight`, RRF's `k`) is refused, not ignored.
  const unknown = Object.keys(fusion).filter((key) => !FUSION_KEYS[method]?.includes(key));
  if (unknown.length > 0) throw new WebembedError('E_INPUT', `fusion has ${unknown.map((k) => JSON.stringify(k)).join(', ')}, which ${JSON.stringify(method)} fusion does not take (it takes ${FUSION_KEYS[method]?.join(', ') ?? 'method'})`);
  if (method !== 'rrf' && method !== 'weighted') throw new WebembedError('E_INPUT', `fusion.method must be 'rrf' or 'weighted'; got ${JSON.stringify(method)}`);
  if (!(typeof weight === 'number' && weight >= 0 && weight <= 1)) throw new WebembedError('E_INPUT', `fusion.weight must be a number from 0 to 1 (the semantic side's share); got ${weight}`);
  return { k, filter, mode, fusion: { method, weight }, candidates, rerank: rerank ?? undefined };
}

/** The caller's filter; what it throws is theirs to see (E_INPUT with it as `cause`), not a webembed bug. */
export function callFilter(filter, metadata, id) {
  try {
    return filter(metadata, id);
  } catch (error) {
    throw new WebembedError('E_INPUT', `filter threw for document ${JSON.stringify(id)}: ${error?.message ?? error}`, { cause: error });
  }
}
