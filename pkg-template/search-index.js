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

import { asWebembedError, WebembedError } from './errors.js';
import { decodeRecord, encodeRecord, openStorage, takeSegment } from './index-storage.js';
import { newInstance, pickSimd } from './instance.js';
import { evaluate } from './evaluate.js';
import { DEFAULT_OVERLAP_TOKENS, spansFromFlat } from './input.js';

/** Version of what an index stores (meta and segments) and exports. */
const FORMAT = 1;
/** Documents per stored segment: a change rewrites the segments it touches, no more. */
const SEGMENT_DOCUMENTS = 512;
/** Chunks embedded per step of add(), between progress events. */
const CHUNKS_PER_STEP = 64;
const EXPORT_MAGIC = 'WEBEMBEDINDEX';
/** int8 candidates rescored beyond k: int8's error moves a document past at most a few neighbours. */
const RESCORE_EXTRA = 16;
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
 * chunkTokens (default the model's maxSeqLength), overlapTokens (default 32), queryPrompt and
 * documentPrompt (default the model's 'query' and 'passage'/'document' prompts). A stored index
 * keeps the settings it was made with; asking for others is E_INDEX.
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
  const { vectors, chunkTokens, overlapTokens, queryPrompt, documentPrompt } = options;
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
    chunkTokens: chunkTokens ?? model.maxSeqLength,
    overlapTokens: overlapTokens ?? Math.min(DEFAULT_OVERLAP_TOKENS, Math.floor((chunkTokens ?? model.maxSeqLength) / 2)),
    nextSegment: 0,
  };
  if (!Number.isInteger(fresh.chunkTokens) || fresh.chunkTokens < 16 || fresh.chunkTokens > model.maxSeqLength) {
    throw new WebembedError('E_INPUT', `chunkTokens must be an integer from 16 to the model's maxSeqLength (${model.maxSeqLength}); got ${chunkTokens}`);
  }
  if (!Number.isInteger(fresh.overlapTokens) || fresh.overlapTokens < 0 || fresh.overlapTokens >= fresh.chunkTokens) {
    throw new WebembedError('E_INPUT', `overlapTokens must be an integer from 0 to chunkTokens - 1; got ${overlapTokens}`);
  }
  if (!storedMeta) return fresh;
  if (storedMeta.format !== FORMAT) {
    throw new WebembedError('E_INDEX', `the stored index is format ${storedMeta.format}; this version of webembed reads format ${FORMAT}`);
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
  return storedMeta;
}

async function newStore(settings) {
  // Its own small instance: the vectors' memory is not the model's, and survives a model crash.
  const glue = await newInstance(pickSimd('auto'), null);
  return { glue, vectors: new glue.SearchStore(settings.model.dimension, settings.vectors), settings };
}

/**
 * Gives a model class (the page, worker and pool models alike) openIndex, importIndex and
 * evaluate: each only needs the model's public encode/chunks and its facts.
 */
export function addSearchMethods(ModelClass) {
  const methods = {
    /** Opens (or creates) the persistent search index `name` for this model. */
    openIndex(name, options) {
      return openIndex(this, name, options);
    },
    /** Stores an index made by `index.export()` as `options.name` (default: its own name) and opens it. */
    importIndex(buffer, options) {
      return importIndex(this, buffer, options);
    },
    /** sentence-transformers' InformationRetrievalEvaluator metrics for this model (see evaluate.js). */
    evaluate(data, options) {
      return evaluate(this, data, options);
    },
  };
  // Non-enumerable, as a class's own methods are.
  for (const [name, method] of Object.entries(methods)) {
    Object.defineProperty(ModelClass.prototype, name, { value: method, writable: true, configurable: true });
  }
}

export class SearchIndex {
  #model;
  #name;
  #storage;
  #glue;
  #vectors;
  #meta;
  /** id → { slot, segment, text, metadata, spans: Uint32Array } */
  #documents = new Map();
  /** slot → id */
  #slotIds = [];
  /** segment key → Set of ids */
  #segments = new Map();
  // Changes and searches run one at a time; embedding happens before a change takes its turn.
  #queue = Promise.resolve();
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

  /** 'indexeddb' or 'memory'. */
  get storage() {
    return this.#storage.kind;
  }

  /** How this index chunks and stores: { vectors, chunkTokens, overlapTokens, model }. */
  get settings() {
    const { vectors, chunkTokens, overlapTokens, model } = this.#meta;
    return { vectors, chunkTokens, overlapTokens, model: { ...model } };
  }

  has(id) {
    return this.#documents.has(id);
  }

  /** The stored ids, oldest first. */
  ids() {
    return [...this.#documents.keys()];
  }

  /** A stored document: { id, text, metadata, chunks: [{ start, end }] }, or undefined. */
  get(id) {
    const doc = this.#documents.get(id);
    return doc && { id, text: doc.text, metadata: doc.metadata, chunks: spansFromFlat(doc.spans) };
  }

  /**
   * Adds documents `[{ id, text, metadata? }]`; an id already stored is replaced. Resolves once
   * they are stored; a call cut short stores none of its documents. `onProgress({ documents,
   * chunks, totalChunks })` reports embedding progress.
   */
  async add(documents, { onProgress, batchSize = 32 } = {}) {
    this.#refuseIfClosed();
    const batch = checkDocuments(documents);
    if (batch.length === 0) return;
    const { chunkTokens, overlapTokens, model: { documentPrompt } } = this.#meta;
    // Chunk, then embed every chunk: the slow part, outside the queue so searches still answer.
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
    await this.#turn(() => this.#commitAdd(chunked, vectors));
  }

  /**
   * Bench hook: adds one-chunk documents `[{ id, text }]` with their vectors as given (one per
   * document, `dimension` floats each in `vectors`), skipping chunking and the model.
   */
  async _addEmbeddedForBench(documents, vectors) {
    const batch = checkDocuments(documents);
    const dimension = this.#meta.model.dimension;
    const rows = batch.map((_, i) => vectors.subarray(i * dimension, (i + 1) * dimension));
    await this.#turn(() => this.#commitAdd(batch.map((doc) => ({ ...doc, spans: [{ start: 0, end: doc.text.length }] })), rows));
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
    return this.#turn(async () => {
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
   * The `k` best documents for `query` (a string, embedded with the query prompt, or a vector):
   * `[{ id, score, chunk: { index, start, end }, text, metadata }]`, best first, one per
   * document, `text` its best chunk. `filter(metadata, id)` keeps a document when true.
   */
  async search(query, { k = 10, filter } = {}) {
    this.#refuseIfClosed();
    if (!Number.isInteger(k) || k < 1 || k > 10_000) throw new WebembedError('E_INPUT', `k must be an integer from 1 to 10000; got ${k}`);
    if (filter !== undefined && typeof filter !== 'function') throw new WebembedError('E_INPUT', 'filter must be a function (metadata, id) → boolean');
    let vector;
    if (typeof query === 'string') {
      [vector] = await this.#model.encode([query], { prompt: this.#meta.model.queryPrompt });
    } else if (query instanceof Float32Array || Array.isArray(query)) {
      vector = Float32Array.from(query);
    } else {
      throw new WebembedError('E_INPUT', 'search() takes a query string or a query vector');
    }
    return this.#turn(() => this.#rank(vector, k, filter));
  }

  /** The whole index as one ArrayBuffer, for `model.importIndex(buffer)`. */
  async export() {
    this.#refuseIfClosed();
    return this.#turn(async () => {
      const segments = [...this.#segments.keys()].map((key) => this.#segmentRecord(key, this.#segments.get(key)));
      const exact = this.#meta.exact ? await this.#storage.exactVectors(this.#name, segments.flatMap((s) => s.docs.map((d) => d.id))) : [];
      return buildExport(this.#meta, segments, exact.every(Boolean) ? exact : []);
    });
  }

  /** Removes every document, here and in storage. */
  async clear() {
    this.#refuseIfClosed();
    return this.#turn(async () => {
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
    await this.#queue.catch(() => {});
    this.#vectors?.free();
    this.#vectors = null;
    this.#glue = null;
  }

  /** Loads what storage holds (called once, by openIndex). */
  async _restore(stored) {
    if (!stored) return;
    const segments = [...stored.segments].sort((a, b) => a.key - b.key);
    this.#vectors.reserve(segments.reduce((rows, segment) => rows + segment.rowCounts.reduce((a, b) => a + b, 0), 0));
    for (const segment of segments) {
      const slots = this.#vectors.addStored(segment.values ?? new Int8Array(0), segment.scales ?? new Float32Array(0), segment.floats ?? new Float32Array(0), segment.rowCounts);
      const ids = new Set();
      segment.docs.forEach((doc, i) => {
        // A later segment's copy wins (none should exist: every change rewrites the older one).
        if (this.#documents.has(doc.id)) this.#forget(doc.id);
        this.#remember(doc.id, { slot: slots[i], segment: segment.key, text: doc.text, metadata: doc.metadata, spans: doc.spans });
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
        added.push({ doc, slot: this.#vectors.add(flat), exact: this.#meta.exact ? exactRecord(doc.id, flat, this.#meta.model.dimension) : null });
      }
      const replaced = new Set(chunked.map((doc) => doc.id).filter((id) => this.#documents.has(id)));
      const { put, remove } = this.#rewrites(replaced);
      let nextSegment = this.#meta.nextSegment;
      const fresh = [];
      for (let start = 0; start < added.length; start += SEGMENT_DOCUMENTS) {
        fresh.push({ key: nextSegment++, entries: added.slice(start, start + SEGMENT_DOCUMENTS) });
      }
      for (const { entries } of fresh) for (const entry of entries) entry.spans = flatSpans(entry.doc.spans);
      for (const { key, entries } of fresh) put.push(this.#recordOf(key, entries.map(({ doc, slot, spans }) => ({ id: doc.id, text: doc.text, metadata: doc.metadata, spans, slot }))));
      const meta = { ...this.#meta, nextSegment };
      const putExact = added.flatMap(({ exact }) => (exact ? [exact] : []));
      await this.#storage.commit(this.#name, { meta, put, remove, putExact });
      // Stored: now memory follows.
      this.#meta = meta;
      for (const id of replaced) this.#forget(id);
      this.#applySegments(put, remove);
      for (const { key, entries } of fresh) {
        for (const { doc, slot, spans } of entries) this.#remember(doc.id, { slot, segment: key, text: doc.text, metadata: doc.metadata, spans });
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
      docs: docs.map(({ id, text, metadata, spans }) => ({ id, text, metadata, spans })),
      rowCounts,
      values: concat(Int8Array, values),
      scales: concat(Float32Array, scales),
      floats: concat(Float32Array, floats),
    };
  }

  async #rank(vector, k, filter) {
    let allowed;
    if (filter) {
      allowed = new Uint8Array(this.#vectors.slots);
      for (const [id, doc] of this.#documents) if (filter(doc.metadata, id)) allowed[doc.slot] = 1;
    }
    const flat = this.#vectors.search(vector, this.#meta.exact ? k + RESCORE_EXTRA : k, allowed);
    let found = [];
    for (let i = 0; i < flat.length; i += 3) found.push({ id: this.#slotIds[flat[i]], slot: flat[i], index: flat[i + 1], score: flat[i + 2] });
    if (this.#meta.exact && found.length > 0) {
      const records = await this.#storage.exactVectors(this.#name, found.map((hit) => hit.id));
      found.forEach((hit, i) => records[i] && Object.assign(hit, exactBest(vector, records[i])));
      // Ties go to the lower slot, as in the scan.
      found.sort((a, b) => b.score - a.score || a.slot - b.slot);
      found = found.slice(0, k);
    }
    return found.map(({ id, index, score }) => {
      const doc = this.#documents.get(id);
      const [start, end] = [doc.spans[2 * index], doc.spans[2 * index + 1]];
      return { id, score, chunk: { index, start, end }, text: doc.text.slice(start, end), metadata: doc.metadata };
    });
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

  #turn(job) {
    const result = this.#queue.then(() => {
      if (this.#closed) throw new WebembedError('E_DISPOSED', 'this index was closed; open it again');
      return job();
    });
    this.#queue = result.catch(() => {});
    return result.catch((error) => {
      throw asWebembedError(error);
    });
  }

  #refuseIfClosed() {
    if (this.#closed) throw new WebembedError('E_DISPOSED', 'this index was closed; open it again');
  }
}

const CONSTRUCT = Symbol('construct');

function checkDocuments(documents) {
  if (!Array.isArray(documents)) throw new WebembedError('E_INPUT', 'add() takes an array of { id, text, metadata? }');
  const byId = new Map();
  documents.forEach((doc, i) => {
    if (typeof doc?.id !== 'string' || doc.id.length === 0) throw new WebembedError('E_INPUT', `documents[${i}].id must be a non-empty string`);
    if (typeof doc.text !== 'string') throw new WebembedError('E_INPUT', `documents[${i}].text must be a string`);
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
    byId.set(doc.id, { id: doc.id, text: doc.text, metadata });
  });
  return [...byId.values()];
}

function flatSpans(spans) {
  const flat = new Uint32Array(spans.length * 2);
  spans.forEach(({ start, end }, i) => flat.set([start, end], 2 * i));
  return flat;
}

/** A document's vectors (`rows × dimension` floats) at 16 bits, one scale per row. */
function exactRecord(id, flat, dimension) {
  const rows = flat.length / dimension;
  const values = new Int16Array(flat.length);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let largest = 0;
    for (let d = r * dimension; d < (r + 1) * dimension; d++) largest = Math.max(largest, Math.abs(flat[d]));
    scales[r] = largest / EXACT_LEVELS;
    const inverse = largest > 0 ? EXACT_LEVELS / largest : 0;
    for (let d = r * dimension; d < (r + 1) * dimension; d++) values[d] = Math.round(flat[d] * inverse);
  }
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

function concat(Type, parts) {
  const out = new Type(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
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

function parseExport(buffer) {
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : null;
  const bad = (why) => new WebembedError('E_INDEX', `not an exported webembed index: ${why}`);
  const magic = new TextEncoder().encode(EXPORT_MAGIC);
  if (!bytes || bytes.length < magic.length + 4 || new TextDecoder().decode(bytes.subarray(0, magic.length)) !== EXPORT_MAGIC) throw bad('it does not start with the index header');
  const { header, take } = decodeRecord(bytes, magic.length, bad);
  if (header?.meta?.format !== FORMAT) throw new WebembedError('E_INDEX', `the exported index is format ${header?.meta?.format}; this version of webembed reads format ${FORMAT}`);
  const withExact = header.meta.exact === true;
  const exact = [];
  const segments = (header.segments ?? []).map((s) => {
    const segment = takeSegment(s, take);
    if (withExact) {
      const [, , , exactValues, exactScales] = s.sizes;
      const [allValues, allScales] = [take(Int16Array, exactValues), take(Float32Array, exactScales)];
      const dimension = header.meta.model?.dimension;
      const rows = segment.rowCounts.reduce((a, b) => a + b, 0);
      if (allScales.length !== rows || allValues.length !== rows * dimension) throw bad('its exact vectors do not match its documents');
      let row = 0;
      segment.docs.forEach((doc, i) => {
        const count = segment.rowCounts[i];
        exact.push({ id: doc.id, values: allValues.slice(row * dimension, (row + count) * dimension), scales: allScales.slice(row, row + count) });
        row += count;
      });
    }
    return segment;
  });
  return { meta: header.meta, segments, exact: withExact ? exact : null };
}
