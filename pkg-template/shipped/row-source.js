// The builder's vectors as a row source, so that they need not all be in memory: `{ rows,
// dimension, block(start, count), gather(rowNumbers) }`, each returning a Float32Array of the
// rows asked for, in the order asked. The CLI's disk-backed source (cli/row-files.mjs) reads
// them from a file; a Float32Array is wrapped by `memoryRows`.

/** A Float32Array of `dimension`-float rows as a row source. */
export function memoryRows(values, dimension) {
  return {
    rows: values.length / dimension,
    dimension,
    block: (start, count) => values.subarray(start * dimension, (start + count) * dimension),
    gather(rowNumbers) {
      const out = new Float32Array(rowNumbers.length * dimension);
      rowNumbers.forEach((r, i) => out.set(values.subarray(r * dimension, (r + 1) * dimension), i * dimension));
      return out;
    },
  };
}

/** `vectors` as a row source: one already, or a Float32Array. */
export function rowSource(vectors, dimension) {
  return vectors instanceof Float32Array ? memoryRows(vectors, dimension) : vectors;
}
