// A persistent semantic index over one model: documents in, ranked documents out. Long documents
// are cut into chunks that fit the model (model.chunks), each chunk embedded with the model's
// passage prompt, and a document scores by its best chunk. The vectors live in wasm
// (crate/src/search: int8 with one scale per vector, or f32, scanned exactly); ids, texts and
// metadata live here; everything is kept in IndexedDB (index-storage.js), one transaction per
// change, and changes reach memory only once stored.
//
// An int8 index also stores each document's vectors at 16 bits, on disk only: a search reads
// those of its best `k + RESCORE_EXTRA` int8 candidates and ranks them by the exact score. int8
// alone is 1e-4 off a cosine, more than the gap between neighbours in a dense corpus (recall@10
// against exact f32 search 0.98 on 100 000 clustered vectors; rescored, 1.0), and keeping 16-bit
// vectors in memory would cost 3× the int8 ones.

import { asWebembedError, WebembedError } from '../core/errors.js';
import { decodeRecord, encodeRecord, openStorage, takeSegment } from './storage.js';
import { newInstance, pickSimd } from '../engine/instance.js';
import { checkRecords, MAX_TITLE_UNITS } from './records.js';
import { DEFAULT_OVERLAP_TOKENS, defaultChunkTokens, spansFromFlat } from '../core/input.js';
import { BM25_DEFAULTS, callFilter, checkSearchOptions, defaultFusion, defaultLanguage, rerankCandidates, rerankHits } from './options.js';
import { concat, quantizeRows } from './rows.js';

/** Version of what an index stores (meta and segments) and exports: 2 added documents' titles. */
const FORMAT = 2;
/** Formats this version reads (a format 1 index is a format 2 one whose documents have no title). */
const READABLE_FORMATS = [1, 2];

/** Documents per stored segment: a change rewrites the segments it touches, no more. */
const SEGMENT_DOCUMENTS = 512;
/** Chunks embedded per step of add(), between progress events. */
const CHUNKS_PER_STEP = 64;
const EXPORT_MAGIC = 'WEBEMBEDINDEX';
/** int8 candidates rescored beyond k: int8's error moves a document past at most a few neighbours. */
const RESCORE_EXTRA = 16;
/** Documents each side hands hybrid fusion at least (k more when larger). */
const FUSION_DEPTH = 50;
/** What an index stored before it recorded its keyword settings was made with. */
const KEYWORD_DEFAULTS_BEFORE = { language: null, k1: 1.2, b: 0.75 };
/** Largest |value| of a 16-bit exact vector. */
const EXACT_LEVELS = 32767;

/** What an index records of the model that made its vectors: another model would give wrong results. */
function describeModel(model, { queryPrompt, documentPrompt }) {
  const prompts = model.prompts ?? {};
  return {
    url: model.url,
    dtype: model.dtype,
    dimension: model.dimension,
    queryPrompt: queryPrompt ?? prompts.query ?? '',
    documentPrompt: documentPrompt ?? prompts.passage ?? prompts.document ?? '',
  };
}

function checkSameModel(stored, current, name) {
  const differences = Object.keys(current)
    .filter((key) => stored[key] !== current[key])
    .map((key) => `${key} ${JSON.stringify(stored[key])} (stored) ≠ ${JSON.stringify(current[key])} (this model)`);
  if (differences.length > 0) {
    throw new WebembedError('E_INDEX', `index ${JSON.stringify(name)} was built with another model: ${differences.join('; ')}. Open it with that model, or delete it (index.clear()) and add the documents again`);
  }
}

function checkName(name) {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw new WebembedError('E_INPUT', `an index name must be a non-empty string of at most 256 characters; got ${typeof name === 'string' ? JSON.stringify(name) : typeof name}`);
  }
}

/**
 * Options: vectors ('int8' | 'f32', default 'int8'), storage ('auto' | 'indexeddb' | 'memory'),
 * chunkTokens (default the model's maxSeqLength, at most 512), overlapTokens (default 32), queryPrompt and
 * documentPrompt (default the model's 'query' and 'passage'/'document' prompts), and the keyword
 * side's language (a Snowball language's stemmer and stopwords, 'auto' for each text's own
 * language's stopwords, or null for neither; default by the model, see `defaultLanguage`), k1 and
 * b (BM25; 1.2 and 0.5, see `BM25_DEFAULTS`). A stored index keeps the settings it was made with; asking for others
 * is E_INDEX.
 */
export async function openIndex(model, name, options = {}) {
  try {
    checkName(name);
    const storage = openStorage(options?.storage ?? 'auto');
    const stored = await storage.load(name);
    const settings = checkSettings(model, options ?? {}, stored?.meta);
    const index = new SearchIndex(CONSTRUCT, model, name, storage, await newStore(settings));
    await index._restore(stored);
    return index;
  } catch (error) {
    throw asWebembedError(error);
  }
}

