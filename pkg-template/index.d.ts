export type ErrorCode =
  | 'E_INPUT'
  | 'E_FETCH'
  | 'E_INTEGRITY'
  | 'E_CONFIG'
  | 'E_WEIGHTS'
  | 'E_TOKENIZER'
  | 'E_INFERENCE'
  | 'E_TOO_LARGE'
  | 'E_WEBGPU'
  | 'E_ABORTED'
  | 'E_DISPOSED'
  | 'E_INDEX'
  | 'E_STORAGE'
  | 'E_INTERNAL';

export class WebembedError extends Error {
  readonly code: ErrorCode;
}

export interface ProgressEvent {
  /** Path of the file inside the model folder, e.g. "model.safetensors". */
  file: string;
  loaded: number;
  /** 0 when the server sent no Content-Length. */
  total: number;
  status: 'download' | 'cached' | 'done';
  /** Totals across every file of the load so far. */
  aggregate: { loaded: number; total: number };
}

/** Any store with these three methods can cache model files (the Cache API has them). */
export interface ModelCache {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
  delete(url: string): Promise<boolean | void>;
  keys?(): Promise<ReadonlyArray<Request | string>>;
}

/** Passed to onBackendChange when WebGPU fails mid-session and the engine moves to the CPU. */
export interface BackendChangeEvent {
  from: 'cpu' | 'webgpu';
  to: 'cpu' | 'webgpu';
  /** What went wrong on the GPU (device lost, out of memory, …). */
  reason: string;
}

export interface LoadOptions {
  /**
   * Default 'auto': WebGPU when an adapter is on offer and a self-test against the CPU path
   * passes, else the CPU. 'webgpu' fails with E_WEBGPU (saying why) instead of falling back.
   */
  backend?: 'auto' | 'cpu' | 'webgpu';
  /** Called when a GPU failure moves the engine to the CPU (the running call still completes). */
  onBackendChange?: (event: BackendChangeEvent) => void;
  onProgress?: (event: ProgressEvent) => void;
  /** Host that Hugging Face ids resolve against. Default https://huggingface.co */
  hubUrl?: string;
  /** Branch, tag or commit for Hugging Face ids. Default "main". */
  revision?: string;
  signal?: AbortSignal;
  fetch?: typeof globalThis.fetch;
  /** Default true: the Cache API. false: no cache. Or a custom store. */
  cache?: boolean | ModelCache;
  /** Expected digests, e.g. { 'model.safetensors': 'sha256-…' }. */
  integrity?: Record<string, string>;
  /**
   * Lighter weights. 'q8': int8 matrices and kernels on the CPU and WebGPU, from
   * `model.q8.safetensors` when the folder has it (a quarter of the f32 download; `npx webembed
   * quantize` writes it), else the float weights quantized as they load. 'f16' loads
   * `model.fp16.safetensors` when offered, else the f32 weights with a warning.
   */
  dtype?: 'f32' | 'f16' | 'q8';
  /** Run the engine in a dedicated module Web Worker (fetch and cache objects cannot be passed). */
  worker?: boolean;
  /**
   * CPU threads that encode at once. Default 'auto': one per core but one (kept for the page or
   * Node's main thread), at most 4. Above 1, on the CPU backend: on a cross-origin isolated page
   * with relaxed SIMD, one engine in a worker on shared memory, its matmuls and attention split
   * over that many threads ('shared-memory'); elsewhere (and in Node) that many engines, one per
   * worker, each built from the one download ('worker-pool'). 1 keeps one engine on the calling
   * thread (or in one worker with `worker: true`). WebGPU runs one engine.
   */
  threads?: 'auto' | number;
  /** Bytes of wasm memory a worker pool's engines may hold together; it caps their count. Default 512 MiB. */
  memoryBudget?: number;
  /** Which wasm binary runs the CPU path. Default 'auto': relaxed SIMD where the browser has it. */
  simd?: 'auto' | 'relaxed-simd' | 'simd128';
  /**
   * Matryoshka truncation: every vector is cut to its first `truncateDim` values, after all of the
   * model's modules (Normalize included), as sentence-transformers' `truncate_dim` cuts them: a
   * normalizing model's cut vectors have norms below 1 (`similarity` is cosine either way).
   * `dimension`, indexes and shipped indexes then use that width.
   */
  truncateDim?: number;
}

