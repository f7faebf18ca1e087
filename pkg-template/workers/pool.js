// Engines in workers, built from one download on this thread, for `threads` above 1 on the CPU:
// - 'worker-pool': several engines, one per worker; the batches of an encode() call go to
//   whichever is free and come back in order (pages that are not cross-origin isolated);
// - 'shared-memory': one engine of the threaded build in one worker, its matmuls and attention
//   split over a pool of threads on shared memory (isolated pages with relaxed SIMD).
// A worker that dies is replaced and its batch runs again.

import { openCache } from '../loading/cache.js';
import { asWebembedError, WebembedError } from '../core/errors.js';
import { beginLoad, collectFiles, createSession } from '../loading/hub.js';
import { checkChunkArgs, checkEncodeArgs, checkTokenizeArgs, longestFirst, truncateVectors } from '../core/input.js';
import { compiledModule, newInstance } from '../engine/instance.js';
import { similarity } from '../core/similarity.js';
import { poolSize } from '../engine/threads.js';
import { WorkerChannel } from './channel.js';

const CONSTRUCT = Symbol('construct');

/** A batch that killed this many workers is not tried again: it fails instead. */
const MAX_DEATHS_PER_JOB = 2;

/** An encode() call is cut into at least this many batches per engine (when it has the texts). */
const BATCHES_PER_ENGINE = 4;

export class PoolEmbedder {
  #url;
  #options;
  #members = [];
  #idle = [];
  #jobs = [];
  #tail = Promise.resolve();
  #running = new Set();
  #disposed = false;
  #replacing = 0;
  #module = null;
  #lastFailure = null;
  #sharedThreads = 0;
  parallelism = 'worker-pool';

