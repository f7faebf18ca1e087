// One of rayon's threads for a shared-memory engine: instantiates the threaded build on the
// engine's shared memory, says it is ready, then runs the thread it is handed until the engine
// stops its pool (stopThreads), and closes.

import { holdLifeLock, workerPort } from '../core/platform.js';
import { createGlue } from '../webembed_threads_glue.js';

const port = workerPort();
port.listen(async ({ module, memory, receiver, lockName }) => {
  const glue = createGlue();
  await glue.default({ module_or_path: module, memory });
  await holdLifeLock(lockName);
  port.reply('ready', []);
  glue.runThread(receiver);
  port.end();
});
