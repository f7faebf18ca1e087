// Each Embedder gets its own instance of the wasm module: dispose() then returns all of its
// memory, and an instance killed by a trap is replaced without touching the others.

import { WebembedError } from './errors.js';

const WASM_URL = new URL('./webembed_bg.wasm', import.meta.url);
let compiled = null;
let instances = 0;

async function compile() {
  const response = await fetch(WASM_URL);
  if (!response.ok) throw new WebembedError('E_FETCH', `${WASM_URL} answered HTTP ${response.status}`);
  if ((response.headers.get('content-type') ?? '').startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  // Servers without the wasm MIME type still work, just without streaming compilation.
  return WebAssembly.compile(await response.arrayBuffer());
}

/** Returns the wasm-bindgen exports of a fresh instance. */
export async function newInstance() {
  // A failed compile is not remembered: the next load tries again.
  compiled ??= compile().catch((error) => {
    compiled = null;
    throw error;
  });
  const module = await compiled;
  instances += 1;
  // The glue keeps its instance in module scope, so a distinct URL gives a distinct instance.
  const glue = await import(`./webembed.js?instance=${instances}`);
  await glue.default({ module_or_path: module });
  return glue;
}
