// webembed: sentence embeddings in the browser, as sentence-transformers computes them.

import { asWebembedError, WebembedError } from './errors.js';
import { clearCache, openCache } from './cache.js';
import { createSession, fetchConfigFiles, fetchWeights, resolveModelUrl } from './hub.js';
import { newInstance, pickSimd } from './instance.js';
import { streamInto } from './safetensors.js';
import { similarity } from './similarity.js';
import { WorkerEmbedder } from './worker-client.js';

export { OPFSCache } from './cache.js';
export { WebembedError } from './errors.js';

const BACKENDS = ['auto', 'cpu', 'webgpu'];

async function buildEngine(url, options) {
  const cache = await openCache(options.cache);
  const glue = await newInstance(options.simd, cache);
  const session = createSession(url, { ...options, cache });
  const loader = new glue.ModelLoader();
  try {
    for (const [name, bytes] of await fetchConfigFiles(session, glue)) loader.addFile(name, bytes);
    // Refuses unsupported or too-large models before their weights download.
    loader.checkSpec();
    await fetchWeights(
      session,
      glue,
      (name, bytes, kind) => (kind === 'safetensors' ? streamInto(loader, bytes, name) : loader.addFile(name, bytes)),
      options.dtype,
    );
  } catch (error) {
    loader.free();
    throw asWebembedError(error);
  }
  try {
    return { glue, engine: loader.build() };
  } catch (error) {
    throw asWebembedError(error);
  }
}

function checkBackend(backend) {
  if (!BACKENDS.includes(backend)) {
    throw new WebembedError('E_INPUT', `backend must be one of ${BACKENDS.join(', ')}; got ${JSON.stringify(backend)}`);
  }
  if (backend === 'webgpu') {
    throw new WebembedError('E_WEBGPU', 'this build of webembed has no WebGPU backend yet; use backend "cpu" or "auto"');
  }
}

function normalizeTexts(texts) {
  if (typeof texts === 'string') return [texts];
  if (!Array.isArray(texts)) {
    const what = texts === null ? 'null' : typeof texts;
    throw new WebembedError('E_INPUT', `encode() takes a string or an array of strings; got ${what}`);
  }
  return texts.map((text, i) => {
    if (typeof text !== 'string') {
      const what = text === null ? 'null' : typeof text;
      throw new WebembedError('E_INPUT', `texts[${i}] is ${what}; every text must be a string`);
    }
    // Lone surrogates cannot be UTF-8; they become U+FFFD, as TextEncoder does.
    return typeof text.toWellFormed === 'function' ? text.toWellFormed() : text;
  });
}

function checkPromptOptions({ promptName, prompt } = {}) {
  if (promptName !== undefined && promptName !== null && typeof promptName !== 'string') {
    throw new WebembedError('E_INPUT', `promptName must be a string; got ${typeof promptName}`);
  }
  if (prompt !== undefined && prompt !== null && typeof prompt !== 'string') {
    throw new WebembedError('E_INPUT', `prompt must be a string; got ${typeof prompt}`);
  }
  return [promptName ?? undefined, prompt ?? undefined];
}

export class Embedder {
  #url;
  #options;
  #glue;
  #engine;
  #queue = Promise.resolve();
  #disposed = false;

  constructor(secret, url, options, { glue, engine }) {
    if (secret !== CONSTRUCT) throw new TypeError('use Embedder.load(source, options)');
    this.#url = url;
    this.#options = options;
    this.#glue = glue;
    this.#engine = engine;
    this.simd = options.simd;
    this.dimension = engine.dimension;
    this.maxSeqLength = engine.maxSeqLength;
    this.prompts = engine.prompts;
  }

  /**
   * Loads a model folder (URL or Hugging Face id).
   * Options: backend ('auto' | 'cpu' | 'webgpu'), onProgress({ file, loaded, total, status,
   * aggregate }), hubUrl, revision, signal, fetch, cache (true | false | { match, put, delete }),
   * integrity ({ file: 'sha256-…' }), dtype ('f32' | 'f16' | 'q8'), worker (boolean),
   * simd ('auto' | 'relaxed-simd' | 'simd128').
   */
  static async load(source, options = {}) {
    if (options?.worker) return WorkerEmbedder.load(source, options);
    const { backend = 'auto', hubUrl, revision, onProgress, signal, fetch, cache, integrity, dtype, simd: simdPreference } = options ?? {};
    checkBackend(backend);
    const url = resolveModelUrl(source, { hubUrl, revision });
    const simd = pickSimd(simdPreference);
    try {
      const built = await buildEngine(url, { onProgress, signal, fetch, cache, integrity, dtype, simd });
      return new Embedder(CONSTRUCT, url, { fetch, cache, integrity, dtype, simd }, built);
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

  get backend() {
    return this.#engine?.backend ?? 'cpu';
  }

  /** The folder URL this model was loaded from. */
  get url() {
    return this.#url;
  }

  /** Embeds one text or an array of texts; resolves to one Float32Array per text. */
  async encode(texts, options = {}) {
    const list = normalizeTexts(texts);
    const [promptName, prompt] = checkPromptOptions(options ?? {});
    const batchSize = options?.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new WebembedError('E_INPUT', `batchSize must be a positive integer; got ${batchSize}`);
    }
    if (list.length === 0) return [];
    const flat = await this.#run((engine) => engine.encode(list, promptName, prompt, batchSize));
    const dim = this.dimension;
    return list.map((_, i) => flat.slice(i * dim, (i + 1) * dim));
  }

  /** The model's input ids for a text, special tokens included, after the prompt is prepended. */
  async tokenize(text, options = {}) {
    if (typeof text !== 'string') {
      throw new WebembedError('E_INPUT', `tokenize() takes a string; got ${text === null ? 'null' : typeof text}`);
    }
    const [promptName, prompt] = checkPromptOptions(options ?? {});
    const ids = await this.#run((engine) => engine.tokenize(text, promptName, prompt));
    return Array.from(ids);
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
    this.#glue = null;
  }

  /** Test hook: makes the engine trap, to exercise the recovery path. */
  async _crashForTest() {
    return this.#run((engine) => engine.panicForTest());
  }

  /** Bytes of wasm memory this model's instance holds (for diagnostics and leak tests). */
  get wasmMemoryBytes() {
    return this.#glue?.wasmMemoryBytes() ?? 0;
  }

  // Calls run one at a time: the engine is single-threaded and holds mutable state.
  #run(task) {
    const result = this.#queue.then(() => this.#call(task));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #call(task) {
    if (this.#disposed) throw new WebembedError('E_DISPOSED', 'this Embedder was disposed; load the model again');
    if (!this.#engine) {
      // The previous instance trapped: build a fresh one from the same folder.
      const built = await buildEngine(this.#url, this.#options);
      this.#glue = built.glue;
      this.#engine = built.engine;
    }
    try {
      return task(this.#engine);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        const detail = safePanicMessage(this.#glue) || error.message;
        this.#engine = null;
        this.#glue = null;
        throw new WebembedError('E_INTERNAL', `the engine crashed (${detail}); it has been reset, so the next call works again`, { cause: error });
      }
      throw asWebembedError(error);
    }
  }
}

const CONSTRUCT = Symbol('construct');

function safePanicMessage(glue) {
  try {
    return glue?.lastPanic() ?? '';
  } catch {
    return '';
  }
}
