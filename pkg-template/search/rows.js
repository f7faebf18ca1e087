// Rows of vectors as the index modules store them: one scale per row, the row's largest |value|
// mapped to `levels` (int8 for scans, int16 for exact rescoring), and back; and typed arrays
// joined. One home, so the browser index, the shipped index's builder and its reader round alike.

/** `values` (rows × dimension floats) as integers of `Type` with one scale per row. */
export function quantizeRows(values, dimension, levels = 127, Type = Int8Array) {
  const rows = values.length / dimension;
  const codes = new Type(values.length);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let largest = 0;
    for (let d = r * dimension; d < (r + 1) * dimension; d++) largest = Math.max(largest, Math.abs(values[d]));
    scales[r] = largest / levels;
    const inverse = largest > 0 ? levels / largest : 0;
    for (let d = r * dimension; d < (r + 1) * dimension; d++) codes[d] = Math.round(values[d] * inverse);
  }
  return { codes, scales };
}

/** Quantized rows back as f32: code × scale (the builder and the reader must agree to the bit). */
export function dequantize({ codes, scales }, dimension) {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = Math.fround(codes[i] * scales[Math.floor(i / dimension)]);
  return out;
}

/** `parts` (typed arrays) joined into one `Type`. */
export function concat(Type, parts) {
  const out = new Type(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
