// Embedder: a model on this thread's engine (or, by its options, in a worker or a pool of them).

import { announceBackendChange, checkBackend, cpuOnlyReason, startWebGpu } from '../engine/backend.js';
import { clearCache, openCache } from '../loading/cache.js';
import { asWebembedError, WebembedError } from '../core/errors.js';
import { beginLoad, createSession, fetchConfigFiles, fetchWeights, resolveModelUrl } from '../loading/hub.js';
import { checkChunkArgs, checkEncodeArgs, checkTokenizeArgs, checkTruncateDim, longestFirst, spansFromFlat, truncateVectors } from '../core/input.js';
import { newInstance, pickSimd, sharedMemoryAvailable } from '../engine/instance.js';
import { canStartWorkers, pauser } from '../core/platform.js';
import { streamInto } from '../loading/safetensors.js';
import { PoolEmbedder } from '../workers/pool.js';
import { addSearchMethods } from './search-methods.js';
import { similarity } from '../core/similarity.js';
import { checkMemoryBudget, resolveThreads } from '../engine/threads.js';
import { WorkerEmbedder } from '../workers/client.js';


async function buildEngine(url, options) {
  const endLoad = beginLoad(url);
  let session;
  try {
    const cache = await openCache(options.cache);
    const glue = await newInstance(options.simd, cache, { threads: options.sharedThreads, spawnThreads: options.spawnThreads });
    session = createSession(url, { ...options, cache });
    return await buildFrom(glue, session, options);
  } catch (error) {
    await session?.forget();
    throw asWebembedError(error);
  } finally {
    endLoad();
  }
}

async function buildFrom(glue, session, options) {
  let dtype = options.dtype ?? 'f32';
  const loader = new glue.ModelLoader(dtype);
  if (options.reranker) loader.asReranker();
  try {
    const config = await fetchConfigFiles(session, glue);
    for (const [name, bytes] of config) loader.addFile(name, bytes);
    // Refuses unsupported or too-large models before their weights download.
    loader.checkSpec();
    // With no dtype asked, the folder's own weights decide (q8 when that is all it has).
    await fetchWeights(
      session,
      glue,
      (name, bytes, kind, fileDtype) => {
        if (fileDtype !== dtype) loader.useDtype((dtype = fileDtype));
        return kind === 'safetensors' ? streamInto(loader, bytes, name) : loader.addFile(name, bytes);
      },
      options.dtype,
      config,
    );
  } catch (error) {
    loader.free();
    throw error;
  }
  const engine = loader.build(); // consumes the loader, whether it succeeds or not
  try {
    if (options.truncateDim !== undefined) engine.setTruncateDim(options.truncateDim);
    // An unasked dtype lets the GPU keep f16 weights where it can, as before q8-only folders loaded.
    const gpuDtype = options.dtype ?? (dtype === 'q8' ? 'q8' : undefined);
    const webgpu = await startWebGpu(engine, options.backend ?? 'auto', gpuDtype, { allowSoftwareAdapter: options._allowSoftwareAdapter });
    return { glue, engine, webgpu };
  } catch (error) {
    engine.free();
    throw error;
  }
}

export class Embedder {
  #url;
  #options;
  #glue;
  #engine;
  #queue = Promise.resolve();
  #disposed = false;
  #backend;
  #onBackendChange;
  #adapter;
  #dtype;
  // GPU buffers still live when dispose() dropped the instance (0 unless something leaked).
  #buffersAtDispose = 0;

  constructor(secret, url, options, { glue, engine, webgpu }) {
    if (secret !== CONSTRUCT) throw new TypeError('use Embedder.load(source, options)');
    this.#url = url;
    this.#options = options;
    this.#glue = glue;
    this.#engine = engine;
    this.#backend = engine.backend;
    this.#dtype = engine.dtype;
    this.#onBackendChange = options.onBackendChange;
    /** Why 'auto' runs on the CPU (null when on WebGPU or when the CPU was asked for). */
    this.webgpuUnavailableReason = webgpu.reason ?? null;
    /** How the backend was chosen: { chosen, reason, adapter } and, when 'auto' timed both, the timings. */
    this.backendChoice = webgpu.choice;
    this.#adapter = webgpu.adapter ?? null;
    // The shared-memory build is the relaxed-SIMD build with atomics.
    this.simd = options.simd === 'threads' ? 'relaxed-simd' : options.simd;
    this.dimension = engine.dimension;
    this.maxSeqLength = engine.maxSeqLength;
    /** Tokens in the model's vocabulary. */
    this.vocabSize = engine.vocabSize;
    /** Whether the model reads many languages (a large vocabulary, or one of many scripts): a search index's keyword side then reads each text in its own language. */
    this.multilingual = engine.multilingual;
    this.prompts = engine.prompts;
    // For Reranker: the labels per pair (0 for an embedding model).
    this._numLabels = engine.numLabels;
    /** One engine on the page's thread (`threads` above 1 runs a pool of worker engines instead). */
    this.threads = 1;
    this.parallelism = 'none';
  }

