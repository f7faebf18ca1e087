// What differs between browsers and Node.js, in one place: Node reads model folders and the wasm
// binary from disk (its fetch has no file: URLs). No `import` of Node modules, so bundlers
// building for the browser never see one: Node hands them out through process.getBuiltinModule.

import { WebembedError } from './errors.js';

const fs = globalThis.process?.getBuiltinModule?.('node:fs/promises');
const url = globalThis.process?.getBuiltinModule?.('node:url');
const os = globalThis.process?.getBuiltinModule?.('node:os');
const workerThreads = globalThis.process?.getBuiltinModule?.('node:worker_threads');

export const isNode = Boolean(fs);

/** In Node, a path ("/abs/dir", "./dir") names a folder on disk; in a browser, a URL path. */
export function baseForPaths() {
  if (globalThis.location?.href) return globalThis.location.href;
  if (isNode) return url.pathToFileURL(`${globalThis.process.cwd()}/`).href;
  return 'http://localhost/';
}

const MAX_FILE_BYTES = 2 ** 32;

/** fetch, plus file: URLs under Node (404 when the file does not exist). */
export async function fetchAny(target, init, fetchImpl = globalThis.fetch) {
  const href = typeof target === 'string' ? target : target.href;
  if (!href.startsWith('file:')) return fetchImpl(href, init);
  if (!fs) throw new TypeError(`cannot read ${href} outside Node.js`);
  init?.signal?.throwIfAborted?.();
  try {
    const path = url.fileURLToPath(href);
    // stat before open: opening a FIFO blocks until a writer comes, and /dev/zero never ends.
    const info = await fs.stat(path);
    if (info.isDirectory()) return new Response('not found', { status: 404 });
    if (!info.isFile()) throw new WebembedError('E_FETCH', `${path} is not a regular file (a device, FIFO or socket); a model folder holds plain files`);
    if (info.size > MAX_FILE_BYTES) throw new WebembedError('E_FETCH', `${path} has ${info.size} bytes, more than a wasm32 engine can hold`);
    const bytes = await fs.readFile(path, { signal: init?.signal });
    const type = href.endsWith('.wasm') ? 'application/wasm' : href.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    return new Response(bytes, { status: 200, headers: { 'content-length': String(bytes.byteLength), 'content-type': type } });
  } catch (error) {
    if (error?.code === 'ENOENT' || error?.code === 'EISDIR') return new Response('not found', { status: 404 });
    throw error;
  }
}

/**
 * Returns `now()`, which gives the event loop a turn when ~16 ms passed since the last one, so a
 * long CPU encode in the page does not freeze it. scheduler.yield where the browser has it;
 * else a message (setTimeout is clamped to 4 ms when nested).
 */
export function pauser(everyMs = 16) {
  let last = performance.now();
  return {
    async now() {
      if (performance.now() - last < everyMs) return;
      if (globalThis.scheduler?.yield) await globalThis.scheduler.yield();
      else if (typeof globalThis.setImmediate === 'function') await new Promise((resume) => globalThis.setImmediate(resume));
      else {
        const channel = new MessageChannel();
        await new Promise((resume) => {
          channel.port1.onmessage = resume;
          channel.port2.postMessage(null);
        });
        channel.port1.close();
      }
      last = performance.now();
    },
  };
}

/** CPU cores of this machine, as the platform reports them. */
export function cores() {
  if (isNode) return os.availableParallelism?.() ?? os.cpus().length;
  return Number(globalThis.navigator?.hardwareConcurrency) || 1;
}

/** Whether engine workers can start here: module Workers in browsers, worker threads in Node. */
export const canStartWorkers = isNode ? Boolean(workerThreads?.Worker) : typeof globalThis.Worker === 'function';

/**
 * Starts a worker script of the package: in a browser `createBrowserWorker()` (callers write
 * `new Worker(new URL('./x.js', import.meta.url), { type: 'module' })` literally, the form
 * bundlers follow), in Node a worker thread of `scriptUrl`. Returns { post(message, transfer),
 * terminate(), busy(yes) }; `busy(false)` lets Node exit while the worker idles (a model left
 * undisposed must not keep a script alive).
 */
export function startWorker(scriptUrl, createBrowserWorker, { onMessage, onError, onExit }) {
  if (isNode) {
    // The worker is the package's own file: the script's flags (--input-type, V8 flags, which
    // are process-wide anyway) would only make it refuse to start.
    const worker = new workerThreads.Worker(scriptUrl, { execArgv: [] });
    worker.on('message', onMessage);
    worker.on('error', (error) => onError(error?.message ?? String(error)));
    worker.on('messageerror', () => onError('a message could not be read'));
    worker.on('exit', (code) => onExit(`the worker thread exited (code ${code})`));
    return {
      post: (message, transfer) => worker.postMessage(message, transfer),
      terminate: () => void worker.terminate(),
      busy: (yes) => (yes ? worker.ref() : worker.unref()),
    };
  }
  const worker = createBrowserWorker();
  worker.onmessage = ({ data }) => onMessage(data);
  worker.onerror = (event) => {
    event.preventDefault?.();
    onError(event.message ?? 'an uncaught error');
  };
  worker.onmessageerror = () => onError('a message could not be read');
  return { post: (message, transfer) => worker.postMessage(message, transfer), terminate: () => worker.terminate(), busy: () => {} };
}

/** The worker script's side of startWorker: `listen(handler)` and `reply(message, transfer)`. */
export function workerPort() {
  if (isNode) {
    const { parentPort } = workerThreads;
    return {
      listen: (handler) => parentPort.on('message', handler),
      reply: (message, transfer) => parentPort.postMessage(message, transfer),
      end: () => globalThis.process.exit(),
    };
  }
  return {
    listen: (handler) => (self.onmessage = ({ data }) => handler(data)),
    reply: (message, transfer) => self.postMessage(message, transfer),
    end: () => self.close(),
  };
}

let lifeLocks = 0;

/** A Web Lock name no other worker holds (`kind`: what holds it). */
export function lifeLockName(kind) {
  return `webembed-${kind}-${Date.now().toString(36)}-${++lifeLocks}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Takes the Web Lock `name` for the rest of this worker's life; resolves once it is held. The lock
 * frees when the worker ends in any way, so anyone can learn of its end. Without Web Locks (Node)
 * or a name, resolves at once.
 */
export function holdLifeLock(name) {
  if (!name || !globalThis.navigator?.locks) return Promise.resolve();
  return new Promise((held) => {
    globalThis.navigator.locks.request(name, () => {
      held();
      return new Promise(() => {});
    });
  });
}
