// The shipped index's files, written by the CLI (shipped-build.js) and read by loadIndex
// (shipped-index.js): one home for their layout, so the writer and the reader cannot disagree.
//
// A shipped index is a folder of plain files any static host serves:
//   webembed-index.json   the manifest (the one fixed name; everything else is named by content)
//   c/<hash>.bin          the coarse quantizer: IVF centroids, int8 with one scale each; in a
//                         two-level index (version 3), the top level's centroids, and one block
//                         per top centroid: its partitions' centroids and their files and sizes,
//                         fetched on demand, so what a query reads does not grow with the corpus
//   p/<hash>.bin          one partition per centroid: each chunk vector's residual to its
//                         centroid, int8 with one scale, and the chunk's document and position
//   k/<hash>.bin          keyword postings, sharded by a hash of the term: each posting carries
//                         its BM25 impact, so a query adds weight × impact and nothing else;
//                         a document's title field is one more chunk (`keywords.title.chunk`)
//   d/<hash>.json         document fragments (text, chunk spans, metadata, url, title), fetched only
//                         for the hits a search returns
//   d/<hash>.bin, k/<hash>.bin  (version 4) pages of the fragment and keyword shard tables: which
//                         file holds which documents or shard, so that neither table is one file
//                         fetched whole (~1 MB at a million documents)
// <hash> is the first 16 hex digits of the file's SHA-256: a host and a browser may cache every
// file but the manifest forever, and a reader checks each file's bytes against its name.

import { WebembedError } from '../core/errors.js';

export { dequantize, quantizeRows } from '../search/rows.js';

export const MANIFEST_NAME = 'webembed-index.json';
export const FORMAT_NAME = 'webembed-shipped-index';
/** 2: documents' title fields (postings at `keywords.title.chunk`, weighed by `keywords.title.weight`). */
export const FORMAT_VERSION = 2;
/** 3: the vectors in two levels (`vectors.blocks`); written only when one level would not do. */
export const TWO_LEVEL_VERSION = 3;
/**
 * 4: two levels, and the fragment and shard tables in pages, each table's pages listed by a
 * directory file (`fragmentPages`, `keywords.shardPages`: [directory, pages, bytes]).
 */
export const PAGED_VERSION = 4;
/** Versions this webembed reads: a version 1 index is a version 2 one without titles. */
export const READABLE_VERSIONS = [1, 2, 3, 4];
/**
 * Entries a table page holds: a query's hits touch up to ~10 fragment pages (~0.7 KB each) and
 * its terms a few shard pages (~1.5 KB), where one page of hundreds would cost ~10 KB a hit. At
 * 1 000 000 vectors 64-entry fragment pages gave 250 KB a query (the bar), 32 about 6 KB less.
 */
export const PAGE_ENTRIES = { fragments: 32, shards: 128 };
const HASH_DIGITS = 16;
const FILE_NAME = /^[cpkd]\/[0-9a-f]{16}\.(bin|json)$/;
const MAGIC = { centroids: 0x31434557, partition: 0x31504557, shard: 0x314b4557, block: 0x31424557, page: 0x31544557, directory: 0x31444557 }; // 'WEC1', 'WEP1', 'WEK1', 'WEB1', 'WET1', 'WED1' little-endian
const PAGE_KINDS = { fragments: 1, shards: 2 };
export const MAX_DIMENSION = 65_536;

/** The SHA-256 of `bytes` as hex. */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The content-hashed path of a file in `folder` ('c', 'p', 'k' or 'd'). */
export async function contentName(folder, bytes, extension) {
  return `${folder}/${(await sha256Hex(bytes)).slice(0, HASH_DIGITS)}.${extension}`;
}

/** Whether `name` is a path the manifest may name: inside the index folder, content-hashed. */
export function isContentName(name) {
  return typeof name === 'string' && FILE_NAME.test(name);
}

/** Checks bytes fetched for `name` against the hash in the name. */
export async function checkContent(name, bytes) {
  const hash = (await sha256Hex(bytes)).slice(0, HASH_DIGITS);
  if (!name.includes(`/${hash}.`)) {
    throw new WebembedError('E_INDEX', `${name} is damaged or was replaced: its bytes hash to ${hash}`);
  }
}

/** Which keyword shard holds `term`: its termHash modulo the shard count. */
export function shardOf(term, shards) {
  return termHash(term) % shards;
}