  /**
   * Loads a model folder (URL or Hugging Face id).
   * Options: backend ('auto' | 'cpu' | 'webgpu'), onProgress({ file, loaded, total, status,
   * aggregate }), hubUrl, revision, signal, fetch, cache (true | false | { match, put, delete }),
   * integrity ({ file: 'sha256-…' }), dtype ('f32' | 'f16' | 'q8'), worker (boolean),
   * simd ('auto' | 'relaxed-simd' | 'simd128'), onBackendChange({ from, to, reason }),
   * threads ('auto' | n: above 1, n CPU engines in a pool of workers), memoryBudget (bytes the
   * pool's engines may hold together; default 512 MiB).
   */
  static async load(source, options = {}) {
    const { backend = 'auto', hubUrl, revision, onProgress, signal, fetch, cache, integrity, dtype, simd: simdPreference, onBackendChange } = options ?? {};
    // Test hook: lets 'auto' time a software adapter (SwiftShader) as if it were a GPU.
    const _allowSoftwareAdapter = options?._allowSoftwareAdapterForTest === true;
    checkBackend(backend);
    const truncateDim = checkTruncateDim(options?.truncateDim);
    const threads = resolveThreads(options?.threads);
    const memoryBudget = checkMemoryBudget(options?.memoryBudget);
    if (threads > 1 && canStartWorkers) {
      const cpuReason = await cpuOnlyReason(backend, { allowSoftwareAdapter: _allowSoftwareAdapter });
      if (cpuReason !== null) {
        const url = resolveModelUrl(source, { hubUrl, revision });
        const simd = pickSimd(simdPreference);
        // One engine on shared memory where the page may block a worker on it; else one per worker.
        const shared = simd === 'relaxed-simd' && sharedMemoryAvailable();
        return PoolEmbedder.load(url, { threads, shared, memoryBudget, simd, dtype, cache, fetch, integrity, onProgress, signal, cpuReason, truncateDim, reranker: options?._reranker === true });
      }
    }
    if (options?.worker) return WorkerEmbedder.load(source, options);
    if (onBackendChange !== undefined && typeof onBackendChange !== 'function') {
      throw new WebembedError('E_INPUT', 'onBackendChange must be a function');
    }
    const url = resolveModelUrl(source, { hubUrl, revision });
    // Set by worker.js alone: this engine is a shared-memory one with a pool of that many threads.
    const sharedThreads = options?._sharedThreadsInWorker;
    const spawnThreads = options?._spawnThreadsInWorker;
    // Set by worker.js alone: the folder's files, fetched and checked by a pool's page.
    const files = options?._filesInWorker;
    const simd = sharedThreads ? 'threads' : pickSimd(simdPreference);
    // Set by Reranker.load: the folder is a CrossEncoder's.
    const reranker = options?._reranker === true;
    try {
      const built = await buildEngine(url, { onProgress, signal, fetch, cache, integrity, files, dtype, simd, sharedThreads, spawnThreads, backend, reranker, truncateDim, _allowSoftwareAdapter });
      return new Embedder(CONSTRUCT, url, { fetch, cache, integrity, files, dtype, simd, sharedThreads, spawnThreads, backend, reranker, truncateDim, onBackendChange, _allowSoftwareAdapter }, built);
    } catch (error) {
      throw asWebembedError(error);
    }
  }

  /**
   * Removes cached files: those of one model (`source` as `load` takes it), or everything webembed
   * cached. `options.cache` picks a custom cache object, as in `load`.
   */
  static async clearCache(source, options = {}) {
    const cache = await openCache(options.cache);
    const prefix = source === undefined ? undefined : resolveModelUrl(source, options);
    return clearCache(cache, prefix);
  }

  /** 'webgpu' or 'cpu': the backend running now (WebGPU falls back to the CPU if the device fails). */
  get backend() {
    return this.#backend;
  }