/** Stores an exported index (`index.export()`) as `options.name` (default: its own) and opens it. */
export async function importIndex(model, buffer, options = {}) {
  try {
    const { meta, segments, exact } = parseExport(buffer);
    const name = options?.name ?? meta.name;
    checkName(name);
    checkSameModel(meta.model, describeModel(model, meta.model), name);
    const storage = openStorage(options?.storage ?? 'auto');
    await storage.drop(name);
    await storage.commit(name, { meta: { ...meta, name, exact: exact !== null }, put: segments, putExact: exact ?? [] });
    return await openIndex(model, name, { storage: storage.kind });
  } catch (error) {
    throw asWebembedError(error);
  }
}

function checkSettings(model, options, storedMeta) {
  const { vectors, chunkTokens, overlapTokens, queryPrompt, documentPrompt, language, k1, b } = options;
  if (vectors !== undefined && vectors !== 'int8' && vectors !== 'f32') {
    throw new WebembedError('E_INPUT', `vectors must be 'int8' or 'f32'; got ${JSON.stringify(vectors)}`);
  }
  for (const [key, value] of Object.entries({ queryPrompt, documentPrompt })) {
    if (value !== undefined && typeof value !== 'string') throw new WebembedError('E_INPUT', `${key} must be a string`);
  }
  const fresh = {
    format: FORMAT,
    model: describeModel(model, { queryPrompt, documentPrompt }),
    vectors: vectors ?? 'int8',
    // Whether every document has exact vectors stored (indexes from before they existed do not).
    exact: (vectors ?? 'int8') === 'int8',
    chunkTokens: chunkTokens ?? defaultChunkTokens(model.maxSeqLength),
    overlapTokens: overlapTokens ?? Math.min(DEFAULT_OVERLAP_TOKENS, Math.floor((chunkTokens ?? defaultChunkTokens(model.maxSeqLength)) / 2)),
    keywords: checkKeywordOptions({ language: language === undefined ? defaultLanguage(model) : language, k1, b }),
    nextSegment: 0,
  };
  if (!Number.isInteger(fresh.chunkTokens) || fresh.chunkTokens < 16 || fresh.chunkTokens > model.maxSeqLength) {
    throw new WebembedError('E_INPUT', `chunkTokens must be an integer from 16 to the model's maxSeqLength (${model.maxSeqLength}); got ${chunkTokens}`);
  }
  if (!Number.isInteger(fresh.overlapTokens) || fresh.overlapTokens < 0 || fresh.overlapTokens >= fresh.chunkTokens) {
    throw new WebembedError('E_INPUT', `overlapTokens must be an integer from 0 to chunkTokens - 1; got ${overlapTokens}`);
  }
  if (!storedMeta) return fresh;
  if (!READABLE_FORMATS.includes(storedMeta.format)) {
    throw new WebembedError('E_INDEX', `the stored index is format ${storedMeta.format}; this version of webembed reads formats ${READABLE_FORMATS.join(' and ')}`);
  }
  // Prompts are the index's own settings: compared only when asked for.
  const current = { ...fresh.model };
  if (queryPrompt === undefined) current.queryPrompt = storedMeta.model.queryPrompt;
  if (documentPrompt === undefined) current.documentPrompt = storedMeta.model.documentPrompt;
  checkSameModel(storedMeta.model, current, storedMeta.name);
  for (const key of ['vectors', 'chunkTokens', 'overlapTokens']) {
    if (options[key] !== undefined && options[key] !== storedMeta[key]) {
      throw new WebembedError('E_INDEX', `index ${JSON.stringify(storedMeta.name)} was made with ${key} ${storedMeta[key]}; asked for ${options[key]}`);
    }
  }
  // Indexes from before the keyword side have its defaults (their postings are made from their texts).
  const keywords = { ...KEYWORD_DEFAULTS_BEFORE, ...storedMeta.keywords };
  for (const key of ['language', 'k1', 'b']) {
    if (options[key] !== undefined && options[key] !== keywords[key]) {
      throw new WebembedError('E_INDEX', `index ${JSON.stringify(storedMeta.name)} was made with ${key} ${JSON.stringify(keywords[key])}; asked for ${JSON.stringify(options[key])}`);
    }
  }
  // Written back as this format from the next change on (what format 1 holds, format 2 reads).
  return { ...storedMeta, format: FORMAT, keywords };
}

function checkKeywordOptions({ language, k1, b }) {
  if (language !== undefined && language !== null && typeof language !== 'string') throw new WebembedError('E_INPUT', 'language must be a language name (e.g. \'english\') or null');
  for (const [key, value, max] of [['k1', k1, 10], ['b', b, 1]]) {
    if (value !== undefined && !(typeof value === 'number' && value >= 0 && value <= max)) throw new WebembedError('E_INPUT', `${key} must be a number from 0 to ${max}; got ${value}`);
  }
  return { language, k1: k1 ?? BM25_DEFAULTS.k1, b: b ?? BM25_DEFAULTS.b };
}

