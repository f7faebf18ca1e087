// model.loadIndex(url): a shipped index (shipped-format.js), read-only, searched from any static
// host. Opening fetches the manifest and the centroids; a search fetches the partitions nearest
// the query, the keyword shards of its terms and the fragments of the hits it returns, each once:
// verified files stay in memory (up to MEMORY_BYTES) and in the model cache, so repeated
// searches, and searches offline after the first ones, fetch nothing.

import { cachedBytes, openCache, storeBytes } from '../loading/cache.js';
import { asWebembedError, isAbort, WebembedError } from '../core/errors.js';
import { LIMITS, readBounded } from '../loading/body.js';
import { newInstance, pickSimd } from '../engine/instance.js';
import { fetchAny } from '../core/platform.js';
import { callFilter, checkSearchOptions, defaultFusion, rerankCandidates, rerankHits } from '../search/options.js';
import {
  checkContent, checkManifest, decodeBlock, decodeCentroids, decodeDirectory, dequantize, decodeFragment, decodeFragmentTable, decodePage, decodePartition, decodeShard, decodeShardTable,
  MANIFEST_NAME, PAGE_ENTRIES, safeUrl, shardOf,
} from './format.js';
import { spansFromFlat } from '../core/input.js';
import { similarity } from '../core/similarity.js';

/** Bytes a search reads partitions (and, in two levels, blocks) for when `probes` is not given (the bar: ≤ 300 KB a query). */
const PROBE_BYTES = 240 * 1024;
/**
 * Two levels: blocks and partitions a search reads, leaving room for the hits' fragments within
 * 250 KB (bench/ivf-simulation.py: at 1 000 000 vectors, 4 blocks and 215 KB gave recall 0.977,
 * 230 KB 0.999).
 */
const TWO_LEVEL_PROBE_BYTES = 215 * 1024;
/** Two levels: the nearest blocks a search reads at most, and their bytes at most (beyond the first). */
const BLOCK_PROBES = 4;
const BLOCK_BYTES = 48 * 1024;
/** Decoded files kept in memory, least recently used first out. */
const MEMORY_BYTES = 48 * 1024 * 1024;
/** Documents each side hands hybrid fusion at least (as in search-index.js). */
const FUSION_DEPTH = 50;
/** The probe sentence's cosine the querying model must reach to the one that built the index. */
const SAME_MODEL_COSINE = 0.99;

const CONSTRUCT = Symbol('construct');

/** Opens the shipped index at `url` (its folder, or its manifest) for `model`. */
export async function loadIndex(model, url, options = {}) {
  try {
    const base = indexBase(url);
    const cache = await openCache(options?.cache);
    const reader = new FileReader(base, cache, options ?? {});
    const manifest = checkManifest(await reader.manifest(), `${base}${MANIFEST_NAME}`);
    checkModel(manifest, model);
    await checkProbe(manifest, model);
    const [name, bytes] = manifest.vectors.centroids;
    // Two levels: the top centroids, one per block; one level: one per partition.
    const count = manifest.vectors.blocks ? manifest.vectors.blocks.length : manifest.vectors.partitions.length;
    const centroids = await reader.file(name, bytes, (b) => decodeCentroids(b, name, { count, dimension: manifest.model.dimension }), 'the centroids: no semantic search answers');
    const glue = await newInstance(pickSimd('auto'), null);
    const keywords = manifest.keywords;
    // An empty store: its analyzer splits queries exactly as the CLI split the documents.
    const analyzer = new glue.SearchStore(1, 'f32', keywords?.language ?? undefined, keywords?.k1 ?? 1.2, keywords?.b ?? 0.75);
    return new ShippedIndex(CONSTRUCT, { model, manifest, reader, centroids: { count: centroids.count, dimension: centroids.dimension, values: dequantize(centroids, centroids.dimension) }, glue, analyzer, base });
  } catch (error) {
    throw asWebembedError(error);
  }
}

