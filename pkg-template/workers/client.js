// Worker mode, main-thread side: the same model interface as the in-page Embedder, with the
// engine in a dedicated module worker that the package starts itself, so encoding never blocks
// the page.

import { announceBackendChange, checkBackend } from '../engine/backend.js';
import { WebembedError } from '../core/errors.js';
import { resolveModelUrl } from '../loading/hub.js';
import { checkChunkArgs, checkEncodeArgs, checkTokenizeArgs } from '../core/input.js';
import { similarity } from '../core/similarity.js';
import { WorkerChannel } from './channel.js';

const NOT_CLONEABLE = ['fetch', 'cache'];
const CONSTRUCT = Symbol('construct');

export class WorkerEmbedder {
  #channel;
  #disposed = false;
  #onBackendChange;
  // The worker's model state, as of its last answer.
  #state = { backend: null, dtype: null, gpuInfo: null, gpuBufferCount: 0, wasmMemoryBytes: 0 };
  /** Always 1 in worker mode: one engine, in one worker (`threads` above 1 makes a pool instead). */
  threads = 1;
  parallelism = 'none';

  static async load(source, options) {
    for (const key of NOT_CLONEABLE) {
      if (options[key] !== undefined && typeof options[key] !== 'boolean') {
        throw new WebembedError('E_INPUT', `worker mode cannot pass the ${key} option to the worker (functions and objects do not cross); leave it out`);
      }
    }
    checkBackend(options.backend ?? 'auto');
    if (typeof Worker !== 'function') throw new WebembedError('E_INPUT', 'worker: true needs Web Workers, which this environment lacks');
    const embedder = new WorkerEmbedder(CONSTRUCT);
    const { onProgress, signal, worker: _worker, onBackendChange, threads: _threads, memoryBudget: _budget, ...rest } = options;
    embedder.#onBackendChange = onBackendChange;
    // Resolved here, so relative paths mean the page's location, not the worker script's.
    const url = resolveModelUrl(source, options);
    const call = embedder.#channel.call('load', [url, { ...rest, progress: Boolean(onProgress), lockName: embedder.#channel.lockName }], { onProgress });
    const abort = () => embedder.#channel.post({ method: 'abort', target: call.id });
    signal?.addEventListener('abort', abort, { once: true });
    try {
      Object.assign(embedder, await call.promise);
      embedder.#channel.watchLock();
      return embedder;
    } catch (error) {
      embedder.#channel.terminate();
      throw error;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  constructor(secret) {
    if (secret !== CONSTRUCT) throw new TypeError('use Embedder.load(source, { worker: true })');
    this.#channel = new WorkerChannel({ onState: (state) => this.#update(state) });
  }

  #update({ reason, ...state }) {
    const from = this.#state.backend;
    this.#state = state;
    if (from && state.backend && state.backend !== from) {
      announceBackendChange(this.#onBackendChange, { from, to: state.backend, reason });
    }
  }

  #send(method, args) {
    if (this.#disposed) return Promise.reject(new WebembedError('E_DISPOSED', 'this Embedder was disposed; load the model again'));
    return this.#channel.call(method, args).promise;
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
    const { list, promptName, prompt, batchSize, truncateDim } = checkEncodeArgs(texts, options, this.maxSeqLength, this.dimension);
    return this.#send('encode', [typeof texts === 'string' ? list[0] : list, { promptName, prompt, batchSize, truncateDim }]);
  }

  async tokenize(text, options = {}) {
    const { text: cut, promptName, prompt } = checkTokenizeArgs(text, options, this.maxSeqLength);
    return this.#send('tokenize', [cut, { promptName, prompt }]);
  }

  async chunks(text, options = {}) {
    const { text: whole, promptName, prompt, maxTokens, overlapTokens } = checkChunkArgs(text, options, this.maxSeqLength);
    return this.#send('chunks', [whole, { promptName, prompt, maxTokens, overlapTokens }]);
  }

  /** For Reranker: see Embedder._scorePairs. */
  async _scorePairs(firsts, seconds, batchSize) {
    return this.#send('scorePairs', [firsts, seconds, batchSize]);
  }

  similarity(a, b) {
    return similarity(a, b);
  }

  async dispose() {
    if (this.#disposed) return;
    // Refuse calls from now on; those sent before finish first (the worker answers in order).
    this.#disposed = true;
    await this.#channel.call('dispose', []).promise.catch(() => {});
    this.#channel.terminate();
  }
}

