// The check every stored or imported index record passes before it reaches memory: an export,
// an OPFS segment file and an IndexedDB record are read from places webembed does not control
// (a file a user picked, storage another version or a damaged disk wrote), so each field is
// checked as the engine checks a model file, and a bad one is E_INDEX naming the document and field.

import { WebembedError } from '../core/errors.js';

const MAX_DIMENSION = 65_536;
/** A title field's most characters: a page's title, heading chain and path, not a second body. */
export const MAX_TITLE_UNITS = 4096;

/**
 * Checks `meta` and `segments` (`[{ key, docs: [{ id, text, title?, metadata, spans }], rowCounts,
 * values, scales, floats }]`) and returns the segments with `spans` and `rowCounts` as
 * Uint32Arrays. `where` names the source in messages ('the export', 'IndexedDB', 'OPFS').
 */
export function checkRecords(meta, segments, where) {
  const bad = (why) => new WebembedError('E_INDEX', `${where}: ${why}`);
  const dimension = meta?.model?.dimension;
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > MAX_DIMENSION) throw bad(`model.dimension ${JSON.stringify(dimension)} is not a dimension`);
  if (meta.vectors !== 'int8' && meta.vectors !== 'f32') throw bad(`vectors ${JSON.stringify(meta.vectors)} is neither 'int8' nor 'f32'`);
  if (!Array.isArray(segments)) throw bad('its segments are not a list');
  const keys = new Set();
  const seen = new Map();
  return segments.map((segment) => {
    const { key, docs } = segment ?? {};
    if (!Number.isSafeInteger(key) || key < 0) throw bad(`segment key ${JSON.stringify(key)} is not a non-negative integer`);
    if (keys.has(key)) throw bad(`segment ${key} appears twice`);
    keys.add(key);
    const at = `segment ${key}`;
    if (!Array.isArray(docs)) throw bad(`${at}: docs is not a list`);
    const rowCounts = integers(segment.rowCounts);
    if (!rowCounts || rowCounts.length !== docs.length) throw bad(`${at}: rowCounts is not one count per document`);
    const checkedDocs = docs.map((doc, i) => {
      const id = doc?.id;
      if (typeof id !== 'string' || id.length === 0) throw bad(`${at}: document ${i} has id ${describe(id)}, not a non-empty string`);
      const name = `document ${JSON.stringify(id)}`;
      if (seen.has(id)) throw bad(`${name} appears twice (segments ${seen.get(id)} and ${key})`);
      seen.set(id, key);
      if (typeof doc.text !== 'string') throw bad(`${name}: text is ${describe(doc.text)}, not a string`);
      if (doc.title !== undefined && doc.title !== null && (typeof doc.title !== 'string' || doc.title.length > MAX_TITLE_UNITS)) {
        throw bad(`${name}: title is ${typeof doc.title === 'string' ? `${doc.title.length} characters long (at most ${MAX_TITLE_UNITS})` : describe(doc.title)}, not a title`);
      }
      const spans = integers(doc.spans);
      if (!spans || spans.length === 0 || spans.length % 2 !== 0) throw bad(`${name}: spans must be an even, non-empty list of non-negative integers`);
      for (let s = 0; s < spans.length; s += 2) {
        if (spans[s] > spans[s + 1] || spans[s + 1] > doc.text.length) {
          throw bad(`${name}: chunk ${s / 2} spans ${spans[s]}..${spans[s + 1]}, outside its text of ${doc.text.length} characters`);
        }
      }
      if (spans.length / 2 !== rowCounts[i]) throw bad(`${name}: ${spans.length / 2} chunks but ${rowCounts[i]} vectors`);
      return { ...doc, spans };
    });
    const rows = rowCounts.reduce((sum, n) => sum + n, 0);
    const sizes = meta.vectors === 'int8' ? { values: rows * dimension, scales: rows, floats: 0 } : { values: 0, scales: 0, floats: rows * dimension };
    for (const [field, length] of Object.entries(sizes)) {
      if ((segment[field]?.length ?? 0) !== length) throw bad(`${at}: ${field} holds ${segment[field]?.length ?? 0} numbers; its ${rows} vectors need ${length}`);
    }
    const scale = firstBad(segment.scales, (x) => Number.isFinite(x) && x >= 0);
    if (scale >= 0) throw bad(`${at}: scale ${scale} is ${segment.scales[scale]}, not a finite non-negative number`);
    const float = firstBad(segment.floats, Number.isFinite);
    if (float >= 0) throw bad(`${at}: vector value ${float} is ${segment.floats[float]}, not a finite number`);
    return { ...segment, docs: checkedDocs, rowCounts };
  });
}

/** A list of non-negative 32-bit integers as a Uint32Array, or null. */
function integers(list) {
  if (list instanceof Uint32Array) return list;
  if (!Array.isArray(list) || !list.every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff)) return null;
  return Uint32Array.from(list);
}

function firstBad(array, good) {
  if (!array) return -1;
  for (let i = 0; i < array.length; i++) if (!good(array[i])) return i;
  return -1;
}

function describe(value) {
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? (Array.isArray(value) ? 'a list' : 'an object') : `${typeof value} ${JSON.stringify(value)}`;
}
