// How many engines may run at once: the `threads` and `memoryBudget` options and the rule behind
// threads: 'auto'.

import { WebembedError } from '../core/errors.js';
import { cores } from '../core/platform.js';

/** 'auto' never starts more engines than this: past four, memory grows faster than speed. */
export const AUTO_THREADS_MAX = 4;

/** Default cap on the wasm memory of all pool engines together (bytes). */
export const DEFAULT_MEMORY_BUDGET = 512 * 2 ** 20;

const MAX_THREADS = 64;

/**
 * `threads` → a count. 'auto': one per core but one, which the page's thread (or Node's main
 * thread) keeps for itself; from 1 to 4.
 */
export function resolveThreads(threads = 'auto') {
  if (threads === 'auto') return Math.max(1, Math.min(AUTO_THREADS_MAX, cores() - 1));
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new WebembedError('E_INPUT', `threads must be 'auto' or an integer from 1 to ${MAX_THREADS}; got ${JSON.stringify(threads)}`);
  }
  return threads;
}

/** `memoryBudget` in bytes: how much wasm memory the engines of a pool may hold together. */
export function checkMemoryBudget(budget = DEFAULT_MEMORY_BUDGET) {
  if (typeof budget !== 'number' || !Number.isFinite(budget) || budget <= 0) {
    throw new WebembedError('E_INPUT', `memoryBudget must be a positive number of bytes; got ${JSON.stringify(budget)}`);
  }
  return budget;
}

/** How many engines of `engineBytes` each fit the budget: at least one, at most `threads`. */
export function poolSize(threads, engineBytes, budget) {
  return Math.max(1, Math.min(threads, Math.floor(budget / Math.max(engineBytes, 1))));
}
