// The one module that fetches model files: resolves a model source to a folder URL, answers from
// the cache when it can, downloads with progress and retries, and checks every file before the
// engine sees it or the cache keeps it.

import { cachedBytes, forgetBytes, storeBytes } from './cache.js';
import { isAbort, WebembedError } from '../core/errors.js';
import { baseForPaths, fetchAny } from '../core/platform.js';
import { bodyTooLong, limitFor, readBounded } from './body.js';
import { checkSafetensors } from './safetensors.js';

const DEFAULT_HUB = 'https://huggingface.co';
const RETRIES = 3;
const RETRY_BASE_MS = 250;

/**
 * A model source is a folder URL (absolute, or starting with `/`, `./`, `../`) or a Hugging Face
 * model id such as `sentence-transformers/all-MiniLM-L6-v2`.
 */
export function resolveModelUrl(source, { hubUrl = DEFAULT_HUB, revision = 'main' } = {}) {
  if (source instanceof URL) return withSlash(source.href);
  if (typeof source !== 'string' || source.trim() === '') {
    throw new WebembedError('E_INPUT', `model source must be a URL or a Hugging Face model id; got ${describe(source)}`);
  }
  if (/^(https?:)?\/\//.test(source) || /^\.{0,2}\//.test(source) || /^[a-z][a-z0-9+.-]*:/i.test(source)) {
    return withSlash(new URL(source, baseForPaths()).href);
  }
  if (/^[\w.-]+\/[\w.-]+$/.test(source)) {
    return `${hubUrl.replace(/\/+$/, '')}/${source}/resolve/${encodeURIComponent(revision)}/`;
  }
  throw new WebembedError(
    'E_INPUT',
    `model source ${JSON.stringify(source)} is neither a folder URL (absolute, or starting with /, ./ or http) nor a Hugging Face id like "owner/name"`,
  );
}

function withSlash(url) {
  return url.endsWith('/') ? url : `${url}/`;
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}

/**
 * One download session: the options of a load plus the running totals behind the aggregate
 * progress. `options`: { onProgress, signal, fetch, cache, integrity, files (URL → bytes: the
 * whole folder, already fetched and checked) }.
 */
export function createSession(baseUrl, options = {}) {
  const files = new Map(); // name -> { loaded, total }
  const report = (file, loaded, total, status) => {
    files.set(file, { loaded, total });
    let sumLoaded = 0;
    let sumTotal = 0;
    for (const f of files.values()) {
      sumLoaded += f.loaded;
      sumTotal += f.total;
    }
    options.onProgress?.({ file, loaded, total, status, aggregate: { loaded: sumLoaded, total: sumTotal } });
  };
  // Every URL this load read from or wrote to the cache: a load that fails leaves none of them
  // there, so a folder fixed upstream is downloaded again instead of failing from the cache.
  const touched = new Set();
  return {
    baseUrl,
    /** A pool member's load from the files its page fetched: the page has said what it had to. */
    handed: Boolean(options.files),
    get: (name, kind) => fetchFile(insideFolder(baseUrl, name), name, kind, { ...options, report, touched }),
    /** Whether the cache (or the files a pool member was handed) holds `name`, without reading it. */
    async has(name) {
      const url = insideFolder(baseUrl, name);
      if (options.files) return options.files.has(url);
      try {
        return Boolean(await options.cache?.match(url));
      } catch {
        return false;
      }
    },
    async forget() {
      for (const url of touched) await forgetBytes(options.cache, url);
    },
  };
}

// The engine refuses escaping names first (folder::check_inside); this keeps any name that
// reaches a fetch inside the folder too.
function insideFolder(baseUrl, name) {
  const url = new URL(name, baseUrl).href;
  if (!url.startsWith(baseUrl)) {
    throw new WebembedError('E_CONFIG', `${JSON.stringify(name)} resolves to ${url}, outside the model folder ${baseUrl}`);
  }
  return url;
}

/**
 * Marks a load of `baseUrl` as running, before its first await, so loads started together share
 * their downloads; returns the function that ends it (see `sharedDownload`).
 */
