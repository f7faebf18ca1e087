// The engine's side of worker mode: a dedicated module worker that owns one in-page Embedder and
// answers the main thread's calls. Vectors go back as transferred Float32Arrays; every answer
// carries the model's state (backend, GPU info, memory) so the main-thread model can report it
// synchronously, as the in-page model does.

import { Embedder } from './embedder.js';
import { primeModule } from '../engine/instance.js';
import { holdLifeLock, workerPort } from '../core/platform.js';

const port = workerPort();

let model = null;
let lastChange = null;
const aborts = new Map();
// Test hook: the next encode ends this worker mid-batch, as a crash would.
let dieOnNextEncode = false;

// The page starts thread workers on request and answers when they are ready.
const threadRequests = new Map();
let nextThreadRequest = 1;
function askPageForThreads(count, init) {
  const request = nextThreadRequest++;
  return new Promise((resolve, reject) => {
    threadRequests.set(request, { resolve, reject });
    port.reply({ spawnThreads: { request, count, init } }, []);
  });
}

/** What the main-thread model shows as properties, as of this answer. */
function state() {
  if (!model) return { backend: null, dtype: null, gpuInfo: null, gpuBufferCount: 0, wasmMemoryBytes: 0, reason: null };
  const { backend, dtype, gpuInfo, gpuBufferCount, wasmMemoryBytes } = model;
  return { backend, dtype, gpuInfo, gpuBufferCount, wasmMemoryBytes, reason: lastChange?.reason ?? null };
}

port.listen(async (data) => {
  const { id, method, args = [] } = data;
  if (method === 'abort') return aborts.get(data.target)?.abort();
  if (method === 'dieOnNextEncode') return void (dieOnNextEncode = true);
  if (method === 'threadsStarted') {
    const { request, error } = data;
    const pending = threadRequests.get(request);
    threadRequests.delete(request);
    return error ? pending?.reject(new Error(error)) : pending?.resolve();
  }
  try {
    let result = null;
    let transfer = [];
    if (method === 'load') {
      const [source, { files, module, lockName, sharedThreads, ...options }] = args;
      await holdLifeLock(lockName);
      if (files) {
        // A pool member: it builds from the bytes the page fetched once, with the compiled module.
        Object.assign(options, { _filesInWorker: files, cache: false });
        primeModule(sharedThreads ? 'threads' : options.simd, module);
      }
      // Workers may block, so a shared-memory engine (rayon waits with Atomics.wait) lives here;
      // its thread workers are the page's (see thread-pool.js).
      if (sharedThreads) Object.assign(options, { _sharedThreadsInWorker: sharedThreads, _spawnThreadsInWorker: askPageForThreads });
      const controller = new AbortController();
      aborts.set(id, controller);
      const onProgress = options.progress ? (event) => port.reply({ id, progress: event }) : undefined;
      // Backend changes travel with each answer's state (functions cannot cross to the worker).
      model = await Embedder.load(source, { ...options, worker: false, threads: 1, signal: controller.signal, onProgress, onBackendChange: (event) => (lastChange = event) });
      aborts.delete(id);
      const { dimension, maxSeqLength, vocabSize, multilingual, simd, prompts, url, webgpuUnavailableReason, backendChoice, _numLabels } = model;
      result = { dimension, maxSeqLength, vocabSize, multilingual, simd, prompts, url, webgpuUnavailableReason, backendChoice, _numLabels };
    } else if (method === 'encode') {
      if (dieOnNextEncode) return port.end();
      result = await model.encode(...args);
      transfer = result.map((vector) => vector.buffer);
    } else if (method === 'scorePairs') {
      result = await model._scorePairs(...args);
      transfer = [result.buffer];
    } else if (method === 'tokenize') {
      result = await model.tokenize(...args);
    } else if (method === 'chunks') {
      result = await model.chunks(...args);
    } else if (method === 'dispose') {
      await model?.dispose();
      model = null;
    }
    port.reply({ id, result, state: state() }, transfer);
  } catch (error) {
    aborts.delete(id);
    port.reply({ id, error: { code: error?.code ?? 'E_INTERNAL', message: String(error?.message ?? error) }, state: state() });
  }
});