function indexBase(url) {
  let text = url instanceof URL ? url.href : url;
  if (typeof text !== 'string' || text.length === 0) throw new WebembedError('E_INPUT', 'loadIndex() takes the URL of a shipped index folder (or of its webembed-index.json)');
  if (text.endsWith(MANIFEST_NAME)) text = text.slice(0, -MANIFEST_NAME.length);
  if (!text.endsWith('/')) text += '/';
  try {
    return new URL(text, globalThis.location?.href ?? baseForNode()).href;
  } catch {
    throw new WebembedError('E_INPUT', `loadIndex(): ${JSON.stringify(url)} is not a URL`);
  }
}

function baseForNode() {
  return `file://${globalThis.process?.cwd?.() ?? ''}/`;
}

/**
 * The truncateDim queries are encoded with: an index built with `--truncate-dim` (Matryoshka)
 * is searched by the whole model, its query vectors cut as the documents' were.
 */
export function queryTruncation(manifest, model) {
  const built = manifest.model;
  return Number.isInteger(built.truncateDim) && built.truncateDim === built.dimension && model.dimension > built.dimension ? built.truncateDim : undefined;
}

function checkModel(manifest, model) {
  const built = manifest.model;
  if (built.dimension !== model.dimension && queryTruncation(manifest, model) === undefined) {
    throw new WebembedError('E_INDEX', `this index was built by another model (${JSON.stringify(built.name)}, ${built.dimension} dimensions); this model gives ${model.dimension}. Load ${JSON.stringify(built.name)} to search it`);
  }
}

/** The model that built the index embedded `probe.text`; this one must give the same vector. */
async function checkProbe(manifest, model) {
  const probe = manifest.model.probe;
  const truncateDim = queryTruncation(manifest, model);
  if (typeof probe?.text !== 'string' || !Array.isArray(probe.vector) || probe.vector.length !== (truncateDim ?? model.dimension)) return;
  const [vector] = await model.encode([probe.text], { truncateDim });
  const cosine = similarity([vector], [Float32Array.from(probe.vector)])[0][0];
  if (!(cosine >= SAME_MODEL_COSINE)) {
    throw new WebembedError('E_INDEX', `this index was built by another model (${JSON.stringify(manifest.model.name)}): the probe sentence's cosine to its vector is ${cosine.toFixed(4)}, below ${SAME_MODEL_COSINE}. Load ${JSON.stringify(manifest.model.name)} to search it`);
  }
}

/** Fetches, verifies, decodes and keeps the index's files. */
class FileReader {
  #base;
  #cache;
  #fetch;
  #signal;
  /** name → { value, bytes }, least recently used first. */
  #memory = new Map();
  #memoryBytes = 0;
  /** name → promise of a fetch under way, so concurrent searches fetch a file once. */
  #running = new Map();
  fetchedBytes = 0;
  fetchedFiles = 0;

  constructor(base, cache, { fetch, signal }) {
    this.#base = base;
    this.#cache = cache;
    this.#fetch = fetch;
    this.#signal = signal;
  }

  get memoryBytes() {
    return this.#memoryBytes;
  }

