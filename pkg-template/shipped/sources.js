// The builder's inputs as sources, so that they need not all be in memory.
// Vectors, a row source: `{ rows, dimension, block(start, count), gather(rowNumbers) }`, each
// returning a Float32Array of the rows asked for, in the order asked (cli/row-files.mjs reads them
// from a file; `memoryRows` wraps a Float32Array).
// Documents, a document source: `{ count, rowCounts (Uint32Array: each one's chunks), size(d)
// (bytes it takes in a fragment), titled (any has a title), get(d) → { id, text, spans, metadata,
// url, title } }` (cli/document-files.mjs keeps them in a file; `memoryDocuments` wraps an array).

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

/** What a document takes in a fragment, about: its text, id, url, title and metadata, and 64 bytes of JSON around them. */
export function fragmentSize(doc) {
  return doc.text.length + doc.id.length + (doc.url?.length ?? 0) + (doc.title?.length ?? 0) + 64 + (doc.metadata ? JSON.stringify(doc.metadata).length : 0);
}

/** An array of documents as a document source. */
export function memoryDocuments(documents) {
  return {
    count: documents.length,
    rowCounts: Uint32Array.from(documents, (doc) => doc.spans.length / 2),
    size: (d) => fragmentSize(documents[d]),
    titled: documents.some((doc) => doc.title),
    get: (d) => documents[d],
  };
}

/** `documents` as a document source: one already, or an array. */
export function documentSource(documents) {
  return Array.isArray(documents) ? memoryDocuments(documents) : documents;
}
