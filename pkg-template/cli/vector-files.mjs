// `webembed index --vectors`: one file of vectors computed elsewhere, NumPy .npy (inputs.mjs reads
// it) or Apache Parquet (parquet-parts.mjs: the same checked, row-group-at-a-time reading as parts).

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
    const head = Buffer.alloc(Math.min(NPY_HEADER_BYTES, fstatSync(fd).size));
    readSync(fd, head, 0, head.length, 0);
    const headerEnd = head[6] === 1 ? 10 + head.readUInt16LE(8) : 12 + head.readUInt32LE(8);
    if (head.length < 10 || headerEnd > head.length || !/'descr':\s*'<f4'/.test(head.toString('latin1', 0, headerEnd))) {
      closeSync(fd);
      return null;
    }
    const shape = head.toString('latin1', 0, headerEnd).match(/'shape':\s*\(\s*(\d+)\s*,\s*(\d+)\s*,?\s*\)/);
    if (!shape) {
      closeSync(fd);
      return null;
    }
    const [rows, dimension] = [Number(shape[1]), Number(shape[2])];
    // The header's other checks (order, a 2-d shape, the data's length): readNpy, on the header with empty data.
    readNpy(Buffer.concat([head.subarray(0, headerEnd), Buffer.alloc(0)]), file, { dataBytes: fstatSync(fd).size - headerEnd });
    const source = fileRows(fd, headerEnd, rows, dimension);
    await eachBlock(source, (values, start) => {
      const bad = values.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new InputError(`${file}: row ${start + Math.floor(bad / dimension)} holds ${values[bad]} (every value must be a finite number)`);
    });
    return { rows, dimension, source, close: () => closeSync(fd) };
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
