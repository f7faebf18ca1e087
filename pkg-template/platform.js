// What differs between browsers and Node.js, in one place: Node reads model folders and the wasm
// binary from disk (its fetch has no file: URLs). No `import` of Node modules, so bundlers
// building for the browser never see one: Node hands them out through process.getBuiltinModule.

const fs = globalThis.process?.getBuiltinModule?.('node:fs/promises');
const url = globalThis.process?.getBuiltinModule?.('node:url');

export const isNode = Boolean(fs);

/** In Node, a path ("/abs/dir", "./dir") names a folder on disk; in a browser, a URL path. */
export function baseForPaths() {
  if (globalThis.location?.href) return globalThis.location.href;
  if (isNode) return url.pathToFileURL(`${globalThis.process.cwd()}/`).href;
  return 'http://localhost/';
}

/** fetch, plus file: URLs under Node (404 when the file does not exist). */
export async function fetchAny(target, init, fetchImpl = globalThis.fetch) {
  const href = typeof target === 'string' ? target : target.href;
  if (!href.startsWith('file:')) return fetchImpl(href, init);
  if (!fs) throw new TypeError(`cannot read ${href} outside Node.js`);
  init?.signal?.throwIfAborted?.();
  try {
    const bytes = await fs.readFile(url.fileURLToPath(href));
    const type = href.endsWith('.wasm') ? 'application/wasm' : href.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    return new Response(bytes, { status: 200, headers: { 'content-length': String(bytes.byteLength), 'content-type': type } });
  } catch (error) {
    if (error?.code === 'ENOENT' || error?.code === 'EISDIR') return new Response('not found', { status: 404 });
    throw error;
  }
}