/** FNV-1a of a term's UTF-8 bytes. */
export function termHash(term) {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(term)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A content name's 16 hex digits as 8 bytes at `at` of `out` (a block, page or directory names files so). */
function putNameHash(out, at, name) {
  const hash = name.slice(2, 2 + HASH_DIGITS);
  for (let b = 0; b < 8; b++) out[at + b] = parseInt(hash.slice(2 * b, 2 * b + 2), 16);
}

/** The 16 hex digits stored by putNameHash at `at` of `bytes`. */
function nameHashAt(bytes, at) {
  return Array.from(bytes.subarray(at, at + 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

// Binary files: a 12-byte header (magic, count, dimension or header length), then arrays, each
// starting on a 4-byte boundary.

export function encodeCentroids({ codes, scales }, dimension) {
  const count = scales.length;
  const out = new Uint8Array(12 + 4 * count + count * dimension);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC.centroids, true);
  view.setUint32(4, count, true);
  view.setUint32(8, dimension, true);
  new Float32Array(out.buffer, 12, count).set(scales);
  new Int8Array(out.buffer, 12 + 4 * count).set(codes);
  return out;
}

export function decodeCentroids(bytes, name, expected) {
  const { count, dimension, body } = header(bytes, name, MAGIC.centroids, 'centroids');
  expectEqual(name, 'centroids', count, expected.count);
  expectEqual(name, 'dimension', dimension, expected.dimension);
  expectEqual(name, 'size', bytes.byteLength, 12 + 4 * count + count * dimension);
  const scales = new Float32Array(body.buffer.slice(body.byteOffset + 12, body.byteOffset + 12 + 4 * count));
  checkScales(scales, name);
  return { count, dimension, scales, codes: new Int8Array(body.buffer.slice(body.byteOffset + 12 + 4 * count, body.byteOffset + bytes.byteLength)) };
}

/**
 * A block of a two-level index: its number (a manifest that swaps blocks is caught), the global
 * number of its first partition, its partitions' centroids (int8, one scale each), and each
 * partition's rows, bytes and file (the 16 hex digits of its name as 8 bytes).
 */
export function encodeBlock({ block, first, codes, scales, partitions }, dimension) {
  const count = scales.length;
  const codesLength = Math.ceil((count * dimension) / 4) * 4;
  const out = new Uint8Array(20 + 4 * count + codesLength + 16 * count);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC.block, true);
  view.setUint32(4, count, true);
  view.setUint32(8, dimension, true);
  view.setUint32(12, block, true);
  view.setUint32(16, first, true);
  new Float32Array(out.buffer, 20, count).set(scales);
  new Int8Array(out.buffer, 20 + 4 * count).set(codes);
  partitions.forEach(([name, rows, bytes], i) => {
    const at = 20 + 4 * count + codesLength + 16 * i;
    view.setUint32(at, rows, true);
    view.setUint32(at + 4, bytes, true);
    putNameHash(out, at + 8, name);
  });
  return out;
}

/** A block as the manifest describes it (`expected`: { block, count, dimension, partitions }): `{ first, scales, codes, partitions: [[name, rows, bytes]] }`. */
export function decodeBlock(bytes, name, expected) {
  const { count, dimension, body } = header(bytes, name, MAGIC.block, 'block of partition centroids');
  expectEqual(name, 'partition count', count, expected.count);
  expectEqual(name, 'dimension', dimension, expected.dimension);
  const codesLength = Math.ceil((count * dimension) / 4) * 4;
  expectEqual(name, 'size', bytes.byteLength, 20 + 4 * count + codesLength + 16 * count);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  expectEqual(name, 'block number', view.getUint32(12, true), expected.block);
  const first = view.getUint32(16, true);
  if (first + count > expected.partitions) throw new WebembedError('E_INDEX', `${name}: partitions ${first}–${first + count - 1} are past the index's ${expected.partitions}`);
  const copy = body.buffer.slice(body.byteOffset, body.byteOffset + bytes.byteLength);
  const scales = new Float32Array(copy, 20, count);
  checkScales(scales, name);
  const partitions = [];
  const copyBytes = new Uint8Array(copy);
  for (let i = 0; i < count; i++) {
    const at = 20 + 4 * count + codesLength + 16 * i;
    const hash = nameHashAt(copyBytes, at + 8);
    const [rows, size] = [view.getUint32(at, true), view.getUint32(at + 4, true)];
    // A partition's size follows from its rows: a block cannot make a search read more.
    if (size !== 16 + rows * (12 + dimension)) throw new WebembedError('E_INDEX', `${name}: partition ${first + i} claims ${size} bytes for ${rows} rows`);
    partitions.push([`p/${hash}.bin`, rows, size]);
  }
  return { count, first, scales, codes: new Int8Array(copy, 20 + 4 * count, count * dimension), partitions };
}

/**
 * A partition: its list number (so a manifest that swaps two partitions is caught: residuals
 * only mean something beside their own centroid), then `rows` entries of (document number,
 * chunk index, residual scale, residual codes).
 */
export function encodePartition({ list, documents, chunks, scales, codes }, dimension) {
  const rows = documents.length;
  const out = new Uint8Array(16 + 12 * rows + rows * dimension);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC.partition, true);
  view.setUint32(4, rows, true);
  view.setUint32(8, dimension, true);
  view.setUint32(12, list, true);
  new Uint32Array(out.buffer, 16, rows).set(documents);
  new Uint32Array(out.buffer, 16 + 4 * rows, rows).set(chunks);
  new Float32Array(out.buffer, 16 + 8 * rows, rows).set(scales);
  new Int8Array(out.buffer, 16 + 12 * rows).set(codes);
  return out;
}

export function decodePartition(bytes, name, expected) {
  const { count: rows, dimension, body } = header(bytes, name, MAGIC.partition, 'partition');
  expectEqual(name, 'rows', rows, expected.rows);
  expectEqual(name, 'dimension', dimension, expected.dimension);
  expectEqual(name, 'size', bytes.byteLength, 16 + 12 * rows + rows * dimension);
  expectEqual(name, 'partition number', new DataView(body.buffer, body.byteOffset).getUint32(12, true), expected.list);
  const copy = body.buffer.slice(body.byteOffset, body.byteOffset + bytes.byteLength);
  const documents = new Uint32Array(copy, 16, rows);
  const chunks = new Uint32Array(copy, 16 + 4 * rows, rows);
  const scales = new Float32Array(copy, 16 + 8 * rows, rows);
  checkScales(scales, name);
  const bad = documents.findIndex((d) => d >= expected.documents);
  if (bad >= 0) throw new WebembedError('E_INDEX', `${name}: row ${bad} names document ${documents[bad]} of ${expected.documents}`);
  return { rows, documents, chunks, scales, codes: new Int8Array(copy, 16 + 12 * rows, rows * dimension) };
}

/** A keyword shard: its terms, each with postings (document number, chunk index, BM25 impact). */
export function encodeShard(terms) {
  const json = new TextEncoder().encode(JSON.stringify({ terms: terms.map((t) => t.term), counts: terms.map((t) => t.documents.length) }));
  const jsonLength = Math.ceil(json.length / 4) * 4;
  const postings = terms.reduce((n, t) => n + t.documents.length, 0);
  const out = new Uint8Array(12 + jsonLength + 12 * postings);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC.shard, true);
  view.setUint32(4, postings, true);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  // Space-padded so the header stays JSON.
  out.fill(0x20, 12 + json.length, 12 + jsonLength);
  const base = 12 + jsonLength;
  const [documents, chunks, impacts] = [new Uint32Array(out.buffer, base, postings), new Uint32Array(out.buffer, base + 4 * postings, postings), new Float32Array(out.buffer, base + 8 * postings, postings)];
  let at = 0;
  for (const t of terms) {
    documents.set(t.documents, at);
    chunks.set(t.chunks, at);
    impacts.set(t.impacts, at);
    at += t.documents.length;
  }
  return out;
}