async function newStore(settings) {
  // Its own small instance: the vectors' memory is not the model's, and survives a model crash.
  const glue = await newInstance(pickSimd('auto'), null);
  const { language, k1, b } = settings.keywords;
  return { glue, vectors: new glue.SearchStore(settings.model.dimension, settings.vectors, language ?? undefined, k1, b), settings };
}

export class SearchIndex {
  #model;
  #name;
  #storage;
  #glue;
  #vectors;
  #meta;
  /** id → { slot, segment, text, title, metadata, spans: Uint32Array } */
  #documents = new Map();
  /** slot → id */
  #slotIds = [];
  /** segment key → Set of ids */
  #segments = new Map();
  // Calls take effect in the order they were made: each waits for the one before it to finish
  // (a search made after an add sees it). Embedding runs before a call waits, so it overlaps.
  #tail = Promise.resolve();
  #closed = false;

  constructor(secret, model, name, storage, { glue, vectors, settings }) {
    if (secret !== CONSTRUCT) throw new TypeError('use model.openIndex(name)');
    this.#model = model;
    this.#name = name;
    this.#storage = storage;
    this.#glue = glue;
    this.#vectors = vectors;
    this.#meta = { ...settings, name };
  }

  get name() {
    return this.#name;
  }

  /** Documents stored. */
  get size() {
    return this.#documents.size;
  }

  /** Chunks stored (each one vector). */
  get chunkCount() {
    return this.#vectors?.chunks ?? 0;
  }

  /** Bytes of wasm memory the vectors take. */
  get vectorBytes() {
    return this.#vectors?.vectorBytes ?? 0;
  }

  /** Bytes of wasm memory the keyword postings take. */
  get keywordBytes() {
    return this.#vectors?.keywordBytes ?? 0;
  }

  /** 'indexeddb' or 'memory'. */
  get storage() {
    return this.#storage.kind;
  }

  /** How this index chunks and stores: { vectors, chunkTokens, overlapTokens, keywords: { language, k1, b }, model }. */
  get settings() {
    const { vectors, chunkTokens, overlapTokens, keywords, model } = this.#meta;
    return { vectors, chunkTokens, overlapTokens, keywords: { ...keywords }, model: { ...model } };
  }

  has(id) {
    return this.#documents.has(id);
  }

