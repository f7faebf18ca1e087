// Where verified model files and the wasm binaries are kept between visits. Only files that
// passed every check reach `put`; a failed or partial download is never stored, and a load that
// fails afterwards removes what it stored (hub.js, session.forget).

import { WebembedError } from '../core/errors.js';

/** Versioned so a future change of what is stored never reads an old layout. */
export const CACHE_NAME = 'webembed-v1';

/**
 * `option`: undefined/true → the Cache API (when the context has one), false → no cache, or any
 * object with `match(url)`, `put(url, response)` and `delete(url)`.
 */
export async function openCache(option) {
  if (option === false) return null;
  if (option && typeof option === 'object') {
    for (const method of ['match', 'put', 'delete']) {
      if (typeof option[method] !== 'function') {
        throw new WebembedError('E_INPUT', `cache must be true, false, or an object with match, put and delete; it has no ${method}()`);
      }
    }
    return option;
  }
  if (option !== undefined && option !== true) {
    throw new WebembedError('E_INPUT', `cache must be true, false, or an object with match, put and delete; got ${typeof option}`);
  }
  if (!globalThis.caches?.open) return null; // insecure contexts and Node have no Cache API
  try {
    return await globalThis.caches.open(CACHE_NAME);
  } catch {
    return null;
  }
}

export async function cachedBytes(cache, url) {
  if (!cache) return null;
  try {
    const hit = await cache.match(url);
    return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
  } catch {
    return null;
  }
}

/** Stores verified bytes; a full quota only costs the cache, with a warning saying so. */
export async function storeBytes(cache, url, bytes, contentType) {
  if (!cache) return;
  try {
    await cache.put(url, new Response(bytes, { headers: { 'content-type': contentType, 'content-length': String(bytes.byteLength) } }));
  } catch (error) {
    console.warn(`webembed: could not cache ${url} (${error?.name ?? 'error'}: ${error?.message ?? error}); the model works, but will download again next time`);
  }
}

/** Removes one file from the cache; a cache that fails to delete only costs a warning. */
export async function forgetBytes(cache, url) {
  if (!cache) return;
  try {
    await cache.delete(url);
  } catch (error) {
    console.warn(`webembed: could not remove ${url} from the cache (${error?.message ?? error})`);
  }
}

/** Removes cached files: those under `prefix` (a folder URL), or every file webembed cached. */
export async function clearCache(cache, prefix) {
  if (!cache) return 0;
  if (typeof cache.keys !== 'function') {
    throw new WebembedError('E_INPUT', 'this cache object has no keys(), so clearCache cannot list what to remove');
  }
  let removed = 0;
  for (const request of await cache.keys()) {
    const url = typeof request === 'string' ? request : request.url;
    if (!prefix || url.startsWith(prefix)) {
      await cache.delete(url);
      removed += 1;
    }
  }
  return removed;
}

/**
 * A model cache in the Origin Private File System, with the Cache API's match/put/delete/keys.
 * Each entry is two files: the bytes, then a `.url` file written last, so an entry whose write
 * was cut short is never matched.
 */
export class OPFSCache {
  constructor(name = CACHE_NAME) {
    this.name = name;
  }

  async #dir() {
    const root = await navigator.storage.getDirectory();
    return root.getDirectoryHandle(this.name, { create: true });
  }

  async match(url) {
    try {
      const dir = await this.#dir();
      const key = await keyOf(url);
      await dir.getFileHandle(`${key}.url`); // present only once the bytes are complete
      const file = await (await dir.getFileHandle(key)).getFile();
      return new Response(file, { headers: { 'content-length': String(file.size) } });
    } catch {
      return undefined;
    }
  }

  async put(url, response) {
    const dir = await this.#dir();
    const key = await keyOf(url);
    await writeFile(dir, key, await response.arrayBuffer());
    await writeFile(dir, `${key}.url`, new TextEncoder().encode(url));
  }

  async delete(url) {
    const dir = await this.#dir();
    const key = await keyOf(url);
    let removed = false;
    for (const name of [`${key}.url`, key]) {
      try {
        await dir.removeEntry(name);
        removed = true;
      } catch {
        // already gone
      }
    }
    return removed;
  }

  async keys() {
    const dir = await this.#dir();
    const urls = [];
    for await (const [name, handle] of dir.entries()) {
      if (name.endsWith('.url')) urls.push(await (await handle.getFile()).text());
    }
    return urls;
  }
}

/** A file name for `text`: its SHA-256 in hex (any URL or index name fits an OPFS name). */
export async function keyOf(url) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(url));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Writes a whole OPFS file; readers see the old content or the new, never part of it. */
export async function writeFile(dir, name, bytes) {
  const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
  await writable.write(bytes);
  await writable.close(); // the new content becomes visible only here
}