/** A shard as `Map(term → { documents, chunks, impacts })`. */
export function decodeShard(bytes, name, expected) {
  const { count: postings, dimension: jsonLength, body } = header(bytes, name, MAGIC.shard, 'keyword shard');
  const padded = Math.ceil(jsonLength / 4) * 4;
  expectEqual(name, 'size', bytes.byteLength, 12 + padded + 12 * postings);
  const { terms, counts } = jsonOf(body.subarray(12, 12 + jsonLength), name, 'a keyword shard: its term list is not JSON') ?? {};
  if (!Array.isArray(terms) || !Array.isArray(counts) || terms.length !== counts.length || terms.some((t) => typeof t !== 'string')) {
    throw new WebembedError('E_INDEX', `${name}: its term list is not terms with counts`);
  }
  if (counts.some((c) => !Number.isInteger(c) || c < 0) || counts.reduce((a, b) => a + b, 0) !== postings) {
    throw new WebembedError('E_INDEX', `${name}: its term counts do not add up to its ${postings} postings`);
  }
  const misplaced = terms.find((term) => shardOf(term, expected.shards) !== expected.shard);
  if (misplaced !== undefined) throw new WebembedError('E_INDEX', `${name}: term ${JSON.stringify(misplaced)} does not belong in keyword shard ${expected.shard} (shards swapped?)`);
  const copy = body.buffer.slice(body.byteOffset + 12 + padded, body.byteOffset + bytes.byteLength);
  const all = { documents: new Uint32Array(copy, 0, postings), chunks: new Uint32Array(copy, 4 * postings, postings), impacts: new Float32Array(copy, 8 * postings, postings) };
  const bad = all.documents.findIndex((d) => d >= expected.documents);
  if (bad >= 0) throw new WebembedError('E_INDEX', `${name}: posting ${bad} names document ${all.documents[bad]} of ${expected.documents}`);
  if (all.impacts.some((x) => !(Number.isFinite(x) && x >= 0))) throw new WebembedError('E_INDEX', `${name}: an impact is not a finite non-negative number`);
  const map = new Map();
  let at = 0;
  terms.forEach((term, i) => {
    const end = at + counts[i];
    map.set(term, { documents: all.documents.subarray(at, end), chunks: all.chunks.subarray(at, end), impacts: all.impacts.subarray(at, end) });
    at = end;
  });
  return map;
}

