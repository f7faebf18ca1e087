// One engine worker seen from the main thread: numbered calls and their answers, progress relayed,
// and the worker's death noticed however it happens (an uncaught error, self.close(), a crash).
// Worker mode and the worker pool both talk to their workers through it.

import { WebembedError } from '../core/errors.js';
import { lifeLockName, startWorker } from '../core/platform.js';
import { spawnThreadWorkers } from '../engine/thread-pool.js';

export class WorkerChannel {
  #worker;
  #pending = new Map();
  #nextId = 1;
  #ended = false;
  #onDeath;
  #onState;

  #threads = [];

  /** `onState(state)` gets the state each answer carries; `onDeath(reason)` runs once if the worker dies. */
  constructor({ onState = () => {}, onDeath = () => {} } = {}) {
    this.#onState = onState;
    this.#onDeath = onDeath;
    // A name only this worker holds while it lives (see watchLock).
    this.lockName = lifeLockName('worker');
    const script = new URL('../model/worker-host.js', import.meta.url);
    this.#worker = startWorker(script, () => new Worker(new URL('../model/worker-host.js', import.meta.url), { type: 'module' }), {
      onMessage: (data) => this.#answer(data),
      onError: (message) => this.#die(`the worker failed: ${message}`),
      onExit: (message) => this.#die(message),
    });
    this.#worker.busy(false);
  }

  get alive() {
    return !this.#ended;
  }

  /** Sends a call; returns { id, promise }. A dead worker's calls reject (E_INTERNAL, `workerDied`). */
  call(method, args, { onProgress, transfer = [] } = {}) {
    const id = this.#nextId++;
    if (this.#ended) return { id, promise: Promise.reject(died('the worker has ended')) };
    const promise = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject, onProgress }));
    this.#worker.busy(true);
    this.#worker.post({ id, method, args }, transfer);
    return { id, promise };
  }

  post(message) {
    if (!this.#ended) this.#worker.post(message, []);
  }

  /**
   * Node reports a worker thread's exit itself; a browser does not. There the worker takes a Web
   * Lock when it loads and holds it for its life. The lock frees when the worker ends in any way,
   * including self.close() and crashes that fire no event at all, so waiting for it here is how
   * the page learns of a silent death.
   */
  watchLock() {
    const locks = globalThis.navigator?.locks;
    if (!locks || this.#ended) return;
    locks.request(this.lockName, () => this.#die('the worker ended without answering')).catch(() => {});
  }

  /** Ends the worker on purpose: pending calls reject, and onDeath does not run. */
  terminate(reason = 'the worker was stopped') {
    this.#end(reason);
  }

  #answer(data) {
    if (data.spawnThreads) return this.#spawnThreads(data.spawnThreads);
    const entry = this.#pending.get(data.id);
    if (!entry) return;
    if (data.progress) return entry.onProgress?.(data.progress);
    this.#pending.delete(data.id);
    if (this.#pending.size === 0) this.#worker.busy(false);
    if (data.state) this.#onState(data.state);
    if (data.error) entry.reject(new WebembedError(data.error.code, data.error.message));
    else entry.resolve(data.result);
  }

  // A shared-memory engine's thread workers: started here, so they end with their engine worker.
  async #spawnThreads({ request, count, init }) {
    try {
      const threads = await spawnThreadWorkers(count, init);
      if (this.#ended) return threads.forEach((thread) => thread.terminate());
      this.#threads.push(...threads);
      this.post({ method: 'threadsStarted', request });
    } catch (error) {
      this.post({ method: 'threadsStarted', request, error: String(error?.message ?? error) });
    }
  }

  #die(reason) {
    if (this.#end(reason)) this.#onDeath(reason);
  }

  // Ends the worker and its threads; pending calls reject. False when it had ended already.
  #end(reason) {
    if (this.#ended) return false;
    this.#ended = true;
    this.#worker.terminate();
    for (const thread of this.#threads.splice(0)) thread.terminate();
    for (const entry of this.#pending.values()) entry.reject(died(reason));
    this.#pending.clear();
    this.#worker.busy(false);
    return true;
  }
}

function died(reason) {
  const error = new WebembedError('E_INTERNAL', reason);
  error.workerDied = true;
  return error;
}
