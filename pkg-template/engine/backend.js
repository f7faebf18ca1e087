// Which backend a model runs on: the `backend` option, probing navigator.gpu for an adapter,
// moving a fresh engine onto WebGPU, and telling the app when a GPU failure moves it to the CPU.

import { WebembedError } from '../core/errors.js';

const BACKENDS = ['auto', 'cpu', 'webgpu'];

export function checkBackend(backend) {
  if (!BACKENDS.includes(backend)) {
    throw new WebembedError('E_INPUT', `backend must be one of ${BACKENDS.join(', ')}; got ${JSON.stringify(backend)}`);
  }
  return backend;
}

// Adapters that run WebGPU on the CPU: always slower than the wasm path, so 'auto' never takes them.
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/** What 'auto' may add to a load to time both backends, in milliseconds. */
export const TIMING_BUDGET_MS = 250;

/** { reason } why WebGPU cannot run here, or { adapter, software } naming the adapter on offer. */
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
  const words = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const software = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) || SOFTWARE_ADAPTER.test(words);
  return { adapter: name, software };
}

/**
 * Moves a freshly built engine to WebGPU when `backend` asks for it. 'webgpu' insists (E_WEBGPU
 * saying why). 'auto' skips software adapters, and on a real one times both backends, so each
 * batch runs where it is faster. Resolves to { adapter, reason, choice }: `choice` is what
 * `model.backendChoice` reports; `reason` says why the GPU is not used, when it is not.
 */
export async function startWebGpu(engine, backend, dtype, { allowSoftwareAdapter = false } = {}) {
  if (backend === 'cpu') return { choice: { chosen: 'cpu', reason: 'backend "cpu" was asked for' } };
  let { reason, adapter, software } = await findAdapter();
  if (!reason && software && backend === 'auto' && !allowSoftwareAdapter) {
    reason = softwareReason(adapter);
  } else if (!reason) {
    try {
      // f16 storage unless the caller asked for f32 weights outright; a software adapter gets
      // the kernels' shapes for CPUs.
      await engine.enableWebGpu(dtype !== 'f32', software);
      if (backend === 'webgpu') return { adapter, choice: { chosen: 'webgpu', adapter, reason: 'backend "webgpu" was asked for' } };
      const timing = JSON.parse(await engine.chooseBackendByTiming(TIMING_BUDGET_MS));
      const choice = { ...timing, adapter, reason: describeTiming(timing, adapter) };
      return timing.chosen === 'cpu' ? { adapter, reason: choice.reason, choice } : { adapter, choice };
    } catch (error) {
      reason = String(error?.message ?? error).replace(/^WebGPU: /, '');
    }
  }
  if (backend === 'webgpu') throw new WebembedError('E_WEBGPU', `backend "webgpu" cannot start: ${reason}. Use backend "auto" to fall back to the CPU.`);
  return { reason, choice: { chosen: 'cpu', adapter: adapter ?? null, reason } };
}

function softwareReason(adapter) {
  return `${adapter} is a software (fallback) adapter, slower than the CPU path; backend "webgpu" forces it`;
}

/**
 * Why a load with this `backend` will run on the CPU alone (a string), or null when WebGPU may
 * run it: a pool of CPU engines only makes sense in the first case.
 */
export async function cpuOnlyReason(backend, { allowSoftwareAdapter = false } = {}) {
  if (backend === 'cpu') return 'backend "cpu" was asked for';
  if (backend === 'webgpu') return null;
  const { reason, adapter, software } = await findAdapter();
  if (reason) return reason;
  return software && !allowSoftwareAdapter ? softwareReason(adapter) : null;
}

function describeTiming({ chosen, cpu, webgpu, gpuFromTokens }, adapter) {
  const ms = (samples) => samples.map((s) => `${s.tokens} tokens ${s.ms.toFixed(1)} ms`).join(', ');
  const measured = `timed at load: CPU ${ms(cpu)}; ${adapter} ${ms(webgpu)}`;
  if (chosen === 'cpu') return `the CPU was faster than ${adapter} for every batch size (${measured})`;
  if (chosen === 'webgpu') return `${adapter} was faster for every batch size (${measured})`;
  return `batches from ${Math.ceil(gpuFromTokens)} padded tokens run on ${adapter}, smaller ones on the CPU (${measured})`;
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