/**
 * `url` if a page may link to it: an http(s) URL, or a path relative to the site (no scheme, no
 * `//host`); else null. A `javascript:` or `data:` URL as a hit's link runs script in the page's
 * origin when clicked.
 */
export function safeUrl(url) {
  if (typeof url !== 'string' || url.length === 0 || url.length > 4096) return null;
  // Browsers drop tabs and newlines inside a URL and leading spaces and controls before reading its scheme.
  const cleaned = url.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+/, '');
  const scheme = cleaned.match(/^([a-zA-Z][a-zA-Z0-9+.-]*):/);
  if (scheme) return /^https?$/i.test(scheme[1]) ? url : null;
  return cleaned.startsWith('//') || cleaned.startsWith('\\') || /^\/[\\]/.test(cleaned) ? null : url;
}

/** A document fragment: `{ first, docs: [{ id, text, spans, metadata, url, title? }] }` as JSON bytes. */
export function encodeFragment(first, docs) {
  return new TextEncoder().encode(JSON.stringify({ first, docs }));
}

export function decodeFragment(bytes, name, expected) {
  const { first, docs } = jsonOf(bytes, name, 'a document fragment') ?? {};
  if (first !== expected.first || !Array.isArray(docs) || docs.length !== expected.count) {
    throw new WebembedError('E_INDEX', `${name} does not hold documents ${expected.first} to ${expected.first + expected.count - 1}`);
  }
  docs.forEach((doc, i) => {
    const at = `${name}: document ${first + i}`;
    if (typeof doc?.id !== 'string' || typeof doc.text !== 'string') throw new WebembedError('E_INDEX', `${at} has no string id and text`);
    const spans = doc.spans;
    if (!Array.isArray(spans) || spans.length === 0 || spans.length % 2 !== 0 || spans.some((x, j) => !Number.isInteger(x) || x < 0 || x > doc.text.length || (j % 2 === 1 && x < spans[j - 1]))) {
      throw new WebembedError('E_INDEX', `${at} (${JSON.stringify(doc.id)}): spans must be pairs of offsets within its text`);
    }
    if (doc.url !== undefined && doc.url !== null && typeof doc.url !== 'string') throw new WebembedError('E_INDEX', `${at}: url is not a string`);
    if (doc.title !== undefined && doc.title !== null && typeof doc.title !== 'string') throw new WebembedError('E_INDEX', `${at}: title is not a string`);
  });
  return docs;
}

