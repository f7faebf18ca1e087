// Where a search index is kept between visits: IndexedDB in browsers (windows, workers, extension
// pages), memory elsewhere (Node) or when asked. An index is one meta record, segments of
// documents (loaded whole when the index opens) and, for an int8 index, each document's exact
// vectors (read only for the few candidates a search rescores, so they cost no memory); every
// change is one transaction, so a write cut short by a reload or a crash loses that change and
// nothing stored before it.

import { WebembedError } from './errors.js';

/** Versioned so a future change of what is stored never reads an old layout. */
const DATABASE = 'webembed-index-v1';
/** 2 added the 'exact' store; a database of version 1 gains it empty (its indexes rescore nothing). */
const DATABASE_VERSION = 2;
/** Every exact record of index `name`: arrays sort after strings in IndexedDB's key order. */
const exactRange = (name) => IDBKeyRange.bound([name, ''], [name, []]);

/** 'auto' → IndexedDB where the context has it, else memory; 'indexeddb' | 'memory' to choose. */
export function openStorage(kind = 'auto') {
  if (kind === 'memory') return new MemoryStorage();
  const hasIndexedDb = typeof globalThis.indexedDB?.open === 'function';
  if (kind === 'indexeddb' && !hasIndexedDb) throw new WebembedError('E_INPUT', 'storage: this context has no IndexedDB');
  if (kind !== 'auto' && kind !== 'indexeddb') {
    throw new WebembedError('E_INPUT', `storage must be 'auto', 'indexeddb' or 'memory'; got ${JSON.stringify(kind)}`);
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