export function beginLoad(baseUrl) {
  loadsByFolder.set(baseUrl, (loadsByFolder.get(baseUrl) ?? 0) + 1);
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    const left = (loadsByFolder.get(baseUrl) ?? 1) - 1;
    if (left > 0) return void loadsByFolder.set(baseUrl, left);
    loadsByFolder.delete(baseUrl);
    for (const url of downloads.keys()) if (url.startsWith(baseUrl)) downloads.delete(url);
  };
}

/**
 * Downloads a model folder's config files. The engine names them: `engine.configFiles()` those
 * a folder may have, `engine.requiredFiles(modulesJsonBytes)` those it must have as its
 * modules.json lays it out (a module's config, a static model's tokenizer in its module folder).
 * Returns a Map of path → Uint8Array.
 */
export async function fetchConfigFiles(session, engine) {
  const { optional, modules } = engine.configFiles();
  const files = new Map();
  const found = await Promise.all(optional.map((name) => session.get(name, 'optional-json')));
  optional.forEach((name, i) => found[i] && files.set(name, found[i]));
  const listed = files.get(modules);
  for (const name of engine.requiredFiles(listed)) {
    if (files.has(name)) continue;
    if (!listed || name.indexOf('/') < 0) {
      files.set(name, await session.get(name, 'json'));
      continue;
    }
    const bytes = await session.get(name, 'optional-json');
    if (!bytes) throw new WebembedError('E_CONFIG', `${modules}: lists a module whose ${name} the folder does not have (HTTP 404 at ${session.baseUrl}${name})`);
    files.set(name, bytes);
  }
  return files;
}

/**
 * Downloads the weights: the first of `engine.weightFiles(dtype)` (the engine's order of
 * preference; with no dtype, whatever weights the folder has) that the folder has. Each file goes
 * to `take(name, bytes, kind, fileDtype)` as it arrives (kind: 'safetensors' or 'file'; fileDtype:
 * what it loads as), so the caller can let go of one before the next downloads.
 */
export async function fetchWeights(session, engine, take, dtype, config) {
  const modulesJson = config?.get(engine.configFiles().modules);
  const candidates = engine.weightFiles(dtype, modulesJson);
  let missingVariant = null;
  for (const [at, { name, layout, variant, dtype: fileDtype }] of candidates.entries()) {
    let bytes;
    try {
      bytes = await session.get(name, layout === 'shard-index' ? 'optional-json' : 'optional-binary');
    } catch (error) {
      // Offline, a lighter variant that was never downloaded must not hide the weights cached
      // the last time (they load as they did then).
      const cachedLater = async () => {
        for (const later of candidates.slice(at + 1)) if (await session.has(later.name)) return true;
        return false;
      };
      if (!variant || error?.code !== 'E_FETCH' || !(await cachedLater())) throw error;
      bytes = null;
    }
    if (!bytes) {
      if (variant) missingVariant = name;
      continue;
    }
    if (missingVariant && !session.handed) {
      const instead = dtype === 'q8' ? 'quantizing the float weights as they load (`npx webembed quantize` writes the file)' : 'loading the f32 weights';
      console.warn(`webembed: ${session.baseUrl} offers no ${missingVariant}; ${instead}`);
    }
    if (layout === 'shard-index') {
      const dir = engine.weightsDir(modulesJson);
      for (const shard of engine.shardFiles(bytes)) await take(`${dir}${shard}`, await session.get(`${dir}${shard}`, 'binary'), 'safetensors', fileDtype);
    } else {
      await take(name, bytes, layout === 'pytorch-bin' ? 'file' : 'safetensors', fileDtype);
    }
    await fetchModuleWeights(session, engine, take, fileDtype, modulesJson);
    return fileDtype;
  }
  const q8 = engine.q8WeightFile();
  if (dtype !== undefined && dtype !== 'q8' && (await session.get(q8, 'optional-binary'))) {
    // Nothing failed to download: the folder holds weights of another precision than asked.
    throw new WebembedError('E_WEIGHTS', `${session.baseUrl} holds only ${q8} (int8 weights, as \`webembed quantize\` writes them), no ${dtype} weights: load it with { dtype: 'q8' }, or leave dtype out to load whatever the folder has`);
  }
  const tried = candidates.map((c) => c.name);
  throw new WebembedError('E_FETCH', `${session.baseUrl} has no weights: tried ${tried.slice(0, -1).join(', ')} and ${tried.at(-1)}`);
}