export interface PromptOptions {
  /** A prompt named in the model's config_sentence_transformers.json, e.g. "query". */
  promptName?: string;
  /** A prompt string prepended to every text; wins over promptName. */
  prompt?: string;
}

export interface EncodeOptions extends PromptOptions {
  /** Texts per forward pass. Default 32. */
  batchSize?: number;
  /** This call's vectors cut to their first `truncateDim` values (1 to `dimension`), as LoadOptions.truncateDim cuts them. */
  truncateDim?: number;
}

/** One batch timed at load: its padded token count (rows × longest row) and milliseconds. */
export interface TimedBatch {
  tokens: number;
  ms: number;
}

/** A backend's modelled time for a batch: fixedMs + perTokenMs × padded tokens. */
export interface CostLine {
  fixedMs: number;
  perTokenMs: number;
}

/**
 * How the model picked its backend. 'per-batch': each encode batch runs on the backend its
 * timings predict faster for its size (small batches on the CPU, big ones on the GPU).
 */
export interface BackendChoice {
  chosen: 'cpu' | 'webgpu' | 'per-batch';
  /** Why, in words (the timings, the adapter, or what was asked for). */
  reason: string;
  /** The WebGPU adapter considered, when there was one. */
  adapter?: string | null;
  /** Present when 'auto' timed both backends at load. */
  cpu?: TimedBatch[];
  webgpu?: TimedBatch[];
  cpuLine?: CostLine;
  webgpuLine?: CostLine;
  /** Padded tokens from which batches run on the GPU ('per-batch' only). */
  gpuFromTokens?: number | null;
  /** Milliseconds the timing added to the load (kept under about 300). */
  spentMs?: number;
}

/** A ModelCache in the Origin Private File System. */
export class OPFSCache implements ModelCache {
  constructor(name?: string);
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
  delete(url: string): Promise<boolean>;
  keys(): Promise<string[]>;
}

/**
 * A loaded model. `Embedder.load` returns the same interface in the page, in worker mode
 * (`worker: true`) and as a worker pool (`threads` above 1); a test checks all three objects
 * against this declaration.
 */
