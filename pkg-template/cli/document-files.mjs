// Documents in a spill file as the builder's document source (shipped/sources.js): at 10 000 000
// documents their objects would take gigabytes of heap, where the file's offsets, lengths, chunk
// counts and sizes take 24 bytes a document. Also the streaming pieces that fill it: JSONL read a
// block at a time, and a set of ids that tells a repeated one in ~20 bytes an id.

import { closeSync, createReadStream, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';

import { fragmentSize } from '../shipped/sources.js';
import { readAll, writeAll } from './row-files.mjs';

/** A growable typed array's next capacity. */
const grow = (array, at) => {
  if (at < array.length) return array;
  const bigger = new array.constructor(Math.max(1024, array.length * 2));
  bigger.set(array);
  return bigger;
};

/**
 * A spill file at `path`: `add(doc)` appends a finished document ({ id, text, spans, title,
 * metadata, url, line }), `finish()` gives the document source, `remove()` deletes the file.
 * `allText`: every document has text (else the index has no keyword side).
 */
export function spillDocuments(path) {
  const fd = openSync(path, 'w+');
  let offsets = new Float64Array(1024);
  let lengths = new Uint32Array(1024);
  let rowCounts = new Uint32Array(1024);
  let sizes = new Uint32Array(1024);
  let count = 0;
  let at = 0;
  let titled = false;
  let allText = true;
  const get = (d) => {
    const bytes = Buffer.allocUnsafe(lengths[d]);
    readAll(fd, bytes, offsets[d], `document ${d} of ${path}`);
    return JSON.parse(bytes.toString('utf8'));
  };
  return {
    add(doc) {
      [offsets, lengths, rowCounts, sizes] = [grow(offsets, count), grow(lengths, count), grow(rowCounts, count), grow(sizes, count)];
      titled ||= Boolean(doc.title);
      allText &&= typeof doc.text === 'string' && doc.text.length > 0;
      const stored = { ...doc, text: doc.text ?? '' };
      const bytes = Buffer.from(JSON.stringify(stored));
      writeAll(fd, bytes, at);
      offsets[count] = at;
      lengths[count] = bytes.length;
      rowCounts[count] = doc.spans.length / 2;
      sizes[count] = fragmentSize(stored);
      at += bytes.length;
      count++;
    },
    /** Document `d` as it was added (a repeated id's first place, for the error). */
    get,
    get count() {
      return count;
    },
    finish() {
      return { count, rowCounts: rowCounts.subarray(0, count), size: (d) => sizes[d], titled, allText, get };
    },
    async remove() {
      closeSync(fd);
      await rm(path, { force: true });
    },
  };
}

/** Each non-blank line of `file` with its number, read a block at a time: `visit(line, number)`. */
export async function eachLine(file, visit) {
  let rest = '';
  let number = 0;
  for await (const block of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + block).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      number++;
      if (line.trim()) await visit(line, number);
    }
  }
  number++;
  if (rest.trim()) await visit(rest, number);
}

/**
 * A set of ids in ~20 bytes an id (two 32-bit hashes and a document number, open addressing):
 * `add(id, number)` returns the number of an earlier document whose id hashes the same (the caller
 * checks it is the same id), or -1.
 */
export function idSet() {
  let capacity = 1 << 16;
  let keys = new Uint32Array(2 * capacity);
  let numbers = new Int32Array(capacity).fill(-1);
  let size = 0;
  const hashes = (id) => {
    let [a, b] = [0x811c9dc5, 0x9747b28c];
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    return [a >>> 0, b >>> 0];
  };
  const place = (a, b, number) => {
    for (let slot = a & (capacity - 1); ; slot = (slot + 1) & (capacity - 1)) {
      if (numbers[slot] === -1) {
        [keys[2 * slot], keys[2 * slot + 1], numbers[slot]] = [a, b, number];
        return -1;
      }
      if (keys[2 * slot] === a && keys[2 * slot + 1] === b) return numbers[slot];
    }
  };
  return {
    add(id, number) {
      if (2 * (size + 1) > capacity) {
        const [oldKeys, oldNumbers] = [keys, numbers];
        capacity *= 2;
        keys = new Uint32Array(2 * capacity);
        numbers = new Int32Array(capacity).fill(-1);
        for (let slot = 0; slot < oldNumbers.length; slot++) if (oldNumbers[slot] !== -1) place(oldKeys[2 * slot], oldKeys[2 * slot + 1], oldNumbers[slot]);
      }
      const [a, b] = hashes(id);
      const earlier = place(a, b, number);
      if (earlier === -1) size++;
      return earlier;
    },
  };
}