/**
 * The weights of modules that have their own (Dense): the first file of each module's list that
 * the folder has, handed over whole (they are small). A folder with none may still hold them in
 * its q8 file; the engine says which tensor is missing if neither has it.
 */
async function fetchModuleWeights(session, engine, take, fileDtype, modulesJson) {
  for (const choices of engine.moduleWeightFiles(modulesJson)) {
    for (const name of choices) {
      const bytes = await session.get(name, 'optional-binary');
      if (bytes) {
        await take(name, bytes, 'file', fileDtype);
        break;
      }
    }
  }
}

/**
 * Everything a load of `dtype` reads, fetched and checked as a load fetches and checks it, but
 * with no engine built: a Map of URL → bytes, which each worker of a pool builds from. The spec
 * is checked before the weights download, as in a load.
 */
export async function collectFiles(session, glue, dtype, { reranker = false } = {}) {
  const files = new Map();
  const recording = {
    ...session,
    async get(name, kind) {
      const bytes = await session.get(name, kind);
      if (bytes) files.set(insideFolder(session.baseUrl, name), bytes);
      return bytes;
    },
  };
  const config = await fetchConfigFiles(recording, glue);
  const loader = new glue.ModelLoader(dtype);
  if (reranker) loader.asReranker();
  try {
    for (const [name, bytes] of config) loader.addFile(name, bytes);
    loader.checkSpec();
  } finally {
    loader.free();
  }
  await fetchWeights(recording, glue, () => {}, dtype, config);
  return files;
}

// Downloads by URL, shared by the loads of one folder that run at once, so each file downloads
// once. A finished one stays while a load of its folder runs; a large one only while another
// load of the folder runs (keeping weights for a lone load would double its memory).
const downloads = new Map();
const loadsByFolder = new Map();
const KEEP_FINISHED_BYTES = 1 << 20;

async function fetchFile(url, name, kind, options) {
  // A pool's engine worker is handed the folder whole (URL → bytes, as collectFiles gathered and
  // checked them): what is not there is absent, and nothing is fetched or cached again.
  if (options.files) {
    const bytes = options.files.get(url);
    if (bytes) options.report(name, bytes.byteLength, bytes.byteLength, 'cached');
    else if (!kind.startsWith('optional-')) throw new WebembedError('E_FETCH', `${url} is not among the files this load was handed`);
    return bytes ?? null;
  }
  const cached = await cachedBytes(options.cache, url);
  options.touched?.add(url);
  if (cached) {
    options.report(name, cached.byteLength, cached.byteLength, 'cached');
    return cached;
  }
  let answer;
  try {
    answer = await sharedDownload(url, name, options);
  } catch (error) {
    // Another load's abort ended the shared download; this load was not aborted.
    if (!isAbort(error) || options.signal?.aborted) throw error;
    answer = await download(url, name, options);
  }
  const { status, type, bytes, declared, encoded } = answer;
  if (kind.startsWith('optional-')) {
    // Dev servers often answer any missing path with their index page; that means "absent" here.
    if (status === 404 || (status === 200 && type.includes('text/html'))) return null;
  }
  if (status !== 200) {
    throw new WebembedError('E_FETCH', `${url} answered HTTP ${status}${status === 404 ? ': is the model folder URL right?' : ''}`);
  }
  if (kind.endsWith('binary') && (type.includes('text/html') || type.includes('application/json'))) {
    throw new WebembedError('E_FETCH', `${url} answered with ${type} instead of the weight file ${name}`);
  }
  // With a content-encoding the header counts compressed bytes, so it cannot be compared.
  if (declared && !encoded && bytes.byteLength !== declared) {
    throw new WebembedError('E_FETCH', `${url} ended after ${bytes.byteLength} of ${declared} bytes`);
  }
  await verify(url, name, bytes, options.integrity);
  // Config files that are not JSON go to the engine, which names the problem, but never to the cache.
  if (!name.endsWith('.json') || isJson(bytes)) await storeBytes(options.cache, url, bytes, type || 'application/octet-stream');
  options.report(name, bytes.byteLength, bytes.byteLength, 'done');
  return bytes;
}

