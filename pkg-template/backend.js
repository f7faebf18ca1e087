// Which backend a model runs on: the `backend` option, probing navigator.gpu for an adapter,
// moving a fresh engine onto WebGPU, and telling the app when a GPU failure moves it to the CPU.

import { WebembedError } from './errors.js';

const BACKENDS = ['auto', 'cpu', 'webgpu'];

export function checkBackend(backend) {
  if (!BACKENDS.includes(backend)) {
    throw new WebembedError('E_INPUT', `backend must be one of ${BACKENDS.join(', ')}; got ${JSON.stringify(backend)}`);
  }
  return backend;
}

/** { reason } why WebGPU cannot run here, or { adapter } naming the adapter on offer. */
async function findAdapter() {
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) {
    if (globalThis.isSecureContext === false) {
      return { reason: 'WebGPU needs a secure context (https:// or http://localhost); this page is not one' };
    }
    return { reason: 'this environment has no WebGPU (navigator.gpu is missing: an older browser, WebGPU turned off, or Node)' };
  }
  let adapter = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { reason: `navigator.gpu.requestAdapter() failed: ${error?.message ?? error}` };
  }
  if (!adapter) return { reason: 'navigator.gpu.requestAdapter() found no adapter (no usable GPU, or the GPU is blocklisted)' };
  const info = adapter.info ?? {};
  const name = info.description || [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
  return { adapter: name };
}

/**
 * Moves a freshly built engine to WebGPU when `backend` asks for it. 'webgpu' insists (E_WEBGPU
 * saying why); 'auto' keeps the CPU and returns the reason. Resolves to { adapter } or { reason }.
 */
export async function startWebGpu(engine, backend, dtype) {
  if (backend === 'cpu') return {};
  let { reason, adapter } = await findAdapter();
  if (!reason) {
    try {
      // f16 storage unless the caller asked for f32 weights outright.
      await engine.enableWebGpu(dtype !== 'f32');
      return { adapter };
    } catch (error) {
      reason = String(error?.message ?? error).replace(/^WebGPU: /, '');
    }
  }
  if (backend === 'webgpu') throw new WebembedError('E_WEBGPU', `backend "webgpu" cannot start: ${reason}. Use backend "auto" to fall back to the CPU.`);
  return { reason };
}

/** Tells the app about a backend change ({ from, to, reason }): its handler, else a console warning. */
export function announceBackendChange(handler, event) {
  if (!handler) {
    console.warn(`webembed: switched from ${event.from} to ${event.to}: ${event.reason}`);
    return;
  }
  try {
    handler(event);
  } catch (error) {
    console.error('webembed: onBackendChange threw', error);
  }
}