/**
 * The fragment table (which fragment holds which documents), its own file so that opening an
 * index of many documents stays small: `[[file, first document, count, bytes], …]` as JSON.
 */
export function encodeFragmentTable(entries) {
  return new TextEncoder().encode(JSON.stringify(entries));
}

export function decodeFragmentTable(bytes, name, documents) {
  const table = jsonOf(bytes, name, 'a fragment table');
  if (!Array.isArray(table)) throw new WebembedError('E_INDEX', `${name} is not a fragment table`);
  let next = 0;
  for (const entry of table) {
    if (!Array.isArray(entry) || entry.length !== 4 || !isContentName(entry[0]) || entry[1] !== next || !(Number.isSafeInteger(entry[2]) && entry[2] >= 1) || !Number.isSafeInteger(entry[3])) {
      throw new WebembedError('E_INDEX', `${name}: entry ${JSON.stringify(entry)?.slice(0, 120)} is not [content-hashed file, next document, count, bytes]`);
    }
    next += entry[2];
  }
  if (next !== documents) throw new WebembedError('E_INDEX', `${name}: its fragments hold ${next} documents of ${documents}`);
  return table;
}

/**
 * The keyword shard table, its own file (fetched with the first keyword search) so that a large
 * vocabulary does not weigh on opening: `[[file, bytes], …]`, shard n at position n.
 */
export function encodeShardTable(entries) {
  return new TextEncoder().encode(JSON.stringify(entries));
}

export function decodeShardTable(bytes, name, count) {
  const table = jsonOf(bytes, name, 'a shard table');
  if (!Array.isArray(table) || table.length !== count) throw new WebembedError('E_INDEX', `${name} does not list ${count} shards`);
  for (const entry of table) {
    if (!Array.isArray(entry) || entry.length !== 2 || !isContentName(entry[0]) || !Number.isSafeInteger(entry[1])) {
      throw new WebembedError('E_INDEX', `${name}: entry ${JSON.stringify(entry)?.slice(0, 120)} is not [content-hashed file, bytes]`);
    }
  }
  return table;
}

/**
 * A page of a table (version 4): its kind and number (a manifest that swaps pages is caught),
 * then per entry some u32 fields and the 16 hex digits of a file's name as 8 bytes. Fragments:
 * [first document, documents, bytes] of `d/<hash>.json`; shards: [bytes] of `k/<hash>.bin`.
 */
export function encodePage(kind, page, entries) {
  const fields = kind === 'fragments' ? 3 : 1;
  const count = entries.length;
  const out = new Uint8Array(20 + count * (4 * fields + 8));
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC.page, true);
  view.setUint32(4, count, true);
  view.setUint32(8, fields, true);
  view.setUint32(12, PAGE_KINDS[kind], true);
  view.setUint32(16, page, true);
  entries.forEach(([name, ...numbers], i) => {
    numbers.forEach((n, f) => view.setUint32(20 + 4 * (f * count + i), n, true));
    putNameHash(out, 20 + 4 * fields * count + 8 * i, name);
  });
  return out;
}

/**
 * A table page as the manifest describes it (`expected`: { kind, page, first (fragments: the
 * page's first document; shards: its first shard), end (one past the last document or shard
 * the page may hold) }): fragments `[[name, first, count, bytes]]`, shards `[[name, bytes]]`.
 * Fragments must follow one another from `first`; shards fill their page's slots.
 */
export function decodePage(bytes, name, { kind, page, first, end }) {
  const { count, dimension: fields, body } = header(bytes, name, MAGIC.page, `page of the ${kind} table`);
  const wanted = kind === 'fragments' ? 3 : 1;
  expectEqual(name, 'fields', fields, wanted);
  expectEqual(name, 'size', bytes.byteLength, 20 + count * (4 * fields + 8));
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  expectEqual(name, 'table', view.getUint32(12, true), PAGE_KINDS[kind]);
  expectEqual(name, 'page number', view.getUint32(16, true), page);
  const field = (f, i) => view.getUint32(20 + 4 * (f * count + i), true);
  const fileName = (i) => nameHashAt(body, 20 + 4 * fields * count + 8 * i);
  const entries = [];
  if (kind === 'shards') {
    expectEqual(name, 'shards', count, Math.min(PAGE_ENTRIES.shards, end - first));
    for (let i = 0; i < count; i++) entries.push([`k/${fileName(i)}.bin`, field(0, i)]);
    return entries;
  }
  let next = first;
  for (let i = 0; i < count; i++) {
    const [at, documents, size] = [field(0, i), field(1, i), field(2, i)];
    if (at !== next || documents < 1 || at + documents > end) throw new WebembedError('E_INDEX', `${name}: fragment ${i} holds documents ${at}–${at + documents - 1}, not from ${next} within ${end}`);
    entries.push([`d/${fileName(i)}.json`, at, documents, size]);
    next = at + documents;
  }
  if (count === 0 || count > PAGE_ENTRIES.fragments) throw new WebembedError('E_INDEX', `${name}: ${count} fragments, not 1 to ${PAGE_ENTRIES.fragments}`);
  return entries;
}

