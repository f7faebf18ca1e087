// One of rayon's threads for a shared-memory engine: instantiates the threaded build on the
// engine's shared memory, says it is ready, then runs the thread it is handed until the engine
// stops its pool (stopThreads), and closes.

import { workerPort } from './platform.js';
import { createGlue } from './webembed_threads_glue.js';

const port = workerPort();
port.listen(async ({ module, memory, receiver, lockName }) => {
  const glue = createGlue();
  await glue.default({ module_or_path: module, memory });
  const run = () => {
    port.reply('ready', []);
    glue.runThread(receiver);
    port.end();
  };
  // Where there are Web Locks, the thread holds one for its whole life, so anyone can see that
  // it ended (the lock frees with the worker).
  if (lockName && globalThis.navigator?.locks) globalThis.navigator.locks.request(lockName, () => new Promise(run));
  else run();
});
