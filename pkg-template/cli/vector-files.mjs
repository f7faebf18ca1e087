// `webembed index --vectors`: one file of vectors computed elsewhere, NumPy .npy (inputs.mjs reads
// it) or Apache Parquet (parquet-parts.mjs: the same checked, row-group-at-a-time reading as parts).

import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';

import { InputError, readNpy } from './inputs.mjs';
import { readParquetVectors } from './parquet-parts.mjs';

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
