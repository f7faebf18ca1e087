// Where a search index is kept between visits: IndexedDB in browsers (windows, workers, extension
// pages), memory elsewhere (Node) or when asked. An index is one meta record and segments of
// documents; every change is one transaction, so a write cut short by a reload or a crash loses
// that change and nothing stored before it.

import { WebembedError } from './errors.js';

/** Versioned so a future change of what is stored never reads an old layout. */
const DATABASE = 'webembed-index-v1';

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

  async commit(name, { meta, put = [], remove = [] }) {
    const stored = MemoryStorage.#indexes.get(name) ?? { meta, segments: new Map() };
    stored.meta = meta;
    for (const key of remove) stored.segments.delete(key);
    for (const segment of put) stored.segments.set(segment.key, structuredClone(segment));
    MemoryStorage.#indexes.set(name, stored);
  }

  async drop(name) {
    MemoryStorage.#indexes.delete(name);
  }
}

class IndexedDbStorage {
  kind = 'indexeddb';
  #db = null;

  async #open() {
    this.#db ??= await request(globalThis.indexedDB.open(DATABASE, 1), (open) => {
      open.result.createObjectStore('meta', { keyPath: 'name' });
      open.result.createObjectStore('segments', { keyPath: ['name', 'key'] });
    });
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

  async commit(name, { meta, put = [], remove = [] }) {
    const db = await this.#open();
    const tx = db.transaction(['meta', 'segments'], 'readwrite', { durability: 'strict' });
    const segments = tx.objectStore('segments');
    for (const key of remove) segments.delete([name, key]);
    for (const segment of put) segments.put({ ...segment, name });
    tx.objectStore('meta').put({ ...meta, name });
    await done(tx);
  }

  async drop(name) {
    const db = await this.#open();
    const tx = db.transaction(['meta', 'segments'], 'readwrite');
    tx.objectStore('segments').delete(IDBKeyRange.bound([name, 0], [name, Infinity]));
    tx.objectStore('meta').delete(name);
    await done(tx);
  }
}

function request(req, onUpgrade) {
  return new Promise((resolve, reject) => {
    if (onUpgrade) req.onupgradeneeded = () => onUpgrade(req);
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
