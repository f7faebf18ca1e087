// Each Embedder gets its own instance of the wasm module (a fresh copy of the glue from
// createGlue()): dispose() then returns all of its memory, and an instance killed by a trap is
// replaced without touching the others. The compiled module is shared.

import { WebembedError } from '../core/errors.js';
import { fetchWasm } from '../loading/hub.js';
import { createGlue } from '../webembed_glue.js';
import { createGlue as createThreadsGlue } from '../webembed_threads_glue.js';
import { startThreadPool } from './thread-pool.js';

const BINARIES = {
  // Fused multiply-add through relaxed SIMD (Chromium 114+): ~12% faster encodes.
  'relaxed-simd': new URL('../webembed_relaxed_bg.wasm', import.meta.url),
  simd128: new URL('../webembed_bg.wasm', import.meta.url),
  // Relaxed SIMD with wasm atomics and shared memory: rayon threads split each matmul.
  threads: new URL('../webembed_threads_bg.wasm', import.meta.url),
};
const compiled = new Map();

// A one-function module using i8x16.relaxed_swizzle: it validates only where relaxed SIMD exists.
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0,
  65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11,
]);

/** The SIMD flavour to run: 'auto' picks relaxed SIMD when the engine validates it. */
export function pickSimd(preference = 'auto') {
  if (preference === 'relaxed-simd' || preference === 'simd128') return preference;
  if (preference !== 'auto') {
    throw new WebembedError('E_INPUT', `simd must be 'auto', 'relaxed-simd' or 'simd128'; got ${JSON.stringify(preference)}`);
  }
  return WebAssembly.validate(RELAXED_PROBE) ? 'relaxed-simd' : 'simd128';
}

// The binary is cached with the model files, so a second visit makes no request at all.
async function compile(url, cache) {
  return WebAssembly.compile(await fetchWasm(url.href, cache));
}

/** The compiled engine of this SIMD flavour (compiled once per context, then shared). */
export async function compiledModule(simd, cache) {
  if (!compiled.has(simd)) {
    // A failed compile is not remembered: the next load tries again.
    compiled.set(simd, compile(BINARIES[simd], cache).catch((error) => {
      compiled.delete(simd);
      throw error;
    }));
  }
  return compiled.get(simd);
}

/** Hands this context a module compiled elsewhere (a pool's page posts it to each worker). */
export function primeModule(simd, module) {
  if (module instanceof WebAssembly.Module && !compiled.has(simd)) compiled.set(simd, Promise.resolve(module));
}

/**
 * Returns the wasm-bindgen exports of a fresh instance of the given flavour ('threads': the
 * shared-memory build, with its pool of `threads` started by `spawnThreads(count, init)`; only
 * in an engine worker, where blocking is allowed).
 */
export async function newInstance(simd, cache, { threads = 1, spawnThreads } = {}) {
  const module = await compiledModule(simd, cache);
  const glue = simd === 'threads' ? createThreadsGlue() : createGlue();
  const exports = await glue.default({ module_or_path: module });
  glue.wasmMemory = exports.memory;
  if (simd === 'threads') await startThreadPool(glue, module, threads, spawnThreads);
  return glue;
}

/**
 * Whether a shared-memory engine can run here (the caller checks that relaxed SIMD is the flavour
 * picked): a cross-origin isolated page, or Node running wasm without Liftoff (`--no-liftoff`).
 * Under Node 20's V8, Liftoff-compiled `memory.atomic.wait32` returns at once instead of waiting
 * (perf: std's `Thread::park` spinning over V8's FutexEmulation::WaitSync), so a thread that
 * waits before its code tiers up spins and misses its wake-up: the first encode hung. With
 * TurboFan alone it waits; elsewhere Node runs the worker pool (the same 2× on batches).
 */
export function sharedMemoryAvailable() {
  if (typeof SharedArrayBuffer !== 'function') return false;
  if (globalThis.process?.versions?.node) return nodeRunsWasmWithoutLiftoff();
  return globalThis.crossOriginIsolated === true;
}

/** Whether Node's V8 was told `--no-liftoff`, on its command line or in NODE_OPTIONS. */
function nodeRunsWasmWithoutLiftoff() {
  const { process } = globalThis;
  const flags = [...(process.execArgv ?? []), ...(process.env?.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.includes('--no-liftoff');
}