function sharedDownload(url, name, options) {
  const running = downloads.get(url);
  if (running && running.fetch === options.fetch) return running.promise;
  const promise = download(url, name, options);
  const entry = { fetch: options.fetch, promise };
  downloads.set(url, entry);
  const drop = () => downloads.get(url) === entry && downloads.delete(url);
  promise.then(
    ({ bytes }) => {
      const shared = [...loadsByFolder.entries()].some(([base, n]) => url.startsWith(base) && n > 1);
      if (bytes.byteLength > KEEP_FINISHED_BYTES && !shared) drop();
      if (![...loadsByFolder.keys()].some((base) => url.startsWith(base))) drop();
    },
    drop,
  );
  return promise;
}

async function download(url, name, options) {
  const response = await fetchWithRetries(url, options);
  const type = response.headers.get('content-type') ?? '';
  // An error page's body is not needed: only its status.
  const bytes = response.status === 200 ? await readBody(response, name, url, options.report, options.signal) : new Uint8Array(0);
  if (response.status !== 200) await response.body?.cancel().catch(() => {});
  const declared = Number(response.headers.get('content-length'));
  return { status: response.status, type, bytes, declared, encoded: Boolean(response.headers.get('content-encoding')) };
}

async function fetchWithRetries(url, { signal, fetch: fetchImpl, retries = RETRIES }) {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetchAny(url, { signal }, fetchImpl ?? globalThis.fetch);
      // Server trouble may pass; a 404 or 403 will not.
      if (!(response.status >= 500 || response.status === 429) || attempt >= retries) return response;
    } catch (error) {
      if (isAbort(error) || error instanceof WebembedError) throw error;
      if (attempt >= retries) {
        throw new WebembedError('E_FETCH', `could not fetch ${url} after ${attempt + 1} tries: ${error?.message ?? error}`, { cause: error });
      }
    }
    await sleep(RETRY_BASE_MS * 2 ** attempt, signal);
  }
}

function sleep(ms, signal) {
  return new Promise((done, fail) => {
    if (signal?.aborted) return fail(signal.reason ?? new DOMException('aborted', 'AbortError'));
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      fail(signal.reason ?? new DOMException('aborted', 'AbortError'));
    }, { once: true });
  });
}

/**
 * The engine's own binary, through the same checks, retries and cache as model files (`verify`
 * refuses bytes that are not valid WebAssembly, so they are neither compiled nor kept).
 */
export function fetchWasm(url, cache) {
  const name = url.slice(url.lastIndexOf('/') + 1);
  return fetchFile(url, name, 'binary', { cache, report: () => {} });
}

async function verify(url, name, bytes, integrity) {
  if (name.endsWith('.wasm') && !WebAssembly.validate(bytes)) {
    throw new WebembedError('E_FETCH', `${url} is not a valid WebAssembly binary (${bytes.byteLength} bytes); is the package served as it was built?`);
  }
  if (name.endsWith('.safetensors')) {
    try {
      checkSafetensors(bytes, name);
    } catch (error) {
      // The bytes arrived as served; they are not a weight file (truncated, padded, damaged).
      throw new WebembedError('E_WEIGHTS', `${url}: ${error.message}`);
    }
  }
  const expected = integrity?.[name];
  if (expected) {
    const [algorithm, digest] = expected.split('-', 2);
    if (algorithm !== 'sha256' || !digest) {
      throw new WebembedError('E_INPUT', `integrity for ${name} must look like "sha256-<base64>"; got ${JSON.stringify(expected)}`);
    }
    const actual = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))));
    if (actual !== digest) {
      throw new WebembedError('E_INTEGRITY', `${url} has sha256-${actual}, but integrity expects sha256-${digest}`);
    }
  }
}

function isJson(bytes) {
  try {
    JSON.parse(new TextDecoder().decode(bytes));
    return true;
  } catch {
    return false;
  }
}

function readBody(response, file, url, report, signal) {
  return readBounded(response, {
    signal,
    limit: limitFor(file),
    safetensors: file.endsWith('.safetensors'),
    report: (loaded, total) => report(file, loaded, total, 'download'),
    tooLong: bodyTooLong('E_FETCH', url),
  });
}