/**
 * A paged table's directory (version 4): per page its first entry (a document, or a shard), its
 * bytes and its file; fetched with the first search that needs the table, so that opening stays
 * small however many pages there are (~4 000 fragment pages at 10 000 000 short documents: 62 KB
 * here, ~180 KB as manifest JSON).
 */
export function encodeDirectory(kind, pages) {
  const count = pages.length;
  const out = new Uint8Array(16 + 16 * count);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC.directory, true);
  view.setUint32(4, count, true);
  view.setUint32(8, 2, true);
  view.setUint32(12, PAGE_KINDS[kind], true);
  pages.forEach(([name, first, bytes], i) => {
    view.setUint32(16 + 4 * i, first, true);
    view.setUint32(16 + 4 * (count + i), bytes, true);
    putNameHash(out, 16 + 8 * count + 8 * i, name);
  });
  return out;
}

/**
 * A directory as the manifest describes it (`expected`: { kind, pages, end: the documents or
 * shards }): `[[page file, first, bytes]]`. Fragment pages start at document 0 and rise within
 * the documents; shard page n starts at shard n × PAGE_ENTRIES.shards.
 */
export function decodeDirectory(bytes, name, { kind, pages, end }) {
  const { count, dimension: fields, body } = header(bytes, name, MAGIC.directory, `directory of the ${kind} table's pages`);
  expectEqual(name, 'pages', count, pages);
  expectEqual(name, 'fields', fields, 2);
  expectEqual(name, 'size', bytes.byteLength, 16 + 16 * count);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  expectEqual(name, 'table', view.getUint32(12, true), PAGE_KINDS[kind]);
  const folder = kind === 'fragments' ? 'd' : 'k';
  const out = [];
  for (let i = 0; i < count; i++) {
    const first = view.getUint32(16 + 4 * i, true);
    const wanted = kind === 'shards' ? i * PAGE_ENTRIES.shards : null;
    if ((wanted !== null && first !== wanted) || (wanted === null && (i === 0 ? first !== 0 : first <= out[i - 1][1])) || first >= Math.max(1, end)) {
      throw new WebembedError('E_INDEX', `${name}: page ${i} starts at ${first}, not ${wanted ?? 'after the page before'} within ${end}`);
    }
    const hash = nameHashAt(body, 16 + 8 * count + 8 * i);
    out.push([`${folder}/${hash}.bin`, first, view.getUint32(16 + 4 * (count + i), true)]);
  }
  return out;
}

