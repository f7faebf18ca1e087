// Vectors on disk as the builder's row source (shipped/sources.js), so that a build's memory does
// not grow with its corpus: 10 000 000 × 384 float32 is 15 GB. A spill file takes the rows of
// Parquet parts as they are read; a .npy file is read where it lies.

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';

/** Rows a block read covers at most: ~25 MB at 384 dimensions. */
const BLOCK_ROWS = 16_384;

/** A row source over float32 rows at `offset` in the open file `fd`. */
export function fileRows(fd, offset, rows, dimension) {
  const rowBytes = 4 * dimension;
  const read = (into, start, count) => {
    const bytes = new Uint8Array(into.buffer, into.byteOffset, count * rowBytes);
    let done = 0;
    while (done < bytes.byteLength) {
      const got = readSync(fd, bytes, done, bytes.byteLength - done, offset + start * rowBytes + done);
      if (got === 0) throw new Error(`the vectors file ends at row ${start + Math.floor(done / rowBytes)} of ${rows}`);
      done += got;
    }
  };
  return {
    rows,
    dimension,
    block(start, count) {
      const out = new Float32Array(count * dimension);
      read(out, start, count);
      return out;
    },
    gather(rowNumbers) {
      const out = new Float32Array(rowNumbers.length * dimension);
      // Runs of consecutive rows in one read each.
      for (let i = 0; i < rowNumbers.length;) {
        let end = i + 1;
        while (end < rowNumbers.length && end - i < BLOCK_ROWS && rowNumbers[end] === rowNumbers[end - 1] + 1) end++;
        read(out.subarray(i * dimension, end * dimension), rowNumbers[i], end - i);
        i = end;
      }
      return out;
    },
  };
}

/** Each block of `source` in turn: `visit(values, start, count)`. */
export async function eachBlock(source, visit) {
  for (let start = 0; start < source.rows; start += BLOCK_ROWS) {
    const count = Math.min(BLOCK_ROWS, source.rows - start);
    await visit(source.block(start, count), start, count);
  }
}

/**
 * A spill file at `path` that rows are appended to (`append(Float32Array)`), then read as a row
 * source (`finish()`); `remove()` deletes it.
 */
export function spillRows(path, dimension) {
  const fd = openSync(path, 'w+');
  let rows = 0;
  let at = 0;
  return {
    append(values) {
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, at + done);
      at += bytes.byteLength;
      rows += values.length / dimension;
    },
    finish: () => fileRows(fd, 0, rows, dimension),
    async remove() {
      closeSync(fd);
      await rm(path, { force: true });
    },
  };
}

/**
 * keyword-passes.js's spill streams as files `<prefix>-<group>.bin` (one per group, appended to,
 * read back whole), so a build's postings wait on disk, not in memory.
 */
export function spillGroups(prefix) {
  const files = new Map();
  const pathOf = (group) => `${prefix}-${group}.bin`;
  return {
    async append(group, bytes) {
      if (!files.has(group)) files.set(group, { fd: openSync(pathOf(group), 'w+'), at: 0 });
      const file = files.get(group);
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(file.fd, bytes, done, bytes.byteLength - done, file.at + done);
      file.at += bytes.byteLength;
    },
    async read(group) {
      const file = files.get(group);
      if (!file) return new Uint8Array(0);
      const out = new Uint8Array(file.at);
      let done = 0;
      while (done < out.byteLength) done += readSync(file.fd, out, done, out.byteLength - done, done) || (() => { throw new Error(`${pathOf(group)} ends at ${done} of ${out.byteLength} bytes`); })();
      return out;
    },
    async remove() {
      for (const [group, { fd }] of files) {
        closeSync(fd);
        await rm(pathOf(group), { force: true });
      }
      files.clear();
    },
  };
}
