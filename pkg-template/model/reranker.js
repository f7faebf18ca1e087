// Cross-encoder rerankers: a query and a passage read together, scored as sentence-transformers'
// CrossEncoder scores them. Loaded with the Embedder's machinery (page, worker, pool, Node; cache,
// dtype, backend, integrity, progress), so every option and recovery path is the same.

import { WebembedError } from '../core/errors.js';
import { checkBatchSize, maxTextUnits, normalizeTexts } from '../core/input.js';
import { Embedder } from './embedder.js';

const CONSTRUCT = Symbol('construct');

export class Reranker {
  #model;

  /**
   * Loads a CrossEncoder folder (URL or Hugging Face id): the Hugging Face layout
   * (BertForSequenceClassification / XLMRobertaForSequenceClassification) or
   * sentence-transformers 6's modular one. Options: those of Embedder.load.
   */
  static async load(source, options = {}) {
    const model = await Embedder.load(source, { ...(options ?? {}), _reranker: true });
    return new Reranker(CONSTRUCT, model);
  }

  constructor(secret, model) {
    if (secret !== CONSTRUCT) throw new TypeError('use Reranker.load(source, options)');
    this.#model = model;
    /** Scores per pair: 1 for most rerankers (score returns numbers), more for multi-label heads (arrays). */
    this.numLabels = model._numLabels;
    /** Tokens a pair is truncated to (longest side first), special tokens included. */
    this.maxSeqLength = model.maxSeqLength;
  }

  get backend() {
    return this.#model.backend;
  }

  get dtype() {
    return this.#model.dtype;
  }

  get url() {
    return this.#model.url;
  }

  get threads() {
    return this.#model.threads;
  }

  get webgpuUnavailableReason() {
    return this.#model.webgpuUnavailableReason;
  }

  /**
   * What CrossEncoder.predict returns for `pairs` ([[query, passage], …]): one number per pair
   * for one label (the folder's activation applied, else sigmoid), an array of numbers per pair
   * for several. Options: batchSize (default 32).
   */
  async score(pairs, options = {}) {
    const [firsts, seconds] = checkPairs(pairs, this.maxSeqLength);
    const batchSize = checkBatchSize(options?.batchSize);
    if (firsts.length === 0) return [];
    const flat = await this.#model._scorePairs(firsts, seconds, batchSize);
    const labels = this.numLabels;
    if (labels === 1) return Array.from(flat);
    return Array.from({ length: firsts.length }, (_, i) => Array.from(flat.subarray(i * labels, (i + 1) * labels)));
  }

  /**
   * CrossEncoder.rank: `documents` scored against `query`, best first: `[{ index, score }]`
   * (`text` too with returnDocuments). Options: k (all when left out), batchSize. One-label models only.
   */
  async rank(query, documents, options = {}) {
    if (this.numLabels !== 1) {
      throw new WebembedError('E_INPUT', `rank() needs a one-label reranker; this one gives ${this.numLabels} scores per pair (use score())`);
    }
    if (typeof query !== 'string') throw new WebembedError('E_INPUT', 'rank() takes a query string');
    if (!Array.isArray(documents)) throw new WebembedError('E_INPUT', 'rank() takes an array of document strings');
    const { k = documents.length, returnDocuments = false, batchSize } = options ?? {};
    if (!Number.isInteger(k) || k < 0) throw new WebembedError('E_INPUT', `k must be a non-negative integer; got ${k}`);
    const scores = await this.score(
      documents.map((doc) => [query, doc]),
      { batchSize },
    );
    // Ties keep the documents' order (a stable sort), as argsort of the negated scores does.
    const ranked = scores.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score);
    return ranked.slice(0, k).map((hit) => (returnDocuments ? { ...hit, text: documents[hit.index] } : hit));
  }

  /** Frees the model; the object cannot be used afterwards. */
  async dispose() {
    await this.#model.dispose();
  }
}

/** `pairs` → [firsts, seconds], each text a well-formed string cut as encode() cuts texts. */
function checkPairs(pairs, maxSeqLength) {
  if (!Array.isArray(pairs)) throw new WebembedError('E_INPUT', 'score() takes an array of [query, passage] pairs');
  const firsts = new Array(pairs.length);
  const seconds = new Array(pairs.length);
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new WebembedError('E_INPUT', `pairs[${i}] must be a [query, passage] array of two strings`);
    }
    [firsts[i], seconds[i]] = pair;
  }
  const units = maxTextUnits(maxSeqLength);
  const side = (texts, j) => normalizeTexts(texts, units, { call: 'score()', item: (i) => `pairs[${i}][${j}]` });
  return [side(firsts, 0), side(seconds, 1)];
}
