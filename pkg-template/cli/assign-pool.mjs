// The shipped-index build's k-means and assignment on every core: blocks of rows go to worker
// threads, each with its own engine (assign-worker.mjs). A row's partition does not depend on the
// block it was in, so the index is the same bytes whatever the thread count.

import { Worker } from 'node:worker_threads';

/** Rows per message at most: ~25 MB of 384-d vectors. */
const BLOCK_ROWS = 16_384;

/** `{ assign, close }`: `assign` as buildShippedIndex's `assigner`, on `threads` worker threads. */
export function startAssignPool(threads) {
  const pending = new Map();
  let nextId = 0;
  let failure = null;
  const workers = Array.from({ length: threads }, () => {
    const worker = new Worker(new URL('./assign-worker.mjs', import.meta.url));
    worker.on('message', ({ id, out, error }) => {
      const call = pending.get(id);
      pending.delete(id);
      if (error) call.reject(new Error(`a build thread failed: ${error}`));
      else call.resolve(out);
    });
    worker.on('error', (error) => {
      failure = error;
      for (const call of pending.values()) call.reject(error);
      pending.clear();
    });
    return worker;
  });
  const send = (worker, message, transfer) => new Promise((resolve, reject) => {
    if (failure) return reject(failure);
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, ...message }, transfer);
  });

  async function assign(vectors, rows, dimension, centroids, lists, advance = () => {}) {
    const out = new Uint32Array(rows);
    // At least four blocks per thread, so that every thread has work on small inputs too.
    const blockRows = Math.max(256, Math.min(BLOCK_ROWS, Math.ceil(rows / (4 * workers.length))));
    let next = 0;
    let done = 0;
    await Promise.all(workers.map(async (worker) => {
      while (next < rows) {
        const start = next;
        const end = Math.min(rows, start + blockRows);
        next = end;
        // A copy, transferred: the thread owns it, and the caller's vectors stay whole.
        const block = vectors.slice(start * dimension, end * dimension);
        out.set(await send(worker, { vectors: block, rows: end - start, dimension, centroids, lists }, [block.buffer]), start);
        done += end - start;
        advance(done);
      }
    }));
    return out;
  }

  return { assign, close: () => Promise.all(workers.map((worker) => worker.terminate())) };
}