export class Embedder {
  private constructor();
  /** Loads a model folder by URL, or a Hugging Face model id ("owner/name"). */
  static load(source: string | URL, options?: LoadOptions): Promise<Embedder>;
  /** Removes one model's cached files (source as load takes it), or everything webembed cached. */
  static clearCache(source?: string | URL, options?: Pick<LoadOptions, 'cache' | 'hubUrl' | 'revision'>): Promise<number>;
  readonly dimension: number;
  readonly maxSeqLength: number;
  /** Tokens in the model's vocabulary. */
  readonly vocabSize: number;
  /** Whether the model reads many languages (100 000 tokens or more, or many of other scripts than Latin): a search index's keyword side then defaults to 'auto'. */
  readonly multilingual: boolean;
  /** The model's named prompts (config_sentence_transformers.json), e.g. { query: 'query: ' }. */
  readonly prompts: Record<string, string>;
  /** The backend running now; 'webgpu' turns to 'cpu' if the GPU device fails. */
  readonly backend: 'cpu' | 'webgpu';
  /** The weight precision running now: 'q8' (int8 kernels), 'f16' (f16 weights on WebGPU) or 'f32'. */
  readonly dtype: 'f32' | 'f16' | 'q8';
  /** Why 'auto' chose the CPU (no adapter, a software adapter, self-test failed, the CPU timed faster, …); null otherwise. */
  readonly webgpuUnavailableReason: string | null;
  /** How the backend was chosen. With 'auto' on a real GPU, what timing both backends at load measured. */
  readonly backendChoice: BackendChoice;
  /** The adapter and weight precision while on WebGPU; null on the CPU. */
  readonly gpuInfo: { adapter: string; f16Weights: boolean; buffers: number } | null;
  /** GPU buffers the model holds (flat across encodes; 0 after dispose). In worker mode: as of the last call. */
  readonly gpuBufferCount: number;
  /** The wasm binary in use: 'relaxed-simd' (fused multiply-add) or 'simd128'. */
  readonly simd: 'relaxed-simd' | 'simd128';
  /** The folder URL the model was loaded from. */
  readonly url: string;
  /** Bytes of wasm memory the model's instance holds (0 after dispose). In worker mode: as of the last call. */
  readonly wasmMemoryBytes: number;
  /** Threads encoding at once: 1, the shared engine's threads, or the pool's engines (memoryBudget may hold it under `threads`); 0 after dispose. */
  readonly threads: number;
  /** How: 'shared-memory' (one engine, threads on shared memory), 'worker-pool' (one engine per worker), or 'none' (one engine). */
  readonly parallelism: 'shared-memory' | 'worker-pool' | 'none';
  encode(texts: string | string[], options?: EncodeOptions): Promise<Float32Array[]>;
  tokenize(text: string, options?: PromptOptions): Promise<number[]>;
  /** The chunks a search index cuts a long text into (string indices); each fits the model whole. */
  chunks(text: string, options?: ChunkOptions): Promise<Span[]>;
  similarity(a: Float32Array | Float32Array[], b: Float32Array | Float32Array[]): Float32Array[];
  /** Opens (or creates) the persistent search index `name` for this model. */
  openIndex<M = unknown>(name: string, options?: IndexOptions): Promise<SearchIndex<M>>;
  /** Stores an index made by `index.export()` (as `options.name`, default its own name) and opens it. */
  importIndex<M = unknown>(buffer: ArrayBuffer | ArrayBufferView, options?: { name?: string; storage?: IndexOptions["storage"] }): Promise<SearchIndex<M>>;
  /** Opens a shipped index (a folder `npx webembed index` wrote, on any static host): read-only, fetched as searches need it. */
  loadIndex<M = unknown>(url: string | URL, options?: LoadIndexOptions): Promise<ShippedIndex<M>>;
  /** sentence-transformers' InformationRetrievalEvaluator metrics for this model on a labelled set. */
  evaluate(data: EvaluationData, options?: EvaluateOptions): Promise<IrMetrics>;
  dispose(): Promise<void>;
}

export interface Span {
  start: number;
  end: number;
}

/**
 * A cross-encoder reranker (sentence-transformers' CrossEncoder): a query and a passage read
 * together. `Reranker.load` takes Embedder.load's options and returns this interface in the page,
 * in worker mode and as a worker pool; a test checks the objects against this declaration.
 */
export class Reranker {
  private constructor();
  /** Loads a CrossEncoder folder by URL, or a Hugging Face model id: the Hugging Face layout or sentence-transformers 6's modular one. */
  static load(source: string | URL, options?: LoadOptions): Promise<Reranker>;
  /** Scores per pair: 1 for most rerankers (score gives numbers), more for multi-label heads (arrays). */
  readonly numLabels: number;
  /** Tokens a pair is cut to (longest side first), special tokens included. */
  readonly maxSeqLength: number;
  readonly backend: 'cpu' | 'webgpu';
  readonly dtype: 'f32' | 'f16' | 'q8';
  readonly url: string;
  readonly threads: number;
  readonly webgpuUnavailableReason: string | null;
  /** CrossEncoder.predict: one number per pair for one label (the folder's activation, else sigmoid), an array per pair for several. */
  score(pairs: [string, string][], options?: { batchSize?: number }): Promise<number[] | number[][]>;
  /** CrossEncoder.rank: the documents scored against the query, best first (one-label rerankers). */
  rank(query: string, documents: string[], options?: { k?: number; returnDocuments?: boolean; batchSize?: number }): Promise<{ index: number; score: number; text?: string }[]>;
  dispose(): Promise<void>;
}

