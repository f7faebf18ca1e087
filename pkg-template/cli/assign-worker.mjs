// A worker thread of the build's assignment pool (assign-pool.mjs): its own engine instance
// assigns each block of rows it is sent to the nearest centroid, as the main thread would.

import { parentPort } from 'node:worker_threads';

import { newInstance, pickSimd } from '../engine/instance.js';
import { assignRows } from '../shipped/build.js';

const glue = await newInstance(pickSimd('auto'), null);
parentPort.on('message', ({ id, vectors, rows, dimension, centroids, lists }) => {
  try {
    const out = assignRows(glue, vectors, rows, dimension, centroids, lists);
    parentPort.postMessage({ id, out }, [out.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: error.message });
  }
});
