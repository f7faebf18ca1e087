// Starts the thread pool of a shared-memory engine instance: `threads` workers, each running one
// of rayon's threads on the instance's shared memory. It must run before anything uses rayon, and
// in a context that may block (a worker), since rayon's caller waits with Atomics.wait.

import { WebembedError } from '../core/errors.js';
import { lifeLockName, startWorker } from '../core/platform.js';

/**
 * `spawn(count, init)` starts the thread workers and resolves once each said it is ready; an
 * engine worker asks the page to do it (pool.js), so that the page owns them and ends them with
 * it (a browser does not promptly end the workers of a worker that ended).
 */
export async function startThreadPool(glue, module, threads, spawn) {
  const starter = new glue.ThreadStarter(threads);
  await spawn(threads, { module, memory: glue.wasmMemory, receiver: starter.receiver });
  // Waits until every worker runs its thread (rayon primes the pool).
  starter.build();
}

/** Starts `count` thread workers for `init`; resolves to their handles once each is ready. */
export async function spawnThreadWorkers(count, init) {
  const workers = [];
  try {
    await Promise.all(Array.from({ length: count }, () => new Promise((ready, fail) => {
      let started = false;
      const script = new URL('./thread-worker.js', import.meta.url);
      const worker = startWorker(script, () => new Worker(new URL('./thread-worker.js', import.meta.url), { type: 'module' }), {
        onMessage: () => {
          started = true;
          ready();
        },
        onError: (message) => started || fail(new WebembedError('E_INTERNAL', `a thread of the pool failed to start: ${message}`)),
        onExit: (message) => started || fail(new WebembedError('E_INTERNAL', `a thread of the pool ended as it started: ${message}`)),
      });
      worker.busy(false);
      workers.push(worker);
      worker.post({ ...init, lockName: lifeLockName('thread') }, []);
    })));
  } catch (error) {
    for (const worker of workers) worker.terminate();
    throw error;
  }
  return workers;
}
