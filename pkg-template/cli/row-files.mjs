// Vectors on disk as the builder's row source (shipped/sources.js), so that a build's memory does
// not grow with its corpus: 10 000 000 × 384 float32 is 15 GB. A spill file takes the rows of
// Parquet parts as they are read; a .npy file is read where it lies.

import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';

/** Fills `bytes` from `fd` at `position`; a file that ends first is an Error saying `what` it ends inside. */
export function readAll(fd, bytes, position, what) {
  for (let done = 0; done < bytes.byteLength;) {
    const got = readSync(fd, bytes, done, bytes.byteLength - done, position + done);
    if (got === 0) throw new Error(`the file ends inside ${what}`);
    done += got;
  }
}

/** Writes all of `bytes` to `fd` at `position`. */
export function writeAll(fd, bytes, position) {
  for (let done = 0; done < bytes.byteLength;) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
}

/** Rows a block read covers at most: ~25 MB at 384 dimensions. */
const BLOCK_ROWS = 16_384;

/**
 * A row source over float32 rows at `offset` in the open file `fd`; `digest` (optional) the
 * SHA-256 of the rows when whoever wrote or checked them computed it (the build's checkpoint key).
 */
export function fileRows(fd, offset, rows, dimension, digest = undefined) {
  const rowBytes = 4 * dimension;
  const read = (into, start, count) => readAll(fd, new Uint8Array(into.buffer, into.byteOffset, count * rowBytes), offset + start * rowBytes, `rows ${start}–${start + count - 1} of ${rows}`);
  return {
    rows,
    dimension,
    digest,
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
  const hash = createHash('sha256');
  let rows = 0;
  let at = 0;
  return {
    append(values) {
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      writeAll(fd, bytes, at);
      hash.update(bytes);
      at += bytes.byteLength;
      rows += values.length / dimension;
    },
    finish: () => fileRows(fd, 0, rows, dimension, hash.digest('hex')),
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
      writeAll(file.fd, bytes, file.at);
      file.at += bytes.byteLength;
    },
    async read(group) {
      const file = files.get(group);
      if (!file) return new Uint8Array(0);
      const out = new Uint8Array(file.at);
      readAll(file.fd, out, 0, `${pathOf(group)}'s ${file.at} bytes`);
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