  /** The weight precision running now: 'q8' (int8 kernels), 'f16' (f16 weights on WebGPU) or 'f32'. */
  get dtype() {
    try {
      return this.#engine?.dtype ?? this.#dtype;
    } catch {
      return this.#dtype; // busy with an encode: the last answer
    }
  }

  /** The WebGPU adapter and weight precision, when on WebGPU; else null. */
  get gpuInfo() {
    let info = null;
    try {
      info = this.#engine?.gpuInfo ?? null;
    } catch {
      // Busy with an encode: the engine cannot be asked now.
    }
    return info && { ...info, adapter: this.#adapter ?? info.adapter };
  }

  /** The folder URL this model was loaded from. */
  get url() {
    return this.#url;
  }

  /** Embeds one text or an array of texts; resolves to one Float32Array per text. */
  async encode(texts, options = {}) {
    const { list, promptName, prompt, batchSize, truncateDim } = checkEncodeArgs(texts, options, this.maxSeqLength, this.dimension);
    if (list.length === 0) return [];
    // One batch per engine call, so wasm memory holds one batch's texts and the page gets the
    // thread back between batches.
    const order = longestFirst(list);
    const vectors = new Array(list.length);
    const dim = this.dimension;
    const pause = pauser();
    await this.#enqueue(async () => {
      for (let start = 0; start < order.length; start += batchSize) {
        const indices = order.slice(start, start + batchSize);
        const batch = indices.map((i) => list[i]);
        const flat = await this.#call((engine) =>
          engine.backend === 'webgpu' ? engine.encodeAsync(batch, promptName, prompt, batchSize) : engine.encode(batch, promptName, prompt, batchSize),
        );
        indices.forEach((index, row) => (vectors[index] = flat.slice(row * dim, (row + 1) * dim)));
        await pause.now();
      }
    });
    return truncateVectors(vectors, truncateDim);
  }

  /**
   * For Reranker: scores of the pairs (firsts[i], seconds[i]), already checked and cut; resolves
   * to one Float32Array of pairs × numLabels. One batch per engine call, as in encode.
   */
  async _scorePairs(firsts, seconds, batchSize) {
    const labels = this._numLabels;
    const scores = new Float32Array(firsts.length * labels);
    const pause = pauser();
    await this.#enqueue(async () => {
      for (let start = 0; start < firsts.length; start += batchSize) {
        const [a, b] = [firsts.slice(start, start + batchSize), seconds.slice(start, start + batchSize)];
        const flat = await this.#call((engine) => (engine.backend === 'webgpu' ? engine.scorePairsAsync(a, b, batchSize) : engine.scorePairs(a, b, batchSize)));
        scores.set(flat, start * labels);
        await pause.now();
      }
    });
    return scores;
  }

  /** The model's input ids for a text, special tokens included, after the prompt is prepended. */
  async tokenize(text, options = {}) {
    const { text: cut, promptName, prompt } = checkTokenizeArgs(text, options, this.maxSeqLength);
    const ids = await this.#run((engine) => engine.tokenize(cut, promptName, prompt));
    return Array.from(ids);
  }

  /**
   * The chunks a search index cuts a long `text` into: `[{ start, end }]` (string indices), each
   * fitting the model whole with the prompt. Options: maxTokens (default maxSeqLength),
   * overlapTokens (default 32), promptName, prompt.
   */
  async chunks(text, options = {}) {
    const { text: whole, promptName, prompt, maxTokens, overlapTokens } = checkChunkArgs(text, options, this.maxSeqLength);
    return spansFromFlat(await this.#run((engine) => engine.chunkSpans(whole, promptName, prompt, maxTokens, overlapTokens)));
  }

  /** Cosine similarity of every vector in `a` with every vector in `b`: one Float32Array row per `a`. */
  similarity(a, b) {
    return similarity(a, b);
  }

  /** Frees the model and its wasm instance; the object cannot be used afterwards. */
  async dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#queue.catch(() => {});
    this.#engine?.free();
    this.#engine = null;
    // Nothing may keep the instance: dropping the last reference returns its whole memory.
    this.#buffersAtDispose = this.#glue?.gpuBufferCount() ?? 0;
    endThreads(this.#glue);
    this.#glue = null;
  }

  /** Test hook: 'cpu' or 'webgpu', where the last batch ran. */
  get _lastBatchBackendForTest() {
    return this.#engine?.lastBatchBackend ?? null;
  }

  /** Test hook: routes batches by these cost lines ({ fixedMs, perTokenMs } each), as 'auto' timing would. */
  async _setRouteForTest({ cpu, webgpu }) {
    return this.#run((engine) => engine.setRouteForTest(cpu.fixedMs, cpu.perTokenMs, webgpu.fixedMs, webgpu.perTokenMs));
  }

  /** Test hook: destroys the GPU device once `batches` more batches have started. */
  async _loseDeviceForTest(batches = 0) {
    return this.#run((engine) => engine.loseDeviceForTest(batches));
  }

  /** GPU buffers this model's instance holds (weights and pooled workspace); 0 after dispose(). */
  get gpuBufferCount() {
    return this.#glue?.gpuBufferCount() ?? this.#buffersAtDispose;
  }

  /** Test hook: makes the engine trap, to exercise the recovery path. */
  async _crashForTest() {
    return this.#run((engine) => engine.panicForTest());
  }

  /** Test hook: this model's WebAssembly.Memory (hold it only through a WeakRef). */
  get _wasmMemoryForTest() {
    return this.#glue?.wasmMemory ?? null;
  }

  /** Bytes of wasm memory this model's instance holds (for diagnostics and leak tests). */
  get wasmMemoryBytes() {
    return this.#glue?.wasmMemoryBytes() ?? 0;
  }

  // Calls run one at a time: the engine is single-threaded and holds mutable state. A call
  // made before dispose() finishes; one made after is refused.
  #run(task) {
    return this.#enqueue(() => this.#call(task));
  }

  #enqueue(job) {
    if (this.#disposed) return Promise.reject(new WebembedError('E_DISPOSED', 'this Embedder was disposed; load the model again'));
    const result = this.#queue.then(job);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #call(task) {
    if (!this.#engine) {
      if (this.#disposed) throw new WebembedError('E_DISPOSED', 'this Embedder was disposed; load the model again');
      // The previous instance trapped: build a fresh one from the same folder, on the backend
      // it ran on ('auto' if WebGPU had not failed before).
      const backend = this.#backend === 'cpu' && this.#options.backend !== 'cpu' ? 'cpu' : this.#options.backend;
      const built = await buildEngine(this.#url, { ...this.#options, backend: backend === 'webgpu' ? 'auto' : backend });
      this.#glue = built.glue;
      this.#engine = built.engine;
      this.#adapter = built.webgpu.adapter ?? null;
      this.backendChoice = built.webgpu.choice;
      this.#noticeBackend();
    }
    try {
      return await task(this.#engine);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        const detail = safePanicMessage(this.#glue) || error.message;
        this.#engine = null;
        endThreads(this.#glue);
        this.#glue = null;
        throw new WebembedError('E_INTERNAL', `the engine crashed (${detail}); it has been reset, so the next call works again`, { cause: error });
      }
      throw asWebembedError(error);
    } finally {
      if (this.#engine) this.#noticeBackend();
    }
  }

  // A lost GPU device moves the engine to the CPU mid-call: tell the app once.
  #noticeBackend() {
    const now = this.#engine.backend;
    if (now === this.#backend) return;
    const event = { from: this.#backend, to: now, reason: this.#engine.fallbackReason ?? 'the engine was rebuilt' };
    this.#backend = now;
    announceBackendChange(this.#onBackendChange, event);
  }
}

// Worker and pool models are what Embedder.load returns in those modes: they search alike.
for (const ModelClass of [Embedder, WorkerEmbedder, PoolEmbedder]) addSearchMethods(ModelClass);

const CONSTRUCT = Symbol('construct');

/**
 * Test hook: runs every WGSL kernel against the CPU result on this environment's WebGPU adapter;
 * resolves to { adapter, f16Weights, reports: [{ kernel, shape, error, tolerance, passed }] }.
 */
export async function _checkKernelsForTest({ quick = false } = {}) {
  const glue = await newInstance(pickSimd('auto'), await openCache(false));
  try {
    return JSON.parse(await glue.checkKernels(quick));
  } catch (error) {
    throw asWebembedError(error);
  }
}

// A shared-memory instance's threads hold its memory: stopping its pool lets them leave their
// waits and their workers close (a browser does not end a worker blocked in a wait).
function endThreads(glue) {
  try {
    glue?.stopThreads?.();
  } catch {
    // A trapped instance cannot be asked; its threads end with their workers.
  }
}

function safePanicMessage(glue) {
  try {
    return glue?.lastPanic() ?? '';
  } catch {
    return '';
  }
}
