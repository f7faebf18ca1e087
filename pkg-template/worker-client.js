// Worker mode, main-thread side: the Embedder API, with the engine in a dedicated module worker
// that the package starts itself, so encoding never blocks the page.

import { WebembedError } from './errors.js';
import { resolveModelUrl } from './hub.js';
import { similarity } from './similarity.js';

const NOT_CLONEABLE = ['fetch', 'cache'];

export class WorkerEmbedder {
  #worker;
  #pending = new Map();
  #nextId = 1;
  #disposed = false;
  #onBackendChange;

  static async load(source, options) {
    for (const key of NOT_CLONEABLE) {
      if (options[key] !== undefined && typeof options[key] !== 'boolean') {
        throw new WebembedError('E_INPUT', `worker mode cannot pass the ${key} option to the worker (functions and objects do not cross); leave it out`);
      }
    }
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
      if (data.error) entry.reject(new WebembedError(data.error.code, data.error.message));
      else entry.resolve(data.result);
    };
    worker.onerror = (event) => {
      for (const entry of this.#pending.values()) entry.reject(new WebembedError('E_INTERNAL', `the worker failed: ${event.message}`));
      this.#pending.clear();
    };
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

  async encode(texts, options = {}) {
    const { vectors, backend, reason } = await this.#send('encode', [texts, options]);
    if (backend !== this.backend) {
      const event = { from: this.backend, to: backend, reason };
      this.backend = backend;
      if (this.#onBackendChange) this.#onBackendChange(event);
      else console.warn(`webembed: switched from ${event.from} to ${event.to}: ${event.reason}`);
    }
    return vectors;
  }

  tokenize(text, options = {}) {
    return this.#send('tokenize', [text, options]);
  }

  similarity(a, b) {
    return similarity(a, b);
  }

  /** Bytes of wasm memory the worker's instance holds (a promise, unlike the in-page getter). */
  wasmMemory() {
    return this.#send('wasmMemoryBytes', []);
  }

  async dispose() {
    if (this.#disposed) return;
    await this.#send('dispose', []).catch(() => {});
    this.#disposed = true;
    this.#worker.terminate();
  }
}
