// Cosine similarity on plain arrays, shared by the in-page and the worker-backed Embedder.

import { WebembedError } from './errors.js';

/** Cosine of every vector in `a` with every vector in `b`: one Float32Array row per `a`. */
export function similarity(a, b) {
  const rows = asVectors(a, 'a');
  const columns = asVectors(b, 'b');
  const columnNorms = columns.map(norm);
  return rows.map((row) => {
    const rowNorm = norm(row);
    const out = new Float32Array(columns.length);
    columns.forEach((column, j) => {
      if (column.length !== row.length) {
        throw new WebembedError('E_INPUT', `cannot compare vectors of length ${row.length} and ${column.length}`);
      }
      let dot = 0;
      for (let k = 0; k < row.length; k++) dot += row[k] * column[k];
      out[j] = dot / Math.max(rowNorm * columnNorms[j], 1e-12);
    });
    return out;
  });
}

function asVectors(value, name) {
  if (value instanceof Float32Array || (Array.isArray(value) && typeof value[0] === 'number')) return [value];
  if (Array.isArray(value) && value.every((v) => v instanceof Float32Array || Array.isArray(v))) return value;
  throw new WebembedError('E_INPUT', `similarity(): ${name} must be a vector or an array of vectors`);
}

function norm(vector) {
  let sum = 0;
  for (let k = 0; k < vector.length; k++) sum += vector[k] * vector[k];
  return Math.sqrt(sum);
}
