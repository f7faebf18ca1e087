// Where a search index is kept between visits: IndexedDB in browsers (windows, workers, extension
// pages), the Origin Private File System when asked, memory elsewhere (Node) or when asked. An index is one meta record, segments of
// documents (loaded whole when the index opens) and, for an int8 index, each document's exact
// vectors (read only for the few candidates a search rescores, so they cost no memory); every
// change is one transaction, so a write cut short by a reload or a crash loses that change and
// nothing stored before it.

import { keyOf, writeFile } from '../loading/cache.js';
import { WebembedError } from '../core/errors.js';

/** Versioned so a future change of what is stored never reads an old layout. */
const DATABASE = 'webembed-index-v1';
/** 2 added the 'exact' store; a database of version 1 gains it empty (its indexes rescore nothing). */
const DATABASE_VERSION = 2;
/** Every exact record of index `name`: arrays sort after strings in IndexedDB's key order. */
const exactRange = (name) => IDBKeyRange.bound([name, ''], [name, []]);

/** 'auto' → IndexedDB where the context has it, else memory; 'indexeddb' | 'opfs' | 'memory' to choose. */
export function openStorage(kind = 'auto') {
  if (kind === 'memory') return new MemoryStorage();
  if (kind === 'opfs') {
    if (typeof globalThis.navigator?.storage?.getDirectory !== 'function') {
      throw new WebembedError('E_INPUT', 'storage: this context has no Origin Private File System (navigator.storage.getDirectory)');
    }
    return new OpfsStorage();
  }
  const hasIndexedDb = typeof globalThis.indexedDB?.open === 'function';
  if (kind === 'indexeddb' && !hasIndexedDb) throw new WebembedError('E_INPUT', 'storage: this context has no IndexedDB');
  if (kind !== 'auto' && kind !== 'indexeddb') {
    throw new WebembedError('E_INPUT', `storage must be 'auto', 'indexeddb', 'opfs' or 'memory'; got ${JSON.stringify(kind)}`);
  }
  return hasIndexedDb ? new IndexedDbStorage() : new MemoryStorage();
}

class MemoryStorage {
  static #indexes = new Map();
  kind = 'memory';

  async load(name) {
    const stored = MemoryStorage.#indexes.get(name);
    return stored ? { meta: stored.meta, segments: [...stored.segments.values()] } : null;
  }

  /**
   * One change: `meta`, segments to `put` and keys to `remove`, exact vectors to `putExact`
   * (`[{ id, values: Int16Array, scales: Float32Array }]`) and ids to `removeExact`.
   */
  async commit(name, { meta, put = [], remove = [], putExact = [], removeExact = [] }) {
    const stored = MemoryStorage.#indexes.get(name) ?? { meta, segments: new Map(), exact: new Map() };
    stored.meta = meta;
    for (const key of remove) stored.segments.delete(key);
    for (const segment of put) stored.segments.set(segment.key, structuredClone(segment));
    for (const id of removeExact) stored.exact.delete(id);
    for (const record of putExact) stored.exact.set(record.id, structuredClone(record));
    MemoryStorage.#indexes.set(name, stored);
  }

  /** The exact vectors of `ids`, in order (undefined where none is stored). */
  async exactVectors(name, ids) {
    const exact = MemoryStorage.#indexes.get(name)?.exact;
    return ids.map((id) => exact?.get(id));
  }

  async drop(name) {
    MemoryStorage.#indexes.delete(name);
  }
}

class IndexedDbStorage {
  kind = 'indexeddb';
  #db = null;

  async #open() {
    if (!this.#db) {
      this.#db = await request(globalThis.indexedDB.open(DATABASE, DATABASE_VERSION), (open, event) => {
        if (event.oldVersion < 1) {
          open.result.createObjectStore('meta', { keyPath: 'name' });
          open.result.createObjectStore('segments', { keyPath: ['name', 'key'] });
        }
        if (event.oldVersion < 2) open.result.createObjectStore('exact', { keyPath: ['name', 'id'] });
      });
      // Another tab opening a newer version waits for this connection: let it go.
      this.#db.onversionchange = () => {
        this.#db?.close();
        this.#db = null;
      };
    }
    return this.#db;
  }

  async load(name) {
    const db = await this.#open();
    const tx = db.transaction(['meta', 'segments'], 'readonly');
    const [meta, segments] = await Promise.all([
      request(tx.objectStore('meta').get(name)),
      request(tx.objectStore('segments').getAll(IDBKeyRange.bound([name, 0], [name, Infinity]))),
    ]);
    return meta ? { meta, segments } : null;
  }

  async commit(name, { meta, put = [], remove = [], putExact = [], removeExact = [] }) {
    const db = await this.#open();
    const tx = db.transaction(['meta', 'segments', 'exact'], 'readwrite', { durability: 'strict' });
    const segments = tx.objectStore('segments');
    for (const key of remove) segments.delete([name, key]);
    for (const segment of put) segments.put({ ...segment, name });
    const exact = tx.objectStore('exact');
    for (const id of removeExact) exact.delete([name, id]);
    for (const record of putExact) exact.put({ ...record, name });
    tx.objectStore('meta').put({ ...meta, name });
    await done(tx);
  }

  async exactVectors(name, ids) {
    const db = await this.#open();
    const exact = db.transaction('exact', 'readonly').objectStore('exact');
    return Promise.all(ids.map((id) => request(exact.get([name, id]))));
  }

  async drop(name) {
    const db = await this.#open();
    const tx = db.transaction(['meta', 'segments', 'exact'], 'readwrite');
    tx.objectStore('segments').delete(IDBKeyRange.bound([name, 0], [name, Infinity]));
    tx.objectStore('exact').delete(exactRange(name));
    tx.objectStore('meta').delete(name);
    await done(tx);
  }
}

