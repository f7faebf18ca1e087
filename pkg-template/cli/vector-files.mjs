// `webembed index --vectors`: one file of vectors computed elsewhere, NumPy .npy (inputs.mjs reads
// it) or Apache Parquet (parquet-parts.mjs: the same checked, row-group-at-a-time reading as parts).

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';

import { InputError, readNpy } from './inputs.mjs';
import { readParquetVectors } from './parquet-parts.mjs';
import { eachBlock, fileRows } from './row-files.mjs';

/** Bytes of a .npy file read to find its header. */
const NPY_HEADER_BYTES = 65_536;

/**
 * A float32 .npy file's rows where they lie (a row source: they are read when a pass needs them),
 * each value checked finite as they are read once here; `close()` when done. Other dtypes are read
 * whole (readVectors). Null when the file is not float32 .npy.
 */
export async function openNpyRows(file) {
  if (extname(file).toLowerCase() !== '.npy') return null;
  let fd;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new InputError(`${file}: cannot read it (${error.code ?? error.message})`);
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(NPY_HEADER_BYTES, size));
    readSync(fd, head, 0, head.length, 0);
    // A header past what was read (or not .npy at all) goes to readVectors, which reads the whole file.
    const headerEnd = head.length < 12 ? Infinity : head[6] === 1 ? 10 + head.readUInt16LE(8) : 12 + head.readUInt32LE(8);
    const header = headerEnd <= head.length ? readNpy(head, file, { fileBytes: size }) : null;
    if (header?.descr !== '<f4') {
      closeSync(fd);
      return null;
    }
    const { rows, dimension, start } = header;
    // One pass over the rows: each value checked finite, and their digest (the build's checkpoint key) taken.
    const hash = createHash('sha256');
    await eachBlock(fileRows(fd, start, rows, dimension), (values, first) => {
      const bad = values.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new InputError(`${file}: row ${first + Math.floor(bad / dimension)} holds ${values[bad]} (every value must be a finite number)`);
      hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    });
    return { rows, dimension, source: fileRows(fd, start, rows, dimension, hash.digest('hex')), close: () => closeSync(fd) };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** `{ rows, dimension, values }` of a .npy or .parquet file; every value finite. */
export async function readVectors(file, { column } = {}) {
  const extension = extname(file).toLowerCase();
  if (extension === '.parquet') return readParquetVectors(file, column);
  if (extension !== '.npy') throw new InputError(`${file}: vectors are read from .npy or .parquet files`);
  let bytes;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new InputError(`${file}: cannot read it (${error.code ?? error.message})`);
  }
  const read = readNpy(bytes, file);
  const bad = read.values.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new InputError(`${file}: row ${Math.floor(bad / read.dimension)} holds ${read.values[bad]} (every value must be a finite number)`);
  return read;
}
