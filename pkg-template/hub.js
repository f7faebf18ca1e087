// The one module that fetches model files: resolves a model source to a folder URL, downloads
// each file with progress, and checks what came back before the engine sees it.

import { WebembedError } from './errors.js';

const DEFAULT_HUB = 'https://huggingface.co';

/** Files every model folder must have. */
const REQUIRED_JSON = ['config.json', 'tokenizer.json'];
/** Files sentence-transformers reads when present. */
const OPTIONAL_JSON = [
  'tokenizer_config.json',
  'modules.json',
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
];
/** Weight layouts in order of preference: one file, shards with an index, or PyTorch's pickle. */
const SAFETENSORS = 'model.safetensors';
const SHARD_INDEX = 'model.safetensors.index.json';
const PYTORCH_BIN = 'pytorch_model.bin';

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
    const base = globalThis.location?.href ?? 'http://localhost/';
    return withSlash(new URL(source, base).href);
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

function getter(baseUrl, { onProgress, signal, fetch: fetchImpl } = {}) {
  return (name, kind) => fetchFile(new URL(name, baseUrl).href, name, kind, { onProgress, signal, fetchImpl });
}

/**
 * Downloads a model folder's config files. `engine.moduleConfigFiles(modulesJsonBytes)` names
 * the per-module configs that modules.json asks for. Returns a Map of path → Uint8Array.
 */
export async function fetchConfigFiles(baseUrl, engine, options) {
  const get = getter(baseUrl, options);
  const files = new Map();
  const optional = await Promise.all(OPTIONAL_JSON.map((name) => get(name, 'optional-json')));
  OPTIONAL_JSON.forEach((name, i) => optional[i] && files.set(name, optional[i]));
  for (const name of REQUIRED_JSON) files.set(name, await get(name, 'json'));
  for (const name of engine.moduleConfigFiles(files.get('modules.json'))) files.set(name, await get(name, 'json'));
  return files;
}

/**
 * Downloads the weights, whichever layout the folder has, and hands each file to `take(name,
 * bytes, kind)` as it arrives (kind: 'safetensors' or 'file'), so the caller can let go of one
 * before the next downloads. `engine.shardFiles(indexBytes)` lists a sharded checkpoint's shards.
 */
export async function fetchWeights(baseUrl, engine, options, take) {
  const get = getter(baseUrl, options);
  const single = await get(SAFETENSORS, 'optional-binary');
  if (single) return take(SAFETENSORS, single, 'safetensors');
  const index = await get(SHARD_INDEX, 'optional-json');
  if (index) {
    for (const shard of engine.shardFiles(index)) take(shard, await get(shard, 'binary'), 'safetensors');
    return undefined;
  }
  const pickle = await get(PYTORCH_BIN, 'optional-binary');
  if (pickle) return take(PYTORCH_BIN, pickle, 'file');
  throw new WebembedError('E_FETCH', `${baseUrl} has no weights: tried ${SAFETENSORS}, ${SHARD_INDEX} and ${PYTORCH_BIN}`);
}

async function fetchFile(url, name, kind, { onProgress, signal, fetchImpl = globalThis.fetch }) {
  let response;
  try {
    response = await fetchImpl(url, { signal });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new WebembedError('E_FETCH', `could not fetch ${url}: ${error?.message ?? error}`, { cause: error });
  }
  const type = response.headers.get('content-type') ?? '';
  if (kind.startsWith('optional-')) {
    // Dev servers often answer any missing path with their index page; that means "absent" here.
    if (response.status === 404 || (response.ok && type.includes('text/html'))) return null;
  }
  if (response.status !== 200) {
    throw new WebembedError(
      'E_FETCH',
      `${url} answered HTTP ${response.status}${response.status === 404 ? ': is the model folder URL right?' : ''}`,
    );
  }
  if (kind.endsWith('binary') && (type.includes('text/html') || type.includes('application/json'))) {
    throw new WebembedError('E_FETCH', `${url} answered with ${type} instead of the weight file ${name}`);
  }
  const bytes = await readBody(response, name, onProgress);
  const declared = Number(response.headers.get('content-length'));
  // With a content-encoding the header counts compressed bytes, so it cannot be compared.
  if (declared && !response.headers.get('content-encoding') && bytes.byteLength !== declared) {
    throw new WebembedError('E_FETCH', `${url} ended after ${bytes.byteLength} of ${declared} bytes`);
  }
  return bytes;
}

async function readBody(response, file, onProgress) {
  const total = Number(response.headers.get('content-length')) || 0;
  if (!response.body || !onProgress) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.({ file, loaded: bytes.byteLength, total: total || bytes.byteLength });
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  onProgress({ file, loaded, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onProgress({ file, loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
