// Starts the thread pool of a shared-memory engine instance: `threads` workers, each running one
// of rayon's threads on the instance's shared memory. It must run before anything uses rayon, and
// in a context that may block (a worker, or Node), since rayon's caller waits with Atomics.wait.

import { WebembedError } from './errors.js';
import { startWorker } from './platform.js';

export async function startThreadPool(glue, module, threads) {
  const starter = new glue.ThreadStarter(threads);
  const receiver = starter.receiver;
  const workers = [];
  try {
    await Promise.all(Array.from({ length: threads }, () => new Promise((ready, fail) => {
      let started = false;
      const worker = startWorker(new URL('./thread-worker.js', import.meta.url), {
        onMessage: () => {
          started = true;
          ready();
        },
        onError: (message) => started || fail(new WebembedError('E_INTERNAL', `a thread of the pool failed to start: ${message}`)),
        onExit: (message) => started || fail(new WebembedError('E_INTERNAL', `a thread of the pool ended as it started: ${message}`)),
      });
      worker.busy(false);
      workers.push(worker);
      worker.post({ module, memory: glue.wasmMemory, receiver }, []);
    })));
    // Waits until every worker runs its thread (rayon primes the pool), so workers must be up.
    starter.build();
  } catch (error) {
    for (const worker of workers) worker.terminate();
    throw error;
  }
  return workers;
}
