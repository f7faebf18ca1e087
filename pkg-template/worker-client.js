// Worker mode, main-thread side: the same model interface as the in-page Embedder, with the
// engine in a dedicated module worker that the package starts itself, so encoding never blocks
// the page.

import { announceBackendChange, checkBackend } from './backend.js';
import { WebembedError } from './errors.js';
import { resolveModelUrl } from './hub.js';
import { checkBatchSize, checkPromptOptions, checkText, maxTextUnits, normalizeTexts } from './input.js';
import { similarity } from './similarity.js';

const NOT_CLONEABLE = ['fetch', 'cache'];

export class WorkerEmbedder {
  #worker;
  #pending = new Map();
  #nextId = 1;
  #disposed = false;
  #onBackendChange;
  // The worker's model state, as of its last answer.
  #state = { backend: null, dtype: null, gpuInfo: null, gpuBufferCount: 0, wasmMemoryBytes: 0 };

  static async load(source, options) {
    for (const key of NOT_CLONEABLE) {
      if (options[key] !== undefined && typeof options[key] !== 'boolean') {
        throw new WebembedError('E_INPUT', `worker mode cannot pass the ${key} option to the worker (functions and objects do not cross); leave it out`);
      }
    }
    checkBackend(options.backend ?? 'auto');
    if (typeof Worker !== 'function') throw new WebembedError('E_INPUT', 'worker: true needs Web Workers, which this environment lacks');
    const embedder = new WorkerEmbedder(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
    const { onProgress, signal, worker: _worker, onBackendChange, ...rest } = options;
    embedder.#onBackendChange = onBackendChange;
    // Resolved here, so relative paths mean the page's location, not the worker script's.
    const url = resolveModelUrl(source, options);
    const call = embedder.#call('load', [url, { ...rest, progress: Boolean(onProgress) }], onProgress);
    const abort = () => embedder.#worker.postMessage({ method: 'abort', target: call.id });
    signal?.addEventListener('abort', abort, { once: true });
    try {
      Object.assign(embedder, await call.promise);
      return embedder;
    } catch (error) {
      embedder.#worker.terminate();
      throw error;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      const entry = this.#pending.get(data.id);
      if (!entry) return;
      if (data.progress) return entry.onProgress?.(data.progress);
      this.#pending.delete(data.id);
      if (data.state) this.#update(data.state);
      if (data.error) entry.reject(new WebembedError(data.error.code, data.error.message));
      else entry.resolve(data.result);
    };
    worker.onerror = (event) => {
      for (const entry of this.#pending.values()) entry.reject(new WebembedError('E_INTERNAL', `the worker failed: ${event.message}`));
      this.#pending.clear();
    };
  }

  #update({ reason, ...state }) {
    const from = this.#state.backend;
    this.#state = state;
    if (from && state.backend && state.backend !== from) {
      announceBackendChange(this.#onBackendChange, { from, to: state.backend, reason });
    }
  }

  #call(method, args, onProgress) {
    const id = this.#nextId++;
    const promise = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject, onProgress }));
    this.#worker.postMessage({ id, method, args });
    return { id, promise };
  }

  #send(method, args) {
    if (this.#disposed) return Promise.reject(new WebembedError('E_DISPOSED', 'this Embedder was disposed; load the model again'));
    return this.#call(method, args).promise;
  }

  /** 'webgpu' or 'cpu': the backend running in the worker, as of its last answer. */
  get backend() {
    return this.#state.backend;
  }

  get dtype() {
    return this.#state.dtype;
  }

  get gpuInfo() {
    return this.#state.gpuInfo;
  }

  get gpuBufferCount() {
    return this.#state.gpuBufferCount;
  }

  get wasmMemoryBytes() {
    return this.#state.wasmMemoryBytes;
  }

  async encode(texts, options = {}) {
    // Checked and cut here too, so a bad argument fails before it is cloned into the worker.
    const maxUnits = maxTextUnits(this.maxSeqLength);
    const list = normalizeTexts(texts, maxUnits);
    const [promptName, prompt] = checkPromptOptions(options ?? {}, maxUnits);
    const batchSize = checkBatchSize(options?.batchSize);
    return this.#send('encode', [typeof texts === 'string' ? list[0] : list, { promptName, prompt, batchSize }]);
  }

  async tokenize(text, options = {}) {
    const maxUnits = maxTextUnits(this.maxSeqLength);
    const cut = checkText(text, maxUnits);
    const [promptName, prompt] = checkPromptOptions(options ?? {}, maxUnits);
    return this.#send('tokenize', [cut, { promptName, prompt }]);
  }

  similarity(a, b) {
    return similarity(a, b);
  }

  async dispose() {
    if (this.#disposed) return;
    // Refuse calls from now on; those sent before finish first (the worker answers in order).
    this.#disposed = true;
    await this.#call('dispose', []).promise.catch(() => {});
    this.#worker.terminate();
  }
}