export interface ChunkOptions extends PromptOptions {
  /** Tokens per chunk, prompt and special tokens included; default and most: maxSeqLength. */
  maxTokens?: number;
  /** Tokens of whole sentences consecutive chunks share; default 32. */
  overlapTokens?: number;
}

export interface IndexOptions {
  /** How vectors are stored: int8 with one scale per vector (default) or f32. */
  vectors?: 'int8' | 'f32';
  /** 'auto' (default): IndexedDB where the context has it, else memory; 'opfs': the Origin Private File System. */
  storage?: 'auto' | 'indexeddb' | 'opfs' | 'memory';
  /** Tokens per chunk (default maxSeqLength, at most 512). */
  chunkTokens?: number;
  /** Tokens consecutive chunks share (default 32). */
  overlapTokens?: number;
  /** Prompt for queries; default the model's 'query' prompt. */
  queryPrompt?: string;
  /** Prompt for documents; default the model's 'passage' (or 'document') prompt. */
  documentPrompt?: string;
  /**
   * The keyword side's language: a Snowball language (e.g. 'english' or 'en': its stemming and
   * stopwords), 'auto' (each text's stopwords by its own language, no stemming), or null (neither).
   * Default: 'english' for an English model, 'auto' for a multilingual one (`model.multilingual`).
   */
  language?: string | null;
  /** BM25's term-frequency saturation; default 1.2. */
  k1?: number;
  /** BM25's length normalization; default 0.5 (chunks are already of bounded length). */
  b?: number;
}

export interface SearchOptions<M = unknown> {
  /** Documents returned; default 10. */
  k?: number;
  /** 'hybrid' (default for a text query): both rankings fused; 'semantic': vectors only; 'keyword': BM25 only. */
  mode?: 'hybrid' | 'semantic' | 'keyword';
  /**
   * How hybrid fuses: weight · cosine + (1 − weight) · √min(1, BM25 / the query's bound), the bound each
   * query term's idf × (k1 + 1) (by default weight 0.85 for a query of several words and 0.3 for one word
   * or identifier), or reciprocal rank fusion (k = 60).
   */
  fusion?: { method: 'rrf' } | { method: 'weighted'; weight?: number };
  /** Documents each side hands hybrid fusion, and that `rerank` rescores (default 50, or k when larger). */
  candidates?: number;
  filter?: (metadata: M | null, id: string) => boolean;
  /** A one-label Reranker: the best candidates are rescored by their best chunk, and ranked by that score. */
  rerank?: Reranker;
}

export interface IndexDocument<M = unknown> {
  id: string;
  text: string;
  /**
   * What names the document rather than what it says: its page title, heading chain and path
   * (at most 4096 characters). The keyword side weighs it beside the text's best chunk; it is not embedded.
   */
  title?: string | null;
  metadata?: M;
}

export interface SearchHit<M = unknown> {
  id: string;
  score: number;
  /** The document's best chunk: its position and span in the text. */
  chunk: { index: number; start: number; end: number };
  /** That chunk's text. */
  text: string;
  /** The document's title field (null: none). */
  title: string | null;
  metadata: M | null;
  /** The cosine of the query and that chunk (null in keyword mode). */
  semanticScore: number | null;
  /** BM25 of the query's terms in that chunk (0: none of them; null for a query vector). */
  keywordScore: number | null;
  /** The query's terms in `text`, as string indices. */
  highlights: Span[];
  /** The reranker's score of the query and `text` (a reranked search only; then also `score`). */
  rerankScore?: number;
}

export interface AddProgress {
  chunks: number;
  totalChunks: number;
  documents: number;
}