/** Checks a parsed manifest's shape; returns it. Every file it names must be a content name. */
export function checkManifest(manifest, where) {
  const bad = (why) => new WebembedError('E_INDEX', `${where}: ${why}`);
  if (manifest?.format !== FORMAT_NAME) throw bad(`it is not a webembed shipped index manifest (format ${JSON.stringify(manifest?.format)})`);
  if (!READABLE_VERSIONS.includes(manifest.version)) throw bad(`it is version ${manifest.version}; this webembed reads versions ${READABLE_VERSIONS.slice(0, -1).join(', ')} and ${READABLE_VERSIONS.at(-1)}`);
  const { model, counts, vectors, keywords, fragments } = manifest;
  const dimension = model?.dimension;
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > MAX_DIMENSION) throw bad(`model.dimension ${JSON.stringify(dimension)} is not a dimension`);
  for (const key of ['queryPrompt', 'documentPrompt']) if (typeof model[key] !== 'string') throw bad(`model.${key} is not a string`);
  if (!Number.isSafeInteger(counts?.documents) || counts.documents < 0 || !Number.isSafeInteger(counts?.chunks) || counts.chunks < counts.documents) throw bad('counts are not document and chunk counts');
  const fileList = (list, fields, what) => {
    if (!Array.isArray(list)) throw bad(`${what} is not a list`);
    for (const entry of list) {
      if (!Array.isArray(entry) || entry.length !== fields || !isContentName(entry[0]) || entry.slice(1).some((n) => !Number.isSafeInteger(n) || n < 0)) {
        throw bad(`${what} has an entry ${JSON.stringify(entry)?.slice(0, 120)}, not [content-hashed file inside the index, sizes…]`);
      }
    }
  };
  if (!isContentName(vectors?.centroids?.[0]) || !Number.isSafeInteger(vectors.centroids[1])) throw bad('vectors.centroids is not [file, bytes]');
  if (manifest.version >= TWO_LEVEL_VERSION) {
    // Each block's partitions are checked when the block is read; here, their count.
    fileList(vectors.blocks, 3, 'vectors.blocks');
    if (vectors.blocks.length === 0 || vectors.blocks.reduce((n, [, count]) => n + count, 0) !== vectors.partitionCount) throw bad('vectors.blocks do not hold vectors.partitionCount partitions');
  } else {
    fileList(vectors.partitions, 3, 'vectors.partitions');
    if (vectors.partitions.reduce((n, [, rows]) => n + rows, 0) !== counts.chunks) throw bad(`its partitions hold other than ${counts.chunks} rows`);
  }
  const paged = manifest.version >= PAGED_VERSION;
  if (paged) {
    fileList([manifest.fragmentPages], 3, 'fragmentPages');
    if ((manifest.fragmentPages[1] === 0) !== (counts.documents === 0)) throw bad('fragmentPages list no page for its documents');
  } else if (!isContentName(fragments?.[0]) || !Number.isSafeInteger(fragments[1])) throw bad('fragments is not [table file, bytes]');
  if (keywords !== null) {
    if (typeof keywords !== 'object') throw bad('keywords is neither null nor an object');
    if (!Number.isSafeInteger(keywords.shardCount) || keywords.shardCount < 1) throw bad('keywords.shardCount is not a positive integer');
    if (paged) {
      fileList([keywords.shardPages], 3, 'keywords.shardPages');
      if (keywords.shardPages[1] !== Math.ceil(keywords.shardCount / PAGE_ENTRIES.shards)) throw bad(`keywords.shardPages are not the pages of ${keywords.shardCount} shards`);
    } else if (!isContentName(keywords.shards?.[0]) || !Number.isSafeInteger(keywords.shards[1])) throw bad('keywords.shards is not [shard table file, bytes]');
    if (keywords.language !== null && typeof keywords.language !== 'string') throw bad('keywords.language is not a language or null');
    const title = keywords.title;
    if (title !== undefined && !(Number.isInteger(title?.chunk) && title.chunk >= 0 && title.chunk < 2 ** 24 && typeof title.weight === 'number' && title.weight >= 0 && title.weight <= 100)) {
      throw bad('keywords.title is not { chunk: a chunk number below 2^24, weight: 0 to 100 }');
    }
  }
  return manifest;
}

/** A file's bytes as JSON, or E_INDEX naming the file and what it should have been. */
function jsonOf(bytes, name, what) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new WebembedError('E_INDEX', `${name} is not ${what} (${error?.message ?? error})`);
  }
}

function header(bytes, name, magic, what) {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 12) throw new WebembedError('E_INDEX', `${name} is truncated: ${bytes?.byteLength ?? 0} bytes is not a ${what}`);
  // Aligned for the typed views below.
  const body = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (view.getUint32(0, true) !== magic) throw new WebembedError('E_INDEX', `${name} is not a ${what} (wrong magic: an error page or another file?)`);
  return { count: view.getUint32(4, true), dimension: view.getUint32(8, true), body };
}

function expectEqual(name, what, got, expected) {
  if (got !== expected) throw new WebembedError('E_INDEX', `${name}: ${what} ${got}, the manifest says ${expected} (truncated or from another build?)`);
}

function checkScales(scales, name) {
  const bad = scales.findIndex((x) => !(Number.isFinite(x) && x >= 0));
  if (bad >= 0) throw new WebembedError('E_INDEX', `${name}: scale ${bad} is not a finite non-negative number`);
}