  /**
   * `options`: the load's options, resolved: { threads, shared, memoryBudget, simd, dtype, cache,
   * fetch, integrity, onProgress, signal, cpuReason }. Shared: one engine with `threads` threads.
   * Else starts one engine, measures its memory, then as many more as `threads` and
   * `memoryBudget` allow.
   */
  static async load(url, options) {
    const pool = new PoolEmbedder(CONSTRUCT, url, options);
    const { signal } = options;
    const { files, session } = await pool.#fetchFiles(options);
    try {
      const first = await abortable(pool.#startMember(files), signal);
      pool.#adopt(first);
      const size = options.shared ? 1 : poolSize(options.threads, first.state.wasmMemoryBytes, options.memoryBudget);
      // An engine that fails to start (out of memory, say) leaves the pool smaller, not broken.
      const rest = Array.from({ length: size - 1 }, () => pool.#startMember(files));
      const started = await abortable(Promise.allSettled(rest), signal, rest);
      for (const result of started) if (result.status === 'fulfilled') pool.#adopt(result.value);
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) console.warn(`webembed: an engine worker could not start (${failed.reason?.message ?? failed.reason}); running ${pool.threads} of ${size} engines`);
      const { url: _url, ...info } = first.info;
      Object.assign(pool, info, { webgpuUnavailableReason: options.cpuReason ?? null, backendChoice: { chosen: 'cpu', reason: options.cpuReason ?? 'backend "cpu" was asked for' } });
      return pool;
    } catch (error) {
      pool.#endAll();
      await session.forget();
      throw asWebembedError(error);
    }
  }

  constructor(secret, url, options) {
    if (secret !== CONSTRUCT) throw new TypeError('use Embedder.load(source, { threads })');
    this.#url = url;
    this.#options = options;
    if (options.shared) {
      this.#sharedThreads = options.threads;
      this.parallelism = 'shared-memory';
    }
  }

  /** Threads encoding at once: the shared engine's, or one per engine of the pool (0 once disposed). */
  get threads() {
    return this.#sharedThreads && this.#members.length > 0 ? this.#sharedThreads : this.#members.length;
  }

  get backend() {
    return 'cpu';
  }

  get dtype() {
    return this.#members[0]?.state.dtype ?? null;
  }

  get gpuInfo() {
    return null;
  }

  get gpuBufferCount() {
    return 0;
  }

  /** All engines' wasm memory together, as of their last answers. */
  get wasmMemoryBytes() {
    return this.#members.reduce((sum, member) => sum + (member.state.wasmMemoryBytes ?? 0), 0);
  }

  get url() {
    return this.#url;
  }

  async encode(texts, options = {}) {
    const { list, promptName, prompt, batchSize, truncateDim } = checkEncodeArgs(texts, options, this.maxSeqLength, this.dimension);
    this.#refuseIfDisposed();
    if (list.length === 0) return [];
    // Batches small enough that each engine gets several: the last ones then even out the
    // engines' finishing times. Vectors do not depend on how texts are batched (a test checks it).
    const order = longestFirst(list);
    const engines = this.#sharedThreads ? 0 : this.#members.length;
    const perBatch = engines > 1 ? Math.min(batchSize, Math.ceil(list.length / (BATCHES_PER_ENGINE * engines))) : batchSize;
    const vectors = new Array(list.length);
    const batches = [];
    for (let start = 0; start < order.length; start += perBatch) {
      const indices = order.slice(start, start + perBatch);
      const batch = indices.map((i) => list[i]);
      batches.push(this.#submit('encode', [batch, { promptName, prompt, batchSize: perBatch }]).then((flat) => {
        indices.forEach((index, row) => (vectors[index] = flat[row]));
      }));
    }
    // Calls resolve in the order they were made, whichever engine finished first.
    const done = Promise.all(batches).then(() => truncateVectors(vectors, truncateDim));
    const ordered = this.#tail.then(() => done);
    this.#tail = ordered.catch(() => {});
    return ordered;
  }

  /** For Reranker: see Embedder._scorePairs; batches spread over the engines, as encode's. */
  async _scorePairs(firsts, seconds, batchSize) {
    this.#refuseIfDisposed();
    const labels = this._numLabels;
    const engines = this.#sharedThreads ? 0 : this.#members.length;
    const perBatch = engines > 1 ? Math.min(batchSize, Math.ceil(firsts.length / (BATCHES_PER_ENGINE * engines))) : batchSize;
    const scores = new Float32Array(firsts.length * labels);
    const batches = [];
    for (let start = 0; start < firsts.length; start += perBatch) {
      const args = [firsts.slice(start, start + perBatch), seconds.slice(start, start + perBatch), perBatch];
      batches.push(this.#submit('scorePairs', args).then((flat) => scores.set(flat, start * labels)));
    }
    const done = Promise.all(batches).then(() => scores);
    const ordered = this.#tail.then(() => done);
    this.#tail = ordered.catch(() => {});
    return ordered;
  }

  async tokenize(text, options = {}) {
    const { text: cut, promptName, prompt } = checkTokenizeArgs(text, options, this.maxSeqLength);
    this.#refuseIfDisposed();
    return this.#submit('tokenize', [cut, { promptName, prompt }]);
  }

  async chunks(text, options = {}) {
    const { text: whole, promptName, prompt, maxTokens, overlapTokens } = checkChunkArgs(text, options, this.maxSeqLength);
    this.#refuseIfDisposed();
    return this.#submit('chunks', [whole, { promptName, prompt, maxTokens, overlapTokens }]);
  }

  similarity(a, b) {
    return similarity(a, b);
  }

  /** Ends every worker once the calls made before it finish; the object cannot be used afterwards. */
  async dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.allSettled([...this.#running]);
    await Promise.allSettled(this.#members.map((member) => member.channel.call('dispose', []).promise));
    this.#endAll();
  }

  /** Test hook: the next batch that engine `index` takes ends its worker, as a crash would. */
  _killWorkerMidBatchForTest(index = 0) {
    this.#members[index]?.channel.post({ method: 'dieOnNextEncode' });
  }

  #refuseIfDisposed() {
    if (this.#disposed) throw new WebembedError('E_DISPOSED', 'this Embedder was disposed; load the model again');
  }

  async #fetchFiles({ onProgress, signal, fetch, cache: cacheOption, integrity, simd, dtype, reranker }) {
    const endLoad = beginLoad(this.#url);
    let session;
    try {
      const cache = await openCache(cacheOption);
      session = createSession(this.#url, { onProgress, signal, fetch, cache, integrity });
      // This thread only reads which files the folder needs: the plain build serves for that.
      const glue = await newInstance(simd, cache);
      this.#module = await compiledModule(this.#sharedThreads ? 'threads' : simd, cache);
      return { files: await collectFiles(session, glue, dtype, { reranker }), session };
    } catch (error) {
      await session?.forget();
      throw asWebembedError(error);
    } finally {
      endLoad();
    }
  }

  // Resolves to a loaded member ({ channel, state, info }); a failed load ends its worker.
  async #startMember(files) {
    const member = { channel: null, state: {}, info: null };
    member.channel = new WorkerChannel({
      onState: (state) => (member.state = state),
      onDeath: (reason) => this.#lost(member, reason),
    });
    const { dtype, simd, reranker, truncateDim } = this.#options;
    const sharedThreads = this.#sharedThreads || undefined;
    try {
      const load = [this.#url, { dtype, simd, sharedThreads, backend: 'cpu', files, module: this.#module, lockName: member.channel.lockName, truncateDim, _reranker: reranker }];
      member.info = await member.channel.call('load', load).promise;
      member.channel.watchLock();
      return member;
    } catch (error) {
      member.channel.terminate();
      throw error;
    }
  }

  #adopt(member) {
    if (this.#disposed) return member.channel.terminate();
    this.#members.push(member);
    this.#idle.push(member);
    this.#pump();
  }

  #submit(method, args) {
    const job = { method, args, deaths: 0 };
    const promise = new Promise((resolve, reject) => Object.assign(job, { resolve, reject }));
    this.#running.add(promise);
    promise.then(() => this.#running.delete(promise), () => this.#running.delete(promise));
    this.#jobs.push(job);
    this.#pump();
    return promise;
  }

  #pump() {
    while (this.#jobs.length > 0 && this.#idle.length > 0) {
      const member = this.#idle.shift();
      if (member.channel.alive) this.#run(member, this.#jobs.shift());
    }
    if (this.#jobs.length > 0 && this.#members.length === 0 && this.#replacing === 0) {
      const error = this.#lastFailure ?? new WebembedError('E_INTERNAL', 'every engine worker of this model has ended');
      for (const job of this.#jobs.splice(0)) job.reject(error);
    }
  }

  async #run(member, job) {
    try {
      const { promise } = member.channel.call(job.method, job.args);
      job.resolve(await promise);
    } catch (error) {
      if (error?.workerDied && !this.#disposed && ++job.deaths < MAX_DEATHS_PER_JOB) this.#jobs.unshift(job);
      else job.reject(asWebembedError(error));
    } finally {
      if (member.channel.alive && this.#members.includes(member)) this.#idle.push(member);
      this.#pump();
    }
  }

  // A worker died (crash, uncaught error, closed): drop it, and start another from the cache.
  async #lost(member, reason) {
    // One that dies while the pool loads fails the load instead.
    if (!this.#members.includes(member)) return;
    this.#members = this.#members.filter((m) => m !== member);
    this.#idle = this.#idle.filter((m) => m !== member);
    if (this.#disposed) return;
    console.warn(`webembed: an engine worker ended (${reason}); starting another`);
    this.#replacing += 1;
    try {
      const { files } = await this.#fetchFiles({ ...this.#options, onProgress: undefined, signal: undefined });
      this.#adopt(await this.#startMember(files));
    } catch (error) {
      this.#lastFailure = new WebembedError('E_INTERNAL', `an engine worker ended (${reason}) and another could not start: ${error?.message ?? error}`, { cause: error });
    } finally {
      this.#replacing -= 1;
      this.#pump();
    }
  }

  #endAll() {
    for (const member of this.#members) member.channel.terminate();
    this.#members = [];
    this.#idle = [];
  }
}


// Rejects with E_ABORTED when `signal` aborts first; members that still load are ended then.
function abortable(promise, signal, pending = []) {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      for (const member of pending) member.then((m) => m.channel.terminate(), () => {});
      reject(new WebembedError('E_ABORTED', 'the load was aborted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