/**
 * An index in the Origin Private File System: one folder per index (named by the SHA-256 of its
 * name). Files are written once, under names no earlier commit used, and a commit ends by writing
 * `manifest-<generation>.json`, which names the live segment files: a commit cut short leaves the
 * previous manifest in force, and the files it wrote are removed the next time the index opens.
 * Exact vectors go to one file per commit; each segment's documents say where theirs are, so a
 * segment rewritten without some documents still points at the others' unchanged bytes.
 * Metadata is kept as JSON here (as in an export).
 */
class OpfsStorage {
  kind = 'opfs';
  /** index name → { dir, generation, segments: { key: file }, locations: Map id → [file, offset, rows, values], files: Map name → File } */
  #indexes = new Map();

  async #top() {
    const root = await globalThis.navigator.storage.getDirectory();
    return root.getDirectoryHandle(DATABASE, { create: true });
  }

  /** What this index's folder holds (read once per storage object; commits keep it current). */
  async #state(name) {
    if (this.#indexes.has(name)) return this.#indexes.get(name);
    const dir = await (await this.#top()).getDirectoryHandle(await keyOf(name), { create: true });
    const names = [];
    for await (const [file] of dir.entries()) names.push(file);
    const generations = names.map((file) => /^manifest-(\d+)\.json$/.exec(file)?.[1]).filter(Boolean).map(Number).sort((a, b) => b - a);
    let manifest = null;
    for (const generation of generations) {
      try {
        manifest = JSON.parse(await readText(dir, `manifest-${generation}.json`));
        break;
      } catch {
        // Unreadable: an older manifest is the last complete commit.
      }
    }
    const state = { dir, generation: manifest?.generation ?? 0, meta: manifest?.meta ?? null, segments: manifest?.segments ?? {}, locations: new Map(), files: new Map(), records: [] };
    for (const file of Object.values(state.segments)) {
      const record = parseSegment(await readBytes(dir, file), file);
      for (const doc of record.docs) if (doc.exact) state.locations.set(doc.id, doc.exact);
      state.records.push(record);
    }
    this.#indexes.set(name, state);
    await this.#collect(state, names);
    return state;
  }

  async load(name) {
    const state = await this.#state(name);
    if (!state.meta) return null;
    // Each document's `exact` location rides along; the index reads only what it knows.
    const segments = state.records;
    state.records = [];
    return { meta: state.meta, segments };
  }

  async commit(name, { meta, put = [], remove = [], putExact = [], removeExact = [] }) {
    const state = await this.#state(name);
    const generation = state.generation + 1;
    const locations = new Map(state.locations);
    for (const id of removeExact) locations.delete(id);
    if (putExact.length > 0) {
      const file = `exact-${generation}.bin`;
      const parts = [];
      let offset = 0;
      for (const { id, values, scales } of putExact) {
        locations.set(id, [file, offset, scales.length, values.length]);
        parts.push(scales, values);
        offset += scales.byteLength + values.byteLength;
      }
      await writeFile(state.dir, file, new Blob(parts));
    }
    const segments = { ...state.segments };
    for (const key of remove) delete segments[key];
    for (const segment of put) {
      const file = `segment-${segment.key}-${generation}.bin`;
      await writeFile(state.dir, file, segmentBytes(segment, locations));
      segments[segment.key] = file;
    }
    // The commit point: until this file is whole, the previous manifest holds.
    await writeFile(state.dir, `manifest-${generation}.json`, new TextEncoder().encode(JSON.stringify({ generation, meta, segments })));
    // What this commit made obsolete: the old manifest, replaced segment files, and exact files
    // no document points at any more (files of torn commits go when the index next opens).
    const obsolete = [`manifest-${state.generation}.json`, ...Object.values(state.segments), ...[...state.locations.values()].map(([file]) => file)];
    Object.assign(state, { generation, meta, segments, locations });
    await this.#collect(state, new Set(obsolete));
  }

  async exactVectors(name, ids) {
    const state = await this.#state(name);
    return Promise.all(
      ids.map(async (id) => {
        const location = state.locations.get(id);
        if (!location) return undefined;
        const [file, offset, rows, count] = location;
        if (!state.files.has(file)) state.files.set(file, await (await state.dir.getFileHandle(file)).getFile());
        const bytes = await state.files.get(file).slice(offset, offset + 4 * rows + 2 * count).arrayBuffer();
        return { id, scales: new Float32Array(bytes, 0, rows), values: new Int16Array(bytes, 4 * rows, count) };
      }),
    );
  }

  async drop(name) {
    const top = await this.#top();
    try {
      await top.removeEntry(await keyOf(name), { recursive: true });
    } catch (error) {
      if (error?.name !== 'NotFoundError') throw storageError(error);
    }
    this.#indexes.delete(name);
  }

  /** Removes what the current manifest does not name: older manifests, files of cut-short commits, exact files no document points at. */
  async #collect(state, names) {
    const live = new Set([`manifest-${state.generation}.json`, ...Object.values(state.segments)]);
    for (const [file] of state.locations.values()) live.add(file);
    for (const file of names) {
      if (live.has(file)) continue;
      state.files.delete(file);
      await state.dir.removeEntry(file).catch(() => {});
    }
  }
}

