// The engine's side of worker mode: a dedicated module worker that owns one in-page Embedder and
// answers the main thread's calls. Vectors go back as transferred Float32Arrays.

import { Embedder } from './index.js';

let model = null;
let lastChange = null;
const aborts = new Map();

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
      // Backend changes travel with each encode's answer (functions cannot cross to the worker).
      model = await Embedder.load(source, { ...options, worker: false, signal: controller.signal, onProgress, onBackendChange: (event) => (lastChange = event) });
      aborts.delete(id);
      const { dimension, maxSeqLength, backend, simd, prompts, url, webgpuUnavailableReason } = model;
      result = { dimension, maxSeqLength, backend, simd, prompts, url, webgpuUnavailableReason };
    } else if (method === 'encode') {
      const vectors = await model.encode(...args);
      result = { vectors, backend: model.backend, reason: lastChange?.reason ?? null };
      transfer = vectors.map((vector) => vector.buffer);
    } else if (method === 'tokenize') {
      result = await model.tokenize(...args);
    } else if (method === 'wasmMemoryBytes') {
      result = model?.wasmMemoryBytes ?? 0;
    } else if (method === 'dispose') {
      await model?.dispose();
      model = null;
    }
    self.postMessage({ id, result }, transfer);
  } catch (error) {
    aborts.delete(id);
    self.postMessage({ id, error: { code: error?.code ?? 'E_INTERNAL', message: String(error?.message ?? error) } });
  }
};