export class SearchIndex<M = unknown> {
  readonly name: string;
  /** Documents stored. */
  readonly size: number;
  /** Chunks stored (one vector each). */
  readonly chunkCount: number;
  /** Bytes of wasm memory the vectors take. */
  readonly vectorBytes: number;
  /** Bytes of wasm memory the keyword postings take. */
  readonly keywordBytes: number;
  readonly storage: 'indexeddb' | 'opfs' | 'memory';
  readonly settings: { vectors: 'int8' | 'f32'; chunkTokens: number; overlapTokens: number; keywords: { language: string | null; k1: number; b: number }; model: { url: string; dtype: string; dimension: number; queryPrompt: string; documentPrompt: string } };
  has(id: string): boolean;
  /** The stored ids, oldest first. */
  ids(): string[];
  get(id: string): { id: string; text: string; title: string | null; metadata: M | null; chunks: Span[] } | undefined;
  /** Adds or replaces documents; all of one call are stored, or none. */
  add(documents: IndexDocument<M>[], options?: { onProgress?: (progress: AddProgress) => void; batchSize?: number }): Promise<void>;
  remove(ids: string | string[]): Promise<number>;
  search(query: string | Float32Array | number[], options?: SearchOptions<M>): Promise<SearchHit<M>[]>;
  export(): Promise<ArrayBuffer>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

export interface LoadIndexOptions {
  /** Where verified index files are kept (as LoadOptions.cache): default the Cache API (none in Node). */
  cache?: boolean | ModelCache;
  /** Ends the opening fetches (E_ABORTED). */
  signal?: AbortSignal;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof globalThis.fetch;
}

export interface ShippedSearchOptions<M = unknown> extends SearchOptions<M> {
  /** Partitions a semantic search reads (default: about 240 KB of them). */
  probes?: number;
  /** Ends this search's fetches (E_ABORTED). */
  signal?: AbortSignal;
}

export interface ShippedHit<M = unknown> extends SearchHit<M> {
  /** The document's url, as the CLI recorded it (an HTML section: `page.html#anchor`). */
  url: string | null;
}

/** A shipped index: searched as a SearchIndex; add, remove, clear and export reject with E_INDEX, has, ids and get throw it. */
export class ShippedIndex<M = unknown> {
  /** The index folder's URL. */
  readonly name: string;
  readonly size: number;
  readonly chunkCount: number;
  readonly storage: 'shipped';
  readonly settings: { vectors: 'int8'; chunkTokens: number; overlapTokens: number; keywords: { language: string | null; k1: number; b: number } | null; model: { name: string; dtype: string; dimension: number; queryPrompt: string; documentPrompt: string } };
  /** Bytes and files fetched from the host so far (answers from the cache not counted). */
  readonly fetched: { bytes: number; files: number };
  /** Bytes of fetched files held in memory, and of the centroids. */
  readonly memoryBytes: number;
  search(query: string | Float32Array | number[], options?: ShippedSearchOptions<M>): Promise<ShippedHit<M>[]>;
  has(id: string): never;
  ids(): never;
  get(id: string): never;
  add(documents: IndexDocument<M>[]): Promise<never>;
  remove(ids: string | string[]): Promise<never>;
  clear(): Promise<never>;
  export(): Promise<never>;
  close(): Promise<void>;
}

export interface EvaluationData {
  queries: Record<string, string>;
  corpus: Record<string, string>;
  relevant: Record<string, string[] | Set<string>>;
}

export interface EvaluateOptions {
  /** A cutoff or a list of them; default [1, 3, 5, 10]. */
  k?: number | number[];
  queryPrompt?: string;
  corpusPrompt?: string;
  batchSize?: number;
  /** Rank with a search index of the corpus in this mode (what an application's search returns) instead of whole-text cosine. */
  mode?: 'hybrid' | 'semantic' | 'keyword';
  fusion?: SearchOptions['fusion'];
  /** Rerank each query's candidates with this one-label Reranker (mode defaults to 'hybrid'). */
  rerank?: Reranker;
  candidates?: number;
  /** Options of that index (chunking, language, k1, b). */
  index?: Omit<IndexOptions, 'storage'>;
}

export interface IrMetrics {
  accuracy: Record<number, number>;
  precision: Record<number, number>;
  recall: Record<number, number>;
  mrr: Record<number, number>;
  ndcg: Record<number, number>;
  map: Record<number, number>;
  /** Queries counted (those with a relevant document). */
  queries: number;
}