async function readBytes(dir, file) {
  return new Uint8Array(await (await (await dir.getFileHandle(file)).getFile()).arrayBuffer());
}

async function readText(dir, file) {
  return new TextDecoder().decode(await readBytes(dir, file));
}

/** A segment file: a record (`encodeRecord`) of the documents, with where each one's exact vectors are, and the vectors. */
function segmentBytes(segment, locations) {
  const header = {
    key: segment.key,
    docs: segment.docs.map((d) => ({ id: d.id, text: d.text, metadata: d.metadata, spans: Array.from(d.spans), exact: locations.get(d.id) ?? null })),
    rowCounts: Array.from(segment.rowCounts),
    sizes: [segment.values.length, segment.scales.length, segment.floats.length],
  };
  return encodeRecord(new Uint8Array(0), header, [segment.values, segment.scales, segment.floats]);
}

function parseSegment(bytes, file) {
  const { header, take } = decodeRecord(bytes, 0, (why) => new WebembedError('E_STORAGE', `OPFS: segment file ${file}: ${why}`));
  return takeSegment(header, take);
}

/**
 * A segment as stored, from its record header (`{ key, docs, rowCounts, sizes }`) and the
 * record's next three parts; its fields as read (index-records.js checks them).
 */
export function takeSegment(header, take) {
  const { key, docs, rowCounts, sizes } = header ?? {};
  const [values, scales, floats] = Array.isArray(sizes) ? sizes : [];
  return {
    key,
    docs,
    rowCounts,
    values: take(Int8Array, values),
    scales: take(Float32Array, scales),
    floats: take(Float32Array, floats),
  };
}

const align4 = (n) => Math.ceil(n / 4) * 4;

/**
 * A header and typed arrays as bytes: `prefix`, the header's JSON length (u32), the JSON, then
 * each of `parts`, every one starting 4-byte aligned. The layout of an exported index (prefixed by
 * its magic) and of an OPFS segment file.
 */
export function encodeRecord(prefix, header, parts) {
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  let size = align4(prefix.length + 4 + headerBytes.length);
  for (const part of parts) size += align4(part.byteLength);
  const bytes = new Uint8Array(size);
  bytes.set(prefix, 0);
  new DataView(bytes.buffer).setUint32(prefix.length, headerBytes.length, true);
  bytes.set(headerBytes, prefix.length + 4);
  let at = align4(prefix.length + 4 + headerBytes.length);
  for (const part of parts) {
    bytes.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), at);
    at += align4(part.byteLength);
  }
  return bytes;
}

/**
 * Reads `encodeRecord`'s bytes after a prefix of `prefixLength` bytes: { header, take(Type, count) },
 * `take` handing out the parts in order. `bad(why)` makes the error for bytes that are not one.
 */
export function decodeRecord(bytes, prefixLength, bad) {
  if (bytes.length < prefixLength + 4) throw bad('its header is cut off');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(prefixLength, true);
  if (prefixLength + 4 + headerLength > bytes.length) throw bad('its header is cut off');
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(prefixLength + 4, prefixLength + 4 + headerLength)));
  } catch (error) {
    throw bad(`its header is not JSON (${error.message})`);
  }
  let at = align4(prefixLength + 4 + headerLength);
  const take = (Type, count) => {
    const byteLength = count * Type.BYTES_PER_ELEMENT;
    if (!Number.isInteger(count) || count < 0 || at + byteLength > bytes.length) throw bad('its vectors are cut off');
    const out = new Type(count);
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + byteLength));
    at += align4(byteLength);
    return out;
  };
  return { header, take };
}

function request(req, onUpgrade) {
  return new Promise((resolve, reject) => {
    if (onUpgrade) req.onupgradeneeded = (event) => onUpgrade(req, event);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(storageError(req.error));
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(storageError(tx.error));
    tx.onabort = () => reject(storageError(tx.error ?? new Error('the transaction was aborted')));
  });
}

function storageError(error) {
  return new WebembedError('E_STORAGE', `IndexedDB: ${error?.name ?? 'Error'}: ${error?.message ?? error}`, { cause: error });
}