  /** The manifest: from the host when it answers (it is the one file that changes), else the cache. */
  async manifest() {
    const url = `${this.#base}${MANIFEST_NAME}`;
    let answer;
    try {
      answer = await this.#download(url, { signal: this.#signal, cache: 'no-cache' }, LIMITS.manifest, `the most a manifest may take (${LIMITS.manifest >> 20} MiB)`);
    } catch (error) {
      if (isAbort(error) || error?.code === 'E_INDEX') throw error;
      const cached = await cachedBytes(this.#cache, url);
      if (cached) return parseJson(cached, url);
      throw new WebembedError('E_FETCH', `could not fetch ${url} (${error?.message ?? error}), and it is not cached`, { cause: error });
    }
    if (!answer.bytes) throw new WebembedError('E_INDEX', `${url} answered HTTP ${answer.status}: is this the folder the CLI wrote (npx webembed index … --out <folder>)?`);
    const bytes = answer.bytes;
    const manifest = checkManifest(parseJson(bytes, url), url);
    await storeBytes(this.#cache, url, bytes, 'application/json');
    return manifest;
  }

  /**
   * `url`'s body when it answers 200 (counted as fetched), else its status; a network failure
   * throws as it came. Reading stops past `limit` bytes (`what` says whose bound): E_INDEX.
   */
  async #download(url, init, limit, what) {
    const response = await fetchAny(url, init, this.#fetch ?? globalThis.fetch);
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      return { status: response.status, bytes: null };
    }
    const tooLong = (loaded) => new WebembedError('E_INDEX', `${url} is longer than ${what}: reading stopped at ${loaded} bytes; it is not cached`);
    // One byte past the bound tells a longer file from one of exactly that size.
    const bytes = await readBounded(response, { limit, tooLong, signal: init.signal });
    this.fetchedBytes += bytes.byteLength;
    this.fetchedFiles++;
    return { status: 200, bytes };
  }

  /** File `name` (declared `size` bytes) decoded by `decode`; `stillAnswers` says what works without it. */
  async file(name, size, decode, stillAnswers, signal) {
    const kept = this.#memory.get(name);
    if (kept) {
      this.#memory.delete(name);
      this.#memory.set(name, kept);
      return kept.value;
    }
    if (!this.#running.has(name)) {
      const running = this.#load(name, size, decode, stillAnswers, signal).finally(() => this.#running.delete(name));
      this.#running.set(name, running);
    }
    return this.#running.get(name);
  }

  async #load(name, size, decode, stillAnswers, signal) {
    const url = new URL(name, this.#base).href;
    const damaged = (why, cause) => new WebembedError('E_INDEX', `${url}: ${why}; ${stillAnswers}. Rebuild the index or upload the folder again`, { cause });
    let bytes = await cachedBytes(this.#cache, url);
    const fromCache = Boolean(bytes);
    if (!bytes) {
      let answer;
      try {
        answer = await this.#download(url, { signal: signal ?? this.#signal }, size, `the ${size} bytes the manifest declares`);
      } catch (error) {
        if (isAbort(error) || error?.code === 'E_INDEX') throw error;
        throw new WebembedError('E_FETCH', `could not fetch ${url} (${error?.message ?? error}); ${stillAnswers}`, { cause: error });
      }
      if (!answer.bytes) throw damaged(`HTTP ${answer.status} (${answer.status === 404 ? 'missing: a half-uploaded folder?' : 'not served'})`);
      bytes = answer.bytes;
    }
    let value;
    try {
      if (bytes.byteLength !== size) throw new WebembedError('E_INDEX', `${bytes.byteLength} bytes where the manifest says ${size} (truncated, or from another build)`);
      await checkContent(name, bytes);
      value = decode(bytes);
    } catch (error) {
      // A bad file is never kept; one the cache held goes from it.
      if (fromCache) await this.#cache?.delete(url)?.catch?.(() => {});
      throw damaged(error?.message ?? String(error), error);
    }
    if (!fromCache) await storeBytes(this.#cache, url, bytes, name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    this.#memory.set(name, { value, bytes: bytes.byteLength });
    this.#memoryBytes += bytes.byteLength;
    for (const [key, entry] of this.#memory) {
      if (this.#memoryBytes <= MEMORY_BYTES) break;
      this.#memory.delete(key);
      this.#memoryBytes -= entry.bytes;
    }
    return value;
  }
}

function parseJson(bytes, url) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new WebembedError('E_INDEX', `${url} is not JSON (${error?.message ?? error}): is this the folder the CLI wrote?`);
  }
}

/** A shipped index: searches as a SearchIndex does; read-only. */
export class ShippedIndex {
  #model;
  #manifest;
  #reader;
  #centroids;
  #glue;
  #analyzer;
  #base;
  #closed = false;

  constructor(secret, { model, manifest, reader, centroids, glue, analyzer, base }) {
    if (secret !== CONSTRUCT) throw new TypeError('use model.loadIndex(url)');
    this.#model = model;
    this.#manifest = manifest;
    this.#reader = reader;
    this.#centroids = centroids;
    this.#glue = glue;
    this.#analyzer = analyzer;
    this.#base = base;
  }

  /** The index folder's URL. */
  get name() {
    return this.#base;
  }

  get size() {
    return this.#manifest.counts.documents;
  }

  get chunkCount() {
    return this.#manifest.counts.chunks;
  }

  /** 'shipped': files fetched from a host, read-only. */
  get storage() {
    return 'shipped';
  }

  get settings() {
    const { chunking, keywords, model } = this.#manifest;
    const { probe, ...described } = model;
    return { vectors: 'int8', ...chunking, keywords: keywords && { language: keywords.language, k1: keywords.k1, b: keywords.b }, model: described };
  }

  /** Bytes fetched from the host so far (the cache's answers not counted), and files. */
  get fetched() {
    return { bytes: this.#reader.fetchedBytes, files: this.#reader.fetchedFiles };
  }

  /** Bytes of fetched files held in memory, and of the centroids. */
  get memoryBytes() {
    return this.#reader.memoryBytes + this.#centroids.values.byteLength;
  }

  add() {
    return this.#readOnly('add');
  }

  remove() {
    return this.#readOnly('remove');
  }

  clear() {
    return this.#readOnly('clear');
  }

  export() {
    return this.#readOnly('export');
  }

  has() {
    throw this.#listing();
  }

  ids() {
    throw this.#listing();
  }

  get() {
    throw this.#listing();
  }

  async close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#analyzer.free();
    this.#analyzer = null;
  }

  /**
   * As SearchIndex.search (the same options and hits; each hit also has `url`), plus `probes`:
   * how many partitions a semantic search reads (default: ~240 KB of them), and `signal`.
   */
  async search(query, options = {}) {
    try {
      this.#refuseIfClosed();
      const { k, filter, mode, fusion, candidates, rerank } = checkSearchOptions(options, typeof query === 'string');
      const { probes, signal } = options ?? {};
      if (probes !== undefined && !(Number.isInteger(probes) && probes >= 1)) throw new WebembedError('E_INPUT', `probes must be a positive integer; got ${probes}`);
      if (rerank) {
        const found = await this.search(query, { ...options, rerank: undefined, k: Math.max(k, rerankCandidates(candidates)) });
        return rerankHits(rerank, query, found, k);
      }
      let vector = null;
      const text = typeof query === 'string' ? query : null;
      if (text !== null) {
        if (mode !== 'keyword') vector = (await this.#model.encode([text], { prompt: this.#manifest.model.queryPrompt, truncateDim: queryTruncation(this.#manifest, this.#model) }))[0];
      } else if (query instanceof Float32Array || Array.isArray(query)) {
        vector = Float32Array.from(query);
        if (vector.length !== this.#manifest.model.dimension) throw new WebembedError('E_INPUT', `the query vector has ${vector.length} dimensions; the index has ${this.#manifest.model.dimension}`);
      } else {
        throw new WebembedError('E_INPUT', 'search() takes a query string or a query vector');
      }
      if (text !== null && mode === 'keyword' && !this.#manifest.keywords) {
        throw new WebembedError('E_INDEX', 'this index was built without keywords (its documents had no text): search it by meaning (mode: \'semantic\')');
      }
      const depth = mode === 'hybrid' ? Math.max(k, candidates ?? FUSION_DEPTH) : k;
      const wide = filter ? Math.max(depth, 4 * k, FUSION_DEPTH) : depth;
      const [semantic, matched] = await Promise.all([
        mode === 'keyword' ? null : this.#semantic(vector, probes, signal),
        // In semantic mode too: each hit says its keyword score, as in a browser index.
        text !== null && this.#manifest.keywords ? this.#keyword(text, signal) : null,
      ]);
      const keyword = matched?.scores ?? null;
      const semanticTop = semantic ? top(semantic, wide) : [];
      const keywordTop = keyword && mode !== 'semantic' ? top(keyword, wide) : [];
      let ranked;
      if (mode === 'semantic') ranked = semanticTop;
      else if (mode === 'keyword') ranked = keywordTop;
      else ranked = this.#fuse(semantic, keyword, semanticTop, keywordTop, matched?.bound ?? 0, fusion ?? defaultFusion(text ?? ''));
      return await this.#hits(ranked, { k, filter, text, semantic, keyword, signal });
    } catch (error) {
      throw asWebembedError(error);
    }
  }

  /** Each scanned document's best chunk by the query vector: Map(document → { index, score }). */
  async #semantic(vector, probes, signal) {
    const { count, dimension, values } = this.#centroids;
    const near = new Float64Array(count);
    for (let c = 0; c < count; c++) near[c] = dot(vector, values, c * dimension, dimension);
    const order = Array.from({ length: count }, (_, c) => c).sort((a, b) => near[b] - near[a] || a - b);
    // Candidates: [list, centroid score, [file, rows, bytes]], nearest first.
    let candidates;
    let spent = 0;
    if (this.#manifest.vectors.blocks) ({ candidates, spent } = await this.#nearestPartitions(vector, order, signal));
    else candidates = order.map((c) => [c, near[c], this.#manifest.vectors.partitions[c]]);
    let chosen;
    if (probes !== undefined) chosen = candidates.slice(0, probes);
    else {
      chosen = [];
      let bytes = spent;
      const budget = this.#manifest.vectors.blocks ? TWO_LEVEL_PROBE_BYTES : PROBE_BYTES;
      for (const candidate of candidates) {
        if (chosen.length > 0 && bytes + candidate[2][2] > budget) break;
        chosen.push(candidate);
        bytes += candidate[2][2];
      }
    }
    const loaded = await Promise.all(chosen.map(([list, , [name, rows, bytes]]) => {
      return this.#reader.file(name, bytes, (b) => decodePartition(b, name, { rows, dimension, documents: this.size, list }), 'keyword search and queries whose nearest partitions are others still answer', signal);
    }));
    const best = new Map();
    loaded.forEach((partition, i) => {
      const base = chosen[i][1];
      const { rows, documents, chunks, scales, codes } = partition;
      for (let r = 0; r < rows; r++) {
        const score = Math.fround(base + scales[r] * dotCodes(vector, codes, r * dimension, dimension));
        const doc = documents[r];
        const seen = best.get(doc);
        if (!seen || score > seen.score || (score === seen.score && chunks[r] < seen.index)) best.set(doc, { index: chunks[r], score });
      }
    });
    return best;
  }

  /**
   * Two levels: the nearest blocks (up to BLOCK_PROBES, within BLOCK_BYTES), then their
   * partitions ordered by the query's score against their own centroids. Returns those
   * candidates and the bytes the blocks took.
   */
  async #nearestPartitions(vector, order, signal) {
    const { blocks, partitionCount } = this.#manifest.vectors;
    const dimension = this.#centroids.dimension;
    const picked = [];
    let spent = 0;
    for (const b of order.slice(0, BLOCK_PROBES)) {
      if (picked.length > 0 && spent + blocks[b][2] > BLOCK_BYTES) break;
      picked.push(b);
      spent += blocks[b][2];
    }
    const loaded = await Promise.all(picked.map((b) => {
      const [name, count, bytes] = blocks[b];
      // Dequantized once, when the block is read: the held copy serves every later search.
      const decode = (data) => {
        const block = decodeBlock(data, name, { block: b, count, dimension, partitions: partitionCount });
        return { ...block, centroids: dequantize(block, dimension) };
      };
      return this.#reader.file(name, bytes, decode, 'keyword search and queries nearer other blocks still answer', signal);
    }));
    const candidates = [];
    for (const { first, centroids, partitions } of loaded) {
      partitions.forEach((entry, i) => candidates.push([first + i, dot(vector, centroids, i * dimension, dimension), entry]));
    }
    candidates.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    return { candidates, spent };
  }

  /**
   * Each matching document's best chunk by BM25, `scores`: Map(document → { index, score }), and
   * the query's `bound` as the engine computes it (each term's weight × idf × (k1 + 1), its idf
   * from the chunk count and the term's body postings), which weighted fusion divides by.
   */
  async #keyword(text, signal) {
    const terms = this.#analyzer.queryTerms(text);
    const weights = this.#analyzer.queryWeights(text);
    const shardCount = this.#manifest.keywords.shardCount;
    const wanted = [...new Set(terms.map((term) => shardOf(term, shardCount)))];
    const loaded = new Map(await Promise.all(wanted.map(async (s) => {
      const [name, bytes] = await this.#shardEntry(s, signal);
      const shard = await this.#reader.file(name, bytes, (b) => decodeShard(b, name, { documents: this.size, shard: s, shards: shardCount }), 'semantic search and queries without its terms still answer', signal);
      return [s, shard];
    })));
    const chunkScores = new Map();
    // A document's title field is one more chunk; it adds to the document's best body chunk.
    const title = this.#manifest.keywords.title;
    const titleScores = new Map();
    const { k1 = 1.2 } = this.#manifest.keywords;
    const chunkCount = this.#manifest.counts.chunks;
    let bound = 0;
    terms.forEach((term, i) => {
      const postings = loaded.get(shardOf(term, shardCount)).get(term);
      let frequency = 0;
      if (postings && title) for (let p = 0; p < postings.chunks.length; p++) frequency += postings.chunks[p] === title.chunk ? 0 : 1;
      else if (postings) frequency = postings.chunks.length;
      bound += weights[i] * idf(chunkCount, frequency) * (k1 + 1);
      if (!postings) return;
      const { documents, chunks, impacts } = postings;
      for (let p = 0; p < documents.length; p++) {
        const score = Math.fround(weights[i] * impacts[p]);
        if (title && chunks[p] === title.chunk) {
          titleScores.set(documents[p], (titleScores.get(documents[p]) ?? 0) + score);
          continue;
        }
        const key = documents[p] * 2 ** 24 + chunks[p];
        chunkScores.set(key, (chunkScores.get(key) ?? 0) + score);
      }
    });
    const best = new Map();
    for (const [key, score] of chunkScores) {
      // A chunk index is below 2^24: a document has at most 2^24 characters (MAX_DOCUMENT_UNITS).
      const doc = Math.floor(key / 2 ** 24);
      const index = key % 2 ** 24;
      const seen = best.get(doc);
      if (score > 0 && (!seen || score > seen.score || (score === seen.score && index < seen.index))) best.set(doc, { index, score: Math.fround(score) });
    }
    for (const [doc, score] of titleScores) {
      // As the engine sums them: the best body chunk's score, then the weighed title's.
      const body = best.get(doc);
      const total = Math.fround((body?.score ?? 0) + Math.fround(title.weight * Math.fround(score)));
      if (total > 0) best.set(doc, { index: body?.index ?? 0, score: total });
    }
    return { scores: best, bound: Math.fround(bound) };
  }

  /**
   * The candidates (each side's first ones) fused, each scored by both sides: a keyword hit in
   * a partition the search did not read counts as no nearer than the farthest one it did.
   */
  #fuse(semantic, keyword, semanticTop, keywordTop, bound, { method, weight }) {
    const candidates = [...new Set([...semanticTop.map((hit) => hit.doc), ...keywordTop.map((hit) => hit.doc)])];
    let farthest = Infinity;
    for (const { score } of semantic.values()) farthest = Math.min(farthest, score);
    const cosineOf = (doc) => semantic.get(doc)?.score ?? (Number.isFinite(farthest) ? farthest : 0);
    const keywordOf = (doc) => keyword?.get(doc)?.score ?? 0;
    const flat = (pairs) => Float64Array.from(pairs.flat());
    const bySemantic = flat(candidates.map((doc) => [doc, cosineOf(doc)]).sort((a, b) => b[1] - a[1] || a[0] - b[0]));
    const byKeyword = flat(candidates.map((doc) => [doc, keywordOf(doc)]).filter(([, score]) => score > 0).sort((a, b) => b[1] - a[1] || a[0] - b[0]));
    const fused = this.#glue.SearchStore.fuse(bySemantic, byKeyword, method, weight, method === 'weighted' ? bound : 0);
    const [s, kw] = [new Map(semanticTop.map((hit, rank) => [hit.doc, { ...hit, rank }])), new Map(keywordTop.map((hit, rank) => [hit.doc, { ...hit, rank }]))];
    const out = [];
    for (let i = 0; i < fused.length; i += 2) {
      const doc = fused[i];
      const [a, b] = [s.get(doc), kw.get(doc)];
      const index = a && (!b || a.rank <= b.rank) ? a.index : b ? b.index : semantic.get(doc)?.index ?? keyword.get(doc).index;
      out.push({ doc, index, score: fused[i + 1] });
    }
    return out;
  }

  /** The first `k` of `ranked` (that `filter` keeps) as hits, their fragments fetched. */
  async #hits(ranked, { k, filter, text, semantic, keyword, signal }) {
    const out = [];
    let at = 0;
    while (at < ranked.length && out.length < k) {
      // Without a filter every hit is kept: fetch the fragments of exactly the hits returned.
      const batch = ranked.slice(at, at + (filter ? 2 * k : k - out.length));
      at += batch.length;
      const docs = await Promise.all(batch.map((hit) => this.#document(hit.doc, signal)));
      batch.forEach((hit, i) => {
        const doc = docs[i];
        if (out.length >= k || (filter && !callFilter(filter, doc.metadata, doc.id))) return;
        const index = Math.min(hit.index, doc.spans.length / 2 - 1);
        const [start, end] = [doc.spans[2 * index], doc.spans[2 * index + 1]];
        const chunkText = doc.text.slice(start, end);
        out.push({
          id: doc.id,
          score: hit.score,
          chunk: { index, start, end },
          text: chunkText,
          title: doc.title ?? null,
          metadata: doc.metadata ?? null,
          // Whatever a host serves, a hit never links to script.
          url: safeUrl(doc.url),
          semanticScore: semantic?.get(hit.doc)?.score ?? null,
          keywordScore: keyword ? keyword.get(hit.doc)?.score ?? 0 : null,
          highlights: text ? spansFromFlat(this.#analyzer.highlights(text, chunkText)) : [],
        });
      });
    }
    return out;
  }

  /** Shard `s`'s [file, bytes]: from the one shard table, or (version 4) from its page. */
  async #shardEntry(s, signal) {
    const { shards, shardPages, shardCount } = this.#manifest.keywords;
    if (!shardPages) {
      const [name, bytes] = shards;
      return (await this.#reader.file(name, bytes, (b) => decodeShardTable(b, name, shardCount), 'semantic search still answers', signal))[s];
    }
    const page = Math.floor(s / PAGE_ENTRIES.shards);
    const [name, first, bytes] = (await this.#directory('shards', shardPages, shardCount, 'semantic search still answers', signal))[page];
    const entries = await this.#reader.file(name, bytes, (b) => decodePage(b, name, { kind: 'shards', page, first, end: shardCount }), 'semantic search and terms of other shards still answer', signal);
    return entries[s - first];
  }

  /** A paged table's directory (`described`: the manifest's [file, pages, bytes]): `[[page file, first, bytes]]`. */
  async #directory(kind, [name, pages, bytes], end, stillAnswers, signal) {
    return this.#reader.file(name, bytes, (b) => decodeDirectory(b, name, { kind, pages, end }), stillAnswers, signal);
  }

  /** The fragment entries that may hold document `number`: the whole table, or (version 4) its page. */
  async #fragmentEntries(number, signal) {
    if (!this.#manifest.fragmentPages) {
      const [name, bytes] = this.#manifest.fragments;
      return this.#reader.file(name, bytes, (b) => decodeFragmentTable(b, name, this.size), 'no hit can be shown', signal);
    }
    const pages = await this.#directory('fragments', this.#manifest.fragmentPages, this.size, 'no hit can be shown', signal);
    const page = lastAtOrBefore(pages, number);
    const [name, first, bytes] = pages[page];
    const end = page + 1 < pages.length ? pages[page + 1][1] : this.size;
    return this.#reader.file(name, bytes, (b) => decodePage(b, name, { kind: 'fragments', page, first, end }), 'hits of other pages still show', signal);
  }

  async #document(number, signal) {
    const table = await this.#fragmentEntries(number, signal);
    const [name, first, count, bytes] = table[lastAtOrBefore(table, number)];
    if (number >= first + count) throw new WebembedError('E_INDEX', `document ${number} is in no fragment of the index's table (${name} ends at ${first + count - 1})`);
    const docs = await this.#reader.file(name, bytes, (b) => decodeFragment(b, name, { first, count }), 'hits from other fragments still show', signal);
    return docs[number - first];
  }

  #readOnly(method) {
    return Promise.reject(new WebembedError('E_INDEX', `a shipped index is read-only: ${method}() is not possible. Rebuild it with the CLI (npx webembed index), or open a browser index (model.openIndex) to change documents`));
  }

  #listing() {
    return new WebembedError('E_INDEX', 'a shipped index fetches documents only for the hits a search returns: it cannot list or look them up by id');
  }

  #refuseIfClosed() {
    if (this.#closed) throw new WebembedError('E_DISPOSED', 'this index was closed; load it again');
  }
}

/** Lucene's idf, as the engine's (crate/src/search/keywords.rs). */
function idf(chunks, frequency) {
  return Math.fround(Math.log(1 + (chunks - frequency + 0.5) / (frequency + 0.5)));
}

/** The last entry of `list` (sorted by its second field, a first document) whose first is not past `number`. */
function lastAtOrBefore(list, number) {
  let [lo, hi] = [0, list.length - 1];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (list[mid][1] <= number) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The `n` best of `scored` (Map document → { index, score }) as `[{ doc, index, score }]`; ties to the lower document. */
function top(scored, n) {
  const list = [];
  for (const [doc, { index, score }] of scored) list.push({ doc, index, score });
  list.sort((a, b) => b.score - a.score || a.doc - b.doc);
  return list.slice(0, n);
}

function dot(query, values, at, dimension) {
  let sum = 0;
  for (let d = 0; d < dimension; d++) sum += query[d] * values[at + d];
  return sum;
}

function dotCodes(query, codes, at, dimension) {
  let [s0, s1, s2, s3] = [0, 0, 0, 0];
  let d = 0;
  for (; d + 4 <= dimension; d += 4) {
    s0 += query[d] * codes[at + d];
    s1 += query[d + 1] * codes[at + d + 1];
    s2 += query[d + 2] * codes[at + d + 2];
    s3 += query[d + 3] * codes[at + d + 3];
  }
  for (; d < dimension; d++) s0 += query[d] * codes[at + d];
  return s0 + s1 + s2 + s3;
}
