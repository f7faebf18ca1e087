// Shared by tests/node/threads.test.mjs and the child scripts it runs: every worker thread the
// package starts, and whether it has exited; and how many values two lists of vectors differ in.

import workerThreads from 'node:worker_threads';

/** From now on, each worker thread started adds `{ exited }` to the returned list. */
export function countWorkers() {
  const started = [];
  const OriginalWorker = workerThreads.Worker;
  workerThreads.Worker = class extends OriginalWorker {
    constructor(...args) {
      super(...args);
      const entry = { exited: false };
      started.push(entry);
      this.on('exit', () => (entry.exited = true));
    }
  };
  return started;
}

export const differing = (a, b) => a.reduce((n, v, i) => n + v.reduce((m, x, j) => m + (x !== b[i][j]), 0), 0);
