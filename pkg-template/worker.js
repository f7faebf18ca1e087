// The engine's side of worker mode: a dedicated module worker that owns one in-page Embedder and
// answers the main thread's calls. Vectors go back as transferred Float32Arrays; every answer
// carries the model's state (backend, GPU info, memory) so the main-thread model can report it
// synchronously, as the in-page model does.

import { Embedder } from './index.js';

let model = null;
let lastChange = null;
const aborts = new Map();

/** What the main-thread model shows as properties, as of this answer. */
function state() {
  if (!model) return { backend: null, dtype: null, gpuInfo: null, gpuBufferCount: 0, wasmMemoryBytes: 0, reason: null };
  const { backend, dtype, gpuInfo, gpuBufferCount, wasmMemoryBytes } = model;
  return { backend, dtype, gpuInfo, gpuBufferCount, wasmMemoryBytes, reason: lastChange?.reason ?? null };
}

self.onmessage = async ({ data }) => {
  const { id, method, args = [] } = data;
  if (method === 'abort') return aborts.get(data.target)?.abort();
  try {
    let result = null;
    let transfer = [];
    if (method === 'load') {
      const [source, options] = args;
      const controller = new AbortController();
      aborts.set(id, controller);
      const onProgress = options.progress ? (event) => self.postMessage({ id, progress: event }) : undefined;
      // Backend changes travel with each answer's state (functions cannot cross to the worker).
      model = await Embedder.load(source, { ...options, worker: false, signal: controller.signal, onProgress, onBackendChange: (event) => (lastChange = event) });
      aborts.delete(id);
      const { dimension, maxSeqLength, simd, prompts, url, webgpuUnavailableReason, backendChoice } = model;
      result = { dimension, maxSeqLength, simd, prompts, url, webgpuUnavailableReason, backendChoice };
    } else if (method === 'encode') {
      result = await model.encode(...args);
      transfer = result.map((vector) => vector.buffer);
    } else if (method === 'tokenize') {
      result = await model.tokenize(...args);
    } else if (method === 'dispose') {
      await model?.dispose();
      model = null;
    }
    self.postMessage({ id, result, state: state() }, transfer);
  } catch (error) {
    aborts.delete(id);
    self.postMessage({ id, error: { code: error?.code ?? 'E_INTERNAL', message: String(error?.message ?? error) }, state: state() });
  }
};