  /** The stored ids, oldest first. */
  ids() {
    return [...this.#documents.keys()];
  }

  /** A stored document: { id, text, title, metadata, chunks: [{ start, end }] }, or undefined. */
  get(id) {
    const doc = this.#documents.get(id);
    return doc && { id, text: doc.text, title: doc.title, metadata: doc.metadata, chunks: spansFromFlat(doc.spans) };
  }

  /**
   * Adds documents `[{ id, text, title?, metadata? }]`; an id already stored is replaced.
   * `title`: what names the document rather than what it says (a page's title, its heading
   * chain, its path: `'binascii — Convert between binary and ASCII › Functions · library/binascii'`),
   * a field the keyword side weighs beside the best chunk of the text (not embedded). Resolves
   * once they are stored; a call cut short stores none of its documents. `onProgress({
   * documents, chunks, totalChunks })` reports embedding progress.
   */
  async add(documents, { onProgress, batchSize = 32 } = {}) {
    this.#refuseIfClosed();
    const batch = checkDocuments(documents);
    const { chunkTokens, overlapTokens, model: { documentPrompt } } = this.#meta;
    // Chunk, then embed every chunk: the slow part, done before this call waits for its turn.
    const embed = async () => {
      const chunked = [];
      for (const doc of batch) {
        const spans = await this.#model.chunks(doc.text, { prompt: documentPrompt, maxTokens: chunkTokens, overlapTokens });
        chunked.push({ ...doc, spans: spans.length > 0 ? spans : [{ start: 0, end: doc.text.length }] });
      }
      const texts = chunked.flatMap((doc) => doc.spans.map(({ start, end }) => doc.text.slice(start, end)));
      const vectors = [];
      for (let start = 0; start < texts.length; start += CHUNKS_PER_STEP) {
        vectors.push(...(await this.#model.encode(texts.slice(start, start + CHUNKS_PER_STEP), { prompt: documentPrompt, batchSize })));
        onProgress?.({ chunks: vectors.length, totalChunks: texts.length, documents: batch.length });
      }
      return { chunked, vectors };
    };
    await this.#inOrder(embed, ({ chunked, vectors }) => (chunked.length > 0 ? this.#commitAdd(chunked, vectors) : undefined));
  }

  /**
   * Bench hook: adds one-chunk documents `[{ id, text }]` with their vectors as given (one per
   * document, `dimension` floats each in `vectors`), skipping chunking and the model.
   */
  async _addEmbeddedForBench(documents, vectors) {
    const batch = checkDocuments(documents);
    const dimension = this.#meta.model.dimension;
    const rows = batch.map((_, i) => vectors.subarray(i * dimension, (i + 1) * dimension));
    await this.#inOrder(null, () => this.#commitAdd(batch.map((doc) => ({ ...doc, spans: [{ start: 0, end: doc.text.length }] })), rows));
  }

  /** Bench hook: the most a chunk's BM25 can be for `query` (what fusion divides by). */
  _keywordBoundForBench(query) {
    return this.#vectors.keywordBound(query);
  }

  /** Bench hook: titles weighed by `weight` on the keyword side. */
  _setTitleWeightForBench(weight) {
    this.#vectors.setTitleWeightForBench(weight);
  }

  /** Bench hook: the wasm scan and top-k alone (no rescoring, no storage), for timing. */
  _scanForBench(vector, k) {
    return this.#vectors.search(vector, k, undefined);
  }

  /** Removes documents by id (unknown ids are ignored); resolves to how many were removed. */
  async remove(ids) {
    this.#refuseIfClosed();
    const list = typeof ids === 'string' ? [ids] : ids;
    if (!Array.isArray(list) || list.some((id) => typeof id !== 'string')) {
      throw new WebembedError('E_INPUT', 'remove() takes an id or an array of ids (strings)');
    }
    return this.#inOrder(null, async () => {
      const gone = [...new Set(list)].filter((id) => this.#documents.has(id));
      if (gone.length === 0) return 0;
      const { put, remove } = this.#rewrites(new Set(gone));
      await this.#storage.commit(this.#name, { meta: this.#meta, put, remove, removeExact: gone });
      for (const id of gone) this.#forget(id);
      this.#applySegments(put, remove);
      return gone.length;
    });
  }

  /**
   * The `k` best documents for `query` (a string, or a vector for semantic search), best first,
   * one per document: `[{ id, score, chunk: { index, start, end }, text, metadata,
   * semanticScore, keywordScore, highlights: [{ start, end }] }]`, `text` its best chunk and
   * `highlights` the query's terms in it. `mode`: 'hybrid' (default; both sides' scores mixed
   * by the query's shape, see `defaultFusion`, or `fusion: { method: 'rrf' }` or `{ method:
   * 'weighted', weight }`), 'semantic' or 'keyword'.
   * `filter(metadata, id)` keeps a document when true. `rerank`: a one-label Reranker that
   * rescores the `candidates` (default 50) best documents by their best chunk; each hit then
   * has `rerankScore`, which is also its `score`.
   */
  async search(query, options = {}) {
    this.#refuseIfClosed();
    const { k, filter, mode, fusion, candidates, rerank } = checkSearchOptions(options, typeof query === 'string');
    if (rerank) {
      const found = await this.search(query, { ...options, rerank: undefined, k: Math.max(k, rerankCandidates(candidates)) });
      return rerankHits(rerank, query, found, k);
    }
    let embed;
    if (typeof query === 'string') {
      embed = mode === 'keyword' ? () => null : async () => (await this.#model.encode([query], { prompt: this.#meta.model.queryPrompt }))[0];
    } else if (query instanceof Float32Array || Array.isArray(query)) {
      const vector = Float32Array.from(query);
      embed = () => vector;
    } else {
      throw new WebembedError('E_INPUT', 'search() takes a query string or a query vector');
    }
    const text = typeof query === 'string' ? query : null;
    const fused = fusion ?? defaultFusion(text ?? '');
    return this.#inOrder(embed, (vector) => this.#rank({ text, vector, k, filter, mode, fusion: fused, candidates }));
  }

  /** The whole index as one ArrayBuffer, for `model.importIndex(buffer)`. */
  async export() {
    this.#refuseIfClosed();
    return this.#inOrder(null, async () => {
      const segments = [...this.#segments.keys()].map((key) => this.#segmentRecord(key, this.#segments.get(key)));
      const exact = this.#meta.exact ? await this.#storage.exactVectors(this.#name, segments.flatMap((s) => s.docs.map((d) => d.id))) : [];
      return buildExport(this.#meta, segments, exact.every(Boolean) ? exact : []);
    });
  }

  /** Removes every document, here and in storage. */
  async clear() {
    this.#refuseIfClosed();
    return this.#inOrder(null, async () => {
      await this.#storage.drop(this.#name);
      for (const id of [...this.#documents.keys()]) this.#forget(id);
      this.#segments.clear();
      this.#meta = { ...this.#meta, nextSegment: 0 };
    });
  }

  /** Frees the vectors' memory; the stored index stays (open it again to use it). */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    this.#vectors?.free();
    this.#vectors = null;
    this.#glue = null;
  }

  /** Loads what storage holds (called once, by openIndex). */
  async _restore(stored) {
    if (!stored) return;
    const segments = checkRecords(stored.meta, stored.segments, `stored index ${JSON.stringify(this.#name)} (${this.#storage.kind})`).sort((a, b) => a.key - b.key);
    this.#vectors.reserve(segments.reduce((rows, segment) => rows + segment.rowCounts.reduce((a, b) => a + b, 0), 0));
    for (const segment of segments) {
      let slots;
      try {
        // The keyword postings are made from the stored chunk texts, so they always match them.
        const chunkTexts = segment.docs.flatMap((doc) => chunkTextsOf(doc.text, doc.spans));
        const titles = segment.docs.map((doc) => doc.title ?? '');
        slots = this.#vectors.addStored(segment.values ?? new Int8Array(0), segment.scales ?? new Float32Array(0), segment.floats ?? new Float32Array(0), segment.rowCounts, chunkTexts, titles);
      } catch (error) {
        throw new WebembedError('E_INDEX', `stored index ${JSON.stringify(this.#name)}: segment ${segment.key}'s vectors: ${error?.message ?? error}`, { cause: error });
      }
      const ids = new Set();
      segment.docs.forEach((doc, i) => {
        // A later segment's copy wins (none should exist: every change rewrites the older one).
        if (this.#documents.has(doc.id)) this.#forget(doc.id);
        this.#remember(doc.id, { slot: slots[i], segment: segment.key, text: doc.text, title: doc.title ?? null, metadata: doc.metadata, spans: doc.spans });
        ids.add(doc.id);
      });
      this.#segments.set(segment.key, ids);
    }
  }

  async #commitAdd(chunked, vectors) {
    const added = [];
    try {
      let row = 0;
      for (const doc of chunked) {
        const flat = new Float32Array(doc.spans.length * this.#meta.model.dimension);
        doc.spans.forEach((_, i) => flat.set(vectors[row + i], i * this.#meta.model.dimension));
        row += doc.spans.length;
        const texts = doc.spans.map(({ start, end }) => doc.text.slice(start, end));
        added.push({ doc, slot: this.#vectors.add(flat, texts, doc.title ?? undefined), exact: this.#meta.exact ? exactRecord(doc.id, flat, this.#meta.model.dimension) : null });
      }
      const replaced = new Set(chunked.map((doc) => doc.id).filter((id) => this.#documents.has(id)));
      const { put, remove } = this.#rewrites(replaced);
      let nextSegment = this.#meta.nextSegment;
      const fresh = [];
      for (let start = 0; start < added.length; start += SEGMENT_DOCUMENTS) {
        fresh.push({ key: nextSegment++, entries: added.slice(start, start + SEGMENT_DOCUMENTS) });
      }
      for (const { entries } of fresh) for (const entry of entries) entry.spans = flatSpans(entry.doc.spans);
      for (const { key, entries } of fresh) put.push(this.#recordOf(key, entries.map(({ doc, slot, spans }) => ({ id: doc.id, text: doc.text, title: doc.title, metadata: doc.metadata, spans, slot }))));
      const meta = { ...this.#meta, nextSegment };
      const putExact = added.flatMap(({ exact }) => (exact ? [exact] : []));
      await this.#storage.commit(this.#name, { meta, put, remove, putExact });
      // Stored: now memory follows.
      this.#meta = meta;
      for (const id of replaced) this.#forget(id);
      this.#applySegments(put, remove);
      for (const { key, entries } of fresh) {
        for (const { doc, slot, spans } of entries) this.#remember(doc.id, { slot, segment: key, text: doc.text, title: doc.title, metadata: doc.metadata, spans });
      }
      added.length = 0;
    } finally {
      // Not stored: the vectors go again.
      for (const { slot } of added) this.#vectors.remove(slot);
    }
  }

  /** The segments that lose `ids`: rewritten without them, or removed when nothing is left. */
  #rewrites(ids) {
    const touched = new Map();
    for (const id of ids) {
      const key = this.#documents.get(id).segment;
      if (!touched.has(key)) touched.set(key, new Set(this.#segments.get(key)));
      touched.get(key).delete(id);
    }
    const put = [];
    const remove = [];
    for (const [key, left] of touched) {
      if (left.size === 0) remove.push(key);
      else put.push(this.#segmentRecord(key, left));
    }
    return { put, remove };
  }

  #applySegments(put, remove) {
    for (const key of remove) this.#segments.delete(key);
    for (const record of put) {
      const ids = new Set(record.docs.map((doc) => doc.id));
      this.#segments.set(record.key, ids);
      for (const id of ids) {
        const doc = this.#documents.get(id);
        if (doc) doc.segment = record.key;
      }
    }
  }

  #segmentRecord(key, ids) {
    return this.#recordOf(key, [...ids].map((id) => ({ id, ...this.#documents.get(id) })));
  }

  /** A stored segment: its documents and their rows, as the vectors' store holds them. */
  #recordOf(key, docs) {
    const values = [];
    const scales = [];
    const floats = [];
    const rowCounts = new Uint32Array(docs.length);
    docs.forEach((doc, i) => {
      rowCounts[i] = doc.spans.length / 2;
      if (this.#meta.vectors === 'int8') {
        values.push(this.#vectors.rowValues(doc.slot));
        scales.push(this.#vectors.rowScales(doc.slot));
      } else {
        floats.push(this.#vectors.rowFloats(doc.slot));
      }
    });
    return {
      key,
      // A document without a title stores none (as format 1 did).
      docs: docs.map(({ id, text, title, metadata, spans }) => (title ? { id, text, title, metadata, spans } : { id, text, metadata, spans })),
      rowCounts,
      values: concat(Int8Array, values),
      scales: concat(Float32Array, scales),
      floats: concat(Float32Array, floats),
    };
  }

  async #rank({ text, vector, k, filter, mode, fusion, candidates }) {
    let allowed;
    if (filter) {
      allowed = new Uint8Array(this.#vectors.slots);
      for (const [id, doc] of this.#documents) if (callFilter(filter, doc.metadata, id)) allowed[doc.slot] = 1;
    }
    const depth = mode === 'hybrid' ? Math.max(k, candidates ?? FUSION_DEPTH) : k;
    const semantic = mode === 'keyword' ? [] : await this.#semanticHits(vector, depth, allowed);
    // One scoring pass ranks by keywords and gives each semantic hit its keyword score.
    let keyword = [];
    const keywordOfSemantic = new Map();
    if (text) {
      const flat = this.#vectors.keywordSearch(text, mode === 'semantic' ? 0 : depth, allowed, Uint32Array.from(semantic.map((hit) => hit.slot)));
      const hits = hitsOf(flat);
      keyword = hits.slice(0, hits.length - semantic.length);
      for (const hit of hits.slice(keyword.length)) keywordOfSemantic.set(hit.slot, hit);
    }
    let ranked;
    if (mode === 'semantic') ranked = semantic.map((hit) => ({ ...hit, semantic: hit }));
    else if (mode === 'keyword') ranked = keyword.map((hit) => ({ ...hit, keyword: hit }));
    else ranked = this.#fuse(vector, text, semantic, keyword, keywordOfSemantic, fusion);
    ranked = ranked.slice(0, k);
    // Each hit says why it was found: the side it lacks is scored for it too.
    for (const hit of ranked) hit.keyword ??= keywordOfSemantic.get(hit.slot);
    if (vector) {
      const unscored = ranked.filter((hit) => !hit.semantic);
      const scored = await this.#semanticScores(vector, unscored.map((hit) => hit.slot));
      unscored.forEach((hit, i) => (hit.semantic = scored[i]));
    }
    return ranked.map((hit) => {
      const id = this.#slotIds[hit.slot];
      const doc = this.#documents.get(id);
      const [start, end] = [doc.spans[2 * hit.index], doc.spans[2 * hit.index + 1]];
      const chunkText = doc.text.slice(start, end);
      return {
        id,
        score: hit.score,
        chunk: { index: hit.index, start, end },
        text: chunkText,
        title: doc.title,
        metadata: doc.metadata,
        semanticScore: hit.semantic?.score ?? null,
        keywordScore: hit.keyword?.score ?? null,
        highlights: text ? spansFromFlat(this.#vectors.highlights(text, chunkText)) : [],
      };
    });
  }

  /** The `depth` best documents by their vectors, ranked by their exact vectors when stored: `[{ slot, index, score }]`. */
  async #semanticHits(vector, depth, allowed) {
    let found = hitsOf(this.#vectors.search(vector, this.#meta.exact ? depth + RESCORE_EXTRA : depth, allowed));
    if (this.#meta.exact && found.length > 0) {
      const records = await this.#storage.exactVectors(this.#name, found.map((hit) => this.#slotIds[hit.slot]));
      found.forEach((hit, i) => records[i] && Object.assign(hit, exactBest(vector, records[i])));
      // Ties go to the lower slot, as in the scan.
      found.sort((a, b) => b.score - a.score || a.slot - b.slot);
      found = found.slice(0, depth);
    }
    return found;
  }

  /** Each of `slots`' best chunk by its exact vectors (those stored, else the index's own): `[{ slot, index, score }]`. */
  async #semanticScores(vector, slots) {
    if (slots.length === 0) return [];
    if (this.#meta.exact) {
      const records = await this.#storage.exactVectors(this.#name, slots.map((slot) => this.#slotIds[slot]));
      if (records.every(Boolean)) return records.map((record, i) => ({ slot: slots[i], ...exactBest(vector, record) }));
    }
    return hitsOf(this.#vectors.scoreSlots(vector, Uint32Array.from(slots)));
  }

  /**
   * Both rankings fused: `[{ slot, index, score, semantic, keyword }]`, best first. Every
   * candidate is scored by both sides first (a keyword hit's cosine from the vectors in memory,
   * a semantic hit's BM25 from the one keyword pass), so fusion weighs what each side thinks of
   * it, not whether it made that side's first 50.
   */
  #fuse(vector, text, semantic, keyword, keywordOfSemantic, { method, weight }) {
    const semanticBySlot = new Map(semantic.map((hit, rank) => [hit.slot, { ...hit, rank }]));
    const keywordBySlot = new Map(keyword.map((hit, rank) => [hit.slot, { ...hit, rank }]));
    const unscored = keyword.filter((hit) => !semanticBySlot.has(hit.slot)).map((hit) => hit.slot);
    const cosines = new Map(hitsOf(unscored.length ? this.#vectors.scoreSlots(vector, Uint32Array.from(unscored)) : []).map((hit) => [hit.slot, hit]));
    const candidates = [...new Set([...semanticBySlot.keys(), ...keywordBySlot.keys()])];
    const cosineOf = (slot) => semanticBySlot.get(slot)?.score ?? cosines.get(slot)?.score ?? 0;
    const keywordOf = (slot) => keywordBySlot.get(slot)?.score ?? keywordOfSemantic.get(slot)?.score ?? 0;
    const flat = (pairs) => Float64Array.from(pairs.flat());
    const bySemantic = flat(candidates.map((slot) => [slot, cosineOf(slot)]).sort((a, b) => b[1] - a[1] || a[0] - b[0]));
    const byKeyword = flat(candidates.map((slot) => [slot, keywordOf(slot)]).filter(([, score]) => score > 0).sort((a, b) => b[1] - a[1] || a[0] - b[0]));
    const fused = this.#glue.SearchStore.fuse(bySemantic, byKeyword, method, weight, method === 'weighted' ? this.#vectors.keywordBound(text) : 0);
    const out = [];
    for (let i = 0; i < fused.length; i += 2) {
      const slot = fused[i];
      const [s, kw] = [semanticBySlot.get(slot), keywordBySlot.get(slot)];
      // The chunk of the side that ranked the document higher.
      const index = s && (!kw || s.rank <= kw.rank) ? s.index : kw.index;
      out.push({ slot, index, score: fused[i + 1], semantic: s, keyword: kw ?? keywordOfSemantic.get(slot) });
    }
    return out;
  }

  #remember(id, doc) {
    this.#documents.set(id, doc);
    this.#slotIds[doc.slot] = id;
  }

  #forget(id) {
    const doc = this.#documents.get(id);
    if (!doc) return;
    this.#vectors.remove(doc.slot);
    this.#slotIds[doc.slot] = undefined;
    this.#documents.delete(id);
  }

  /**
   * Runs `prepare()` (embedding; null for none) at once, then `job(prepared)` once every call made
   * before this one has finished, so calls take effect in the order they were made.
   */
  async #inOrder(prepare, job) {
    const before = this.#tail;
    let leave;
    this.#tail = new Promise((resolve) => (leave = resolve));
    try {
      const prepared = prepare ? await prepare() : undefined;
      await before;
      if (this.#closed) throw new WebembedError('E_DISPOSED', 'this index was closed; open it again');
      return await job(prepared);
    } catch (error) {
      throw asWebembedError(error);
    } finally {
      // A call that failed early still lets later ones go only after the calls before it.
      before.then(leave);
    }
  }

  #refuseIfClosed() {
    if (this.#closed) throw new WebembedError('E_DISPOSED', 'this index was closed; open it again');
  }
}

const CONSTRUCT = Symbol('construct');

/** `[slot, chunk, score, …]` from the engine as `[{ slot, index, score }]`. */
function hitsOf(flat) {
  const hits = [];
  for (let i = 0; i < flat.length; i += 3) hits.push({ slot: flat[i], index: flat[i + 1], score: flat[i + 2] });
  return hits;
}

/** A stored document's chunk texts, from its flat spans. */
function chunkTextsOf(text, spans) {
  const texts = [];
  for (let i = 0; i < spans.length; i += 2) texts.push(text.slice(spans[i], spans[i + 1]));
  return texts;
}

function checkDocuments(documents) {
  if (!Array.isArray(documents)) throw new WebembedError('E_INPUT', 'add() takes an array of { id, text, title?, metadata? }');
  const byId = new Map();
  documents.forEach((doc, i) => {
    if (typeof doc?.id !== 'string' || doc.id.length === 0) throw new WebembedError('E_INPUT', `documents[${i}].id must be a non-empty string`);
    if (typeof doc.text !== 'string') throw new WebembedError('E_INPUT', `documents[${i}].text must be a string`);
    const title = checkTitle(doc.title, `documents[${i}].title`);
    let metadata = null;
    if (doc.metadata !== undefined) {
      try {
        metadata = structuredClone(doc.metadata);
      } catch (error) {
        throw new WebembedError('E_INPUT', `documents[${i}].metadata cannot be stored (${error?.message ?? error})`);
      }
    }
    // The last copy of an id in one call wins, as a later add() would.
    byId.delete(doc.id);
    byId.set(doc.id, { id: doc.id, text: doc.text, title, metadata });
  });
  return [...byId.values()];
}

/** A title as stored: null for none (undefined, null or blank), else the string. */
function checkTitle(title, where) {
  if (title === undefined || title === null) return null;
  if (typeof title !== 'string') throw new WebembedError('E_INPUT', `${where} must be a string (or left out); got ${Array.isArray(title) ? 'a list' : typeof title}`);
  if (title.length > MAX_TITLE_UNITS) throw new WebembedError('E_INPUT', `${where} holds ${title.length} characters; a title field takes at most ${MAX_TITLE_UNITS} (its page title, headings and path: put the rest in text)`);
  return title.trim() ? title : null;
}

function flatSpans(spans) {
  const flat = new Uint32Array(spans.length * 2);
  spans.forEach(({ start, end }, i) => flat.set([start, end], 2 * i));
  return flat;
}

/** A document's vectors (`rows × dimension` floats) at 16 bits, one scale per row. */
function exactRecord(id, flat, dimension) {
  const { codes: values, scales } = quantizeRows(flat, dimension, EXACT_LEVELS, Int16Array);
  return { id, values, scales };
}

/** The best chunk of an exact record for `query`: { index, score }. */
function exactBest(query, { values, scales }) {
  const dimension = query.length;
  let best = { index: 0, score: -Infinity };
  for (let r = 0; r < scales.length; r++) {
    let dot = 0;
    for (let d = 0; d < dimension; d++) dot += query[d] * values[r * dimension + d];
    const score = Math.fround(dot * scales[r]);
    if (score > best.score) best = { index: r, score };
  }
  return best;
}


// Export layout: a record (index-storage.js encodeRecord) after the magic: the header (JSON: meta
// and each segment's documents and row counts), then each segment's values, scales and floats and,
// for an index with exact vectors, its documents' 16-bit values and their scales.
// `exact` holds one record per document in segment order, or none.
function buildExport(meta, segments, exact) {
  const exactParts = [];
  let next = 0;
  for (const s of segments) {
    const records = exact.length > 0 ? exact.slice(next, next + s.docs.length) : [];
    next += s.docs.length;
    exactParts.push([concat(Int16Array, records.map((r) => r.values)), concat(Float32Array, records.map((r) => r.scales))]);
  }
  const parts = segments.map((s, i) => [s.values, s.scales, s.floats, ...exactParts[i]]);
  const header = {
    meta: { ...meta, exact: exact.length > 0 },
    segments: segments.map((s, i) => ({
      key: s.key,
      docs: s.docs.map((d) => ({ ...d, spans: Array.from(d.spans) })),
      rowCounts: Array.from(s.rowCounts),
      sizes: parts[i].map((part) => part.length),
    })),
  };
  return encodeRecord(new TextEncoder().encode(EXPORT_MAGIC), header, parts.flat()).buffer;
}

export function parseExport(buffer) {
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : null;
  const bad = (why) => new WebembedError('E_INDEX', `not an exported webembed index: ${why}`);
  const magic = new TextEncoder().encode(EXPORT_MAGIC);
  if (!bytes || bytes.length < magic.length + 4 || new TextDecoder().decode(bytes.subarray(0, magic.length)) !== EXPORT_MAGIC) throw bad('it does not start with the index header');
  const { header, take } = decodeRecord(bytes, magic.length, bad);
  if (!READABLE_FORMATS.includes(header?.meta?.format)) throw new WebembedError('E_INDEX', `the exported index is format ${header?.meta?.format}; this version of webembed reads formats ${READABLE_FORMATS.join(' and ')}`);
  const withExact = header.meta.exact === true;
  if (!Array.isArray(header.segments)) throw bad('its segments are not a list');
  const exactParts = [];
  const read = header.segments.map((s) => {
    const segment = takeSegment(s, take);
    if (withExact) {
      const [, , , exactValues, exactScales] = Array.isArray(s?.sizes) ? s.sizes : [];
      exactParts.push([take(Int16Array, exactValues), take(Float32Array, exactScales)]);
    }
    return segment;
  });
  const segments = checkRecords(header.meta, read, 'the exported index');
  const exact = [];
  if (withExact) {
    const dimension = header.meta.model.dimension;
    segments.forEach((segment, s) => {
      const [allValues, allScales] = exactParts[s];
      const rows = segment.rowCounts.reduce((a, b) => a + b, 0);
      if (allScales.length !== rows || allValues.length !== rows * dimension) throw bad(`segment ${segment.key}: its exact vectors do not match its documents`);
      const scale = allScales.findIndex((x) => !(Number.isFinite(x) && x >= 0));
      if (scale >= 0) throw bad(`segment ${segment.key}: exact scale ${scale} is not a finite non-negative number`);
      let row = 0;
      segment.docs.forEach((doc, i) => {
        const count = segment.rowCounts[i];
        exact.push({ id: doc.id, values: allValues.slice(row * dimension, (row + count) * dimension), scales: allScales.slice(row, row + count) });
        row += count;
      });
    });
  }
  return { meta: header.meta, segments, exact: withExact ? exact : null };
}
