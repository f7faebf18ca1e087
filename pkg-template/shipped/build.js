// Builds a shipped index (see shipped-format.js) from documents and their chunk vectors, however
// those were made: the CLI embeds texts, or reads vectors computed elsewhere. Deterministic: the
// same input gives the same bytes (a seeded k-means, documents in a fixed order).

import {
  contentName, encodeBlock, encodeCentroids, encodeDirectory, encodeFragment, encodeFragmentTable, encodePage, encodePartition, encodeShard, encodeShardTable,
  dequantize, FORMAT_NAME, FORMAT_VERSION, PAGE_ENTRIES, PAGED_VERSION, quantizeRows, shardOf,
} from './format.js';
import { documentSource, rowSource } from './sources.js';
import { concat } from '../search/rows.js';
import { streamedKeywordShards } from './keyword-passes.js';

/** Chunk vectors per partition the coarse quantizer aims at: ~80 KB of int8 codes at 384 dimensions. */
const ROWS_PER_PARTITION = 50;
/** Bytes the centroids may take, so that opening an index stays under ~0.5 MB. */
const CENTROID_BYTES = 400 * 1024;
/** Text bytes per document fragment: a hit costs at most this much to show. */
const FRAGMENT_BYTES = 16 * 1024;
/**
 * Two levels: smaller fragments, so that a query's hits (spread over the ~5 partitions it reads)
 * cost ~30 KB of text rather than ~55 KB, within 250 KB a query at 1 000 000 vectors.
 */
const TWO_LEVEL_FRAGMENT_BYTES = 8 * 1024;
/** Posting bytes per keyword shard. */
const SHARD_BYTES = 16 * 1024;
const KMEANS_ITERATIONS = 10;
/**
 * Two levels: rows per partition, and partitions per block (the top level as many centroids as
 * CENTROID_BYTES allows, at most one per this many partitions). Past what one level holds,
 * partitions stay this small however large the corpus, and a query reads a few blocks (~4 KB
 * each) and the partitions they point to. Chosen by simulating clustered vectors (2 000 topics,
 * the bench's generator) in numpy: 100 rows, blocks of ~5–10 and 8 blocks a query kept recall@10
 * at 1.00 within 250 KB at 200 000 and 1 000 000 vectors, where 200 rows and blocks of 12 gave
 * 0.83 at 200 000 (the top level too coarse).
 */
const FINE_ROWS = 100;
const PARTITIONS_PER_BLOCK = 5;
/** Sample rows per centroid that k-means trains on (the rest are only assigned). */
const SAMPLE_PER_LIST = 64;
/** Top cells whose sub-partitions make one checkpoint: ~66 at a million rows, ~1 MB each. */
const CHECKPOINT_CELLS = 16;

/**
 * `documents`: `[{ id, text, spans (flat [start, end, …], one pair per chunk), metadata, url, title? }]`
 * or a document source (sources.js, e.g. documents in a file);
 * `vectors`: every chunk's vector, documents in order, `dimension` floats each (a Float32Array, or
 * a row source: shipped/sources.js, e.g. rows on disk); `model`: what
 * the manifest records of the model ({ name, dimension, dtype, queryPrompt, documentPrompt,
 * probe }); `keywords`: { language, k1, b } or null; `glue`: an engine instance (its analyzer
 * makes the keyword postings); `progress({ pass, passes, done, total })` hears each pass's advance
 * (k-means, assigning, partitions, fragments, keywords); `assigner` (optional) assigns rows to
 * centroids on other threads, `(vectors, rows, dimension, centroids, lists, advance)` → Promise of
 * Uint32Array, giving what `assignRows` gives; `levels`: 1, 2, or 'auto' (two when one level's
 * centroids would pass CENTROID_BYTES, past ~50 000 chunks). `sink(path, bytes)` (optional)
 * takes each file as it is made, so the build does not hold them; `checkpoint` (optional,
 * `{ get(name) → bytes | null, put(name, bytes) }`, keyed by the caller to these vectors and
 * `levels`) keeps the clustering passes' results, so a build killed during them resumes where
 * it stopped and writes the same bytes; `keywordSpill` (optional, keyword-passes.js's spill
 * streams) holds a two-level build's postings between its keyword passes (else memory). Returns `{ manifest, files: Map(path → bytes, or their
 * length when a sink took them) }`.
 */
export async function buildShippedIndex({ documents, vectors, dimension, model, chunking, keywords, glue, log = () => {}, progress = () => {}, assigner = null, levels = 'auto', sink = null, checkpoint = null, keywordSpill = null }) {
  const assign = assigner ?? (async (...args) => assignRows(glue, ...args));
  const docs = documentSource(documents);
  const rowCounts = docs.rowCounts;
  const rows = rowCounts.reduce((a, b) => a + b, 0);
  const source = rowSource(vectors, dimension);
  if (source.rows !== rows) throw new Error(`${source.rows} vectors for ${rows} chunks`);
  const files = new Map();
  const put = async (folder, bytes, extension) => {
    const name = await contentName(folder, bytes, extension);
    if (sink) {
      await sink(name, bytes);
      files.set(name, bytes.byteLength);
    } else files.set(name, bytes);
    return name;
  };
  const remember = passMemory(checkpoint, log);

  const maxLists = Math.floor(CENTROID_BYTES / (dimension + 4));
  const twoLevels = levels === 2 || (levels === 'auto' && Math.round(rows / ROWS_PER_PARTITION) > maxLists);
  const passNames = ['k-means', 'assigning', ...(twoLevels ? ['sub-partitions'] : []), 'partitions', 'fragments', ...(keywords ? ['keywords'] : [])];
  const step = (pass, total) => (done) => progress({ pass, number: passNames.indexOf(pass) + 1, passes: passNames.length, done, total });
  let lists;
  let centroids;
  let dequantized;
  let assignment;
  let tree = null;
  if (twoLevels) {
    tree = await twoLevelPartitions(assign, source, dimension, maxLists, step, log, remember);
    ({ lists, dequantized, assignment } = tree);
    centroids = tree.top;
  } else {
    lists = Math.max(1, Math.min(Math.round(rows / ROWS_PER_PARTITION), maxLists));
    log(`clustering ${rows} vectors into ${lists} partitions`);
    centroids = quantizeRows(await remember.floats('centroids', lists * dimension, () => kmeans(assign, source, lists, step('k-means', KMEANS_ITERATIONS))), dimension);
    dequantized = dequantize(centroids, dimension);
    assignment = await remember.rows('assignment', rows, lists, () => assignAll(assign, source, dequantized, lists, step('assigning', rows)));
  }

  // Documents ordered by their first chunk's partition: a query's hits then share fragments.
  const firstRow = new Uint32Array(docs.count);
  rowCounts.reduce((row, count, d) => ((firstRow[d] = row), row + count), 0);
  const order = Uint32Array.from({ length: docs.count }, (_, d) => d).sort((a, b) => assignment[firstRow[a]] - assignment[firstRow[b]] || a - b);
  const numberOf = new Uint32Array(docs.count);
  order.forEach((d, number) => (numberOf[d] = number));

  // Each partition's rows, documents in index order.
  const rowsInOrder = new Uint32Array(rows);
  let next = 0;
  for (const d of order) for (let c = 0; c < rowCounts[d]; c++) rowsInOrder[next++] = firstRow[d] + c;
  const { starts, members: memberRows } = groupRows(assignment, lists, rowsInOrder);
  const documentOf = new Uint32Array(rows);
  rowCounts.forEach((count, d) => documentOf.fill(d, firstRow[d], firstRow[d] + count));
  const partitions = [];
  const partitionStep = step('partitions', lists);
  for (let list = 0; list < lists; list++) {
    if (list % 64 === 0) partitionStep(list);
    const entries = memberRows.subarray(starts[list], starts[list + 1]);
    const residuals = source.gather(entries);
    for (let i = 0; i < entries.length; i++) for (let k = 0; k < dimension; k++) residuals[i * dimension + k] -= dequantized[list * dimension + k];
    const { codes, scales } = quantizeRows(residuals, dimension);
    const bytes = encodePartition({ list, documents: entries.map((row) => numberOf[documentOf[row]]), chunks: entries.map((row) => row - firstRow[documentOf[row]]), scales, codes }, dimension);
    partitions.push([await put('p', bytes, 'bin'), entries.length, bytes.byteLength]);
  }
  partitionStep(lists);

  const fragmentTable = [];
  const sizes = order.map((d) => docs.size(d));
  const fragmentStep = step('fragments', order.length);
  for (let start = 0; start < order.length;) {
    fragmentStep(start);
    let end = start;
    let size = 0;
    while (end < order.length && (end === start || size + sizes[end] <= (tree ? TWO_LEVEL_FRAGMENT_BYTES : FRAGMENT_BYTES))) size += sizes[end++];
    const held = Array.from(order.subarray(start, end), (d) => {
      const { id, text, spans, metadata, url, title } = docs.get(d);
      return { id, text, spans: Array.from(spans), metadata: metadata ?? null, url: url ?? null, ...(title ? { title } : {}) };
    });
    const bytes = encodeFragment(start, held);
    fragmentTable.push([await put('d', bytes, 'json'), start, end - start, bytes.byteLength]);
    start = end;
  }
  fragmentStep(order.length);
  // Two levels (large corpora): the tables in pages, each fetched when a hit or term needs it.
  const paged = Boolean(tree);
  // Each table's pages, then their directory: `[directory, pages, bytes]` for the manifest.
  const pages = async (kind, entries, firstOf) => {
    const folder = kind === 'fragments' ? 'd' : 'k';
    const list = [];
    for (let at = 0, page = 0; at < entries.length; at += PAGE_ENTRIES[kind], page++) {
      const bytes = encodePage(kind, page, entries.slice(at, at + PAGE_ENTRIES[kind]));
      list.push([await put(folder, bytes, 'bin'), firstOf(entries[at], at), bytes.byteLength]);
    }
    const directory = encodeDirectory(kind, list);
    return [await put(folder, directory, 'bin'), list.length, directory.byteLength];
  };

  let keywordSide = null;
  if (keywords) {
    log('indexing keywords');
    // Two levels (large corpora): in passes over spilled postings, not in one engine store.
    const shards = paged
      ? await streamedShards(glue, docs, order, keywords, step('keywords', order.length), keywordSpill)
      : await keywordShards(glue, docs, order, keywords, step('keywords', order.length));
    const table = [];
    for (const bytes of shards) table.push([await put('k', bytes, 'bin'), bytes.byteLength]);
    const tableBytes = paged ? null : encodeShardTable(table);
    const titled = docs.titled;
    keywordSide = {
      ...keywords,
      shardCount: table.length,
      ...(paged ? { shardPages: await pages('shards', table, (entry, at) => at) } : { shards: [await put('k', tableBytes, 'json'), tableBytes.byteLength] }),
      ...(titled ? { title: { chunk: glue.SearchStore.titleChunk(), weight: glue.SearchStore.titleWeight() } } : {}),
    };
  }

  const centroidBytes = encodeCentroids(centroids, dimension);
  const top = [await put('c', centroidBytes, 'bin'), centroidBytes.byteLength];
  let vectorSide = { centroids: top, partitions };
  if (tree) {
    const blocks = [];
    for (const [block, { first, quantized }] of tree.blocks.entries()) {
      const bytes = encodeBlock({ block, first, ...quantized, partitions: partitions.slice(first, first + quantized.scales.length) }, dimension);
      blocks.push([await put('c', bytes, 'bin'), quantized.scales.length, bytes.byteLength]);
    }
    vectorSide = { centroids: top, blocks, partitionCount: lists };
  }
  let fragmentSide;
  if (paged) fragmentSide = { fragmentPages: await pages('fragments', fragmentTable, ([, first]) => first) };
  else {
    const table = encodeFragmentTable(fragmentTable);
    fragmentSide = { fragments: [await put('d', table, 'json'), table.byteLength] };
  }
  const manifest = {
    format: FORMAT_NAME,
    version: paged ? PAGED_VERSION : FORMAT_VERSION,
    model,
    chunking,
    counts: { documents: docs.count, chunks: rows },
    vectors: vectorSide,
    keywords: keywordSide,
    ...fragmentSide,
  };
  return { manifest, files };
}

/**
 * Two-level partitions: a top level of about one centroid per PARTITIONS_PER_BLOCK partitions
 * (at most `maxTop`, the one-level budget), k-means over the whole sample; then each top cell's
 * rows split by their own k-means into partitions of about FINE_ROWS. Returns the top centroids
 * (quantized), each block's `{ first, quantized }`, every partition's centroid (dequantized, in
 * global order) and each row's global partition.
 */
async function twoLevelPartitions(assign, source, dimension, maxTop, step, log, remember) {
  const rows = source.rows;
  const wanted = Math.max(1, Math.round(rows / FINE_ROWS));
  const topCount = Math.max(1, Math.min(maxTop, Math.round(wanted / PARTITIONS_PER_BLOCK)));
  log(`clustering ${rows} vectors into ${topCount} blocks of about ${Math.round(wanted / topCount)} partitions each`);
  const top = quantizeRows(await remember.floats('top', topCount * dimension, () => kmeans(assign, source, topCount, step('k-means', KMEANS_ITERATIONS))), dimension);
  const topDequantized = dequantize(top, dimension);
  const cellOf = await remember.rows('cells', rows, topCount, () => assignAll(assign, source, topDequantized, topCount, step('assigning', rows)));
  // Each cell's rows in row order.
  const { starts, members: byCell } = groupRows(cellOf, topCount, null);

  const assignment = new Uint32Array(rows);
  const blocks = [];
  const centroidParts = [];
  let first = 0;
  const advance = step('sub-partitions', topCount);
  // Cells in batches of CHECKPOINT_CELLS, each batch's k-means and assignments kept as one checkpoint.
  for (let batch = 0; batch * CHECKPOINT_CELLS < topCount; batch++) {
    const cells = [];
    for (let t = batch * CHECKPOINT_CELLS; t < Math.min(topCount, (batch + 1) * CHECKPOINT_CELLS); t++) cells.push(t);
    const sizes = cells.map((t) => starts[t + 1] - starts[t]);
    const done = await remember.cells(`cells-${batch}`, sizes, dimension, async () => {
      const out = [];
      for (const t of cells) {
        if (t % 16 === 0) advance(t);
        const members = byCell.subarray(starts[t], starts[t + 1]);
        const n = members.length;
        const cell = source.gather(members);
        // An empty cell keeps one empty partition at its own centroid, so block numbers stay the top's.
        const fine = n === 0 ? topDequantized.slice(t * dimension, (t + 1) * dimension) : await kmeans(assign, rowSource(cell, dimension), Math.min(n, Math.max(1, Math.round(n / FINE_ROWS))), () => {});
        const local = n === 0 ? new Uint32Array(0) : await assign(cell, n, dimension, dequantize(quantizeRows(fine, dimension), dimension), fine.length / dimension);
        out.push({ fine, local });
      }
      return out;
    });
    done.forEach(({ fine, local }, i) => {
      const quantized = quantizeRows(fine, dimension);
      const members = byCell.subarray(starts[cells[i]], starts[cells[i] + 1]);
      members.forEach((r, j) => (assignment[r] = first + local[j]));
      blocks.push({ first, quantized });
      centroidParts.push(dequantize(quantized, dimension));
      first += quantized.scales.length;
    });
  }
  advance(topCount);
  const dequantized = new Float32Array(first * dimension);
  let at = 0;
  for (const part of centroidParts) {
    dequantized.set(part, at);
    at += part.length;
  }
  log(`${first} partitions in ${topCount} blocks`);
  return { top, blocks, lists: first, dequantized, assignment };
}

/**
 * The clustering passes' results through `checkpoint` (see buildShippedIndex): each is computed,
 * or read back when a checkpoint of the expected size holds it (anything else is computed
 * again). `floats(name, length, compute)`: a Float32Array; `rows(name, rows, below, compute)`: a
 * Uint32Array of values under `below`; `cells(name, sizes, dimension, compute)`: per cell of
 * `sizes[i]` rows, `{ fine (centroids, row-major), local (each row's centroid) }`.
 */
function passMemory(checkpoint, log) {
  const bytesOf = (array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  // A pass's result read back (`decode`: bytes → value, or null when they are not one), else computed and kept.
  const remembered = async (name, decode, encode, compute) => {
    const kept = await checkpoint?.get(name);
    const value = kept ? decode(kept.byteOffset % 4 === 0 ? kept : kept.slice()) : null;
    if (value) {
      log(`${name}: resumed from the checkpoint`);
      return value;
    }
    const computed = await compute();
    if (checkpoint) await checkpoint.put(name, encode(computed));
    return computed;
  };
  return {
    floats: (name, length, compute) => remembered(name, (b) => (b.byteLength === 4 * length ? new Float32Array(b.buffer, b.byteOffset, length).slice() : null), bytesOf, compute),
    rows: (name, rows, below, compute) => remembered(name, (b) => {
      const values = b.byteLength === 4 * rows ? new Uint32Array(b.buffer, b.byteOffset, rows).slice() : null;
      return values && values.every((v) => v < below) ? values : null;
    }, bytesOf, compute),
    // Layout: per cell, its centroid count (u32), centroids (f32), then its rows' centroids (u32).
    cells: (name, sizes, dimension, compute) => remembered(name, (b) => {
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const out = [];
      let at = 0;
      for (const n of sizes) {
        if (at + 4 > b.byteLength) return null;
        const count = view.getUint32(at, true);
        const end = at + 4 + 4 * count * dimension + 4 * n;
        if (count < 1 || count > Math.max(1, n) || end > b.byteLength) return null;
        const fine = new Float32Array(b.buffer.slice(b.byteOffset + at + 4, b.byteOffset + at + 4 + 4 * count * dimension));
        const local = new Uint32Array(b.buffer.slice(b.byteOffset + end - 4 * n, b.byteOffset + end));
        if (local.some((v) => v >= count)) return null;
        out.push({ fine, local });
        at = end;
      }
      return at === b.byteLength ? out : null;
    }, (value) => concat(Uint8Array, value.flatMap(({ fine, local }) => [bytesOf(Uint32Array.of(fine.length / dimension)), bytesOf(fine), bytesOf(local)])), compute),
  };
}

/**
 * Rows grouped by `groupOf[row]` (a counting sort: no object per row at 10^7 rows): each group's
 * rows at `members[starts[g]..starts[g + 1]]`, in the order of `rowsInOrder` (null: row order).
 */
function groupRows(groupOf, groups, rowsInOrder) {
  const starts = new Uint32Array(groups + 1);
  for (let r = 0; r < groupOf.length; r++) starts[groupOf[r] + 1]++;
  for (let g = 0; g < groups; g++) starts[g + 1] += starts[g];
  const members = new Uint32Array(groupOf.length);
  const fill = starts.slice(0, groups);
  for (let i = 0; i < groupOf.length; i++) {
    const r = rowsInOrder ? rowsInOrder[i] : i;
    members[fill[groupOf[r]]++] = r;
  }
  return { starts, members };
}


/** keyword-passes.js's shards, documents in index order. */
async function streamedShards(glue, docs, order, { language, k1, b }, advance, spill) {
  const store = new glue.SearchStore(1, 'f32', language ?? undefined, k1, b);
  try {
    return await streamedKeywordShards({ store, documentCount: order.length, documentAt: (number) => docs.get(order[number]), spill: spill ?? undefined, advance });
  } finally {
    store.free();
  }
}

/** The keyword postings with their BM25 impacts, sharded by term hash: one encoded shard per entry. */
async function keywordShards(glue, docs, order, { language, k1, b }, advance) {
  // A one-dimension store: only its keyword side is wanted.
  const store = new glue.SearchStore(1, 'f32', language ?? undefined, k1, b);
  try {
    order.forEach((d, number) => {
      const { text, spans, title } = docs.get(d);
      const chunks = [];
      for (let i = 0; i < spans.length; i += 2) chunks.push(text.slice(spans[i], spans[i + 1]));
      const slot = store.add(new Float32Array(chunks.length), chunks, title || undefined);
      if (slot !== number) throw new Error(`the keyword store gave document ${number} slot ${slot}`);
      if (number % 4096 === 0) advance(number);
    });
    advance(order.length);
    const terms = store.keywordTerms();
    const flat = store.keywordImpacts();
    const postings = flat.length / 4;
    const count = Math.max(1, Math.ceil((postings * 12) / SHARD_BYTES));
    const byShard = Array.from({ length: count }, () => []);
    let at = 0;
    terms.forEach((term, number) => {
      let end = at;
      while (end < postings && flat[4 * end] === number) end++;
      const entry = { term, documents: new Uint32Array(end - at), chunks: new Uint32Array(end - at), impacts: new Float32Array(end - at) };
      for (let p = at; p < end; p++) {
        entry.documents[p - at] = flat[4 * p + 1];
        entry.chunks[p - at] = flat[4 * p + 2];
        entry.impacts[p - at] = flat[4 * p + 3];
      }
      byShard[shardOf(term, count)].push(entry);
      at = end;
    });
    return byShard.map((entries) => encodeShard(entries));
  } finally {
    store.free();
  }
}

/**
 * Each row's partition: the centroid of the largest inner product (ties: the lower one). The
 * engine's f32 scan does it, ten times faster than a JavaScript loop.
 */
export function assignRows(glue, vectors, rows, dimension, centroids, lists, advance = () => {}) {
  const store = new glue.SearchStore(dimension, 'f32', undefined, 1.2, 0.75);
  try {
    store.reserve(lists);
    for (let c = 0; c < lists; c++) store.add(centroids.subarray(c * dimension, (c + 1) * dimension), ['']);
    const out = new Uint32Array(rows);
    for (let r = 0; r < rows; r++) {
      if (r % 4096 === 0) advance(r);
      out[r] = store.search(vectors.subarray(r * dimension, (r + 1) * dimension), 1, undefined)[0];
    }
    advance(rows);
    return out;
  } finally {
    store.free();
  }
}

/** Rows per assignment call: the source's rows are read a block at a time (~100 MB at 384 dimensions). */
const ASSIGN_ROWS = 65_536;

/** Every row of `source`'s nearest of `lists` centroids, a block of rows at a time. */
async function assignAll(assign, source, centroids, lists, advance) {
  const out = new Uint32Array(source.rows);
  for (let start = 0; start < source.rows; start += ASSIGN_ROWS) {
    const count = Math.min(ASSIGN_ROWS, source.rows - start);
    out.set(await assign(source.block(start, count), count, source.dimension, centroids, lists, (done) => advance(start + done)), start);
  }
  advance(source.rows);
  return out;
}

/** Spherical k-means on a seeded sample: `lists` unit centroids, row-major. */
async function kmeans(assign, source, lists, advance) {
  const { rows, dimension } = source;
  const random = mulberry32(0x5eed);
  const sampleSize = Math.min(rows, lists * SAMPLE_PER_LIST);
  // A partial Fisher–Yates shuffle picks the sample.
  const picks = Uint32Array.from({ length: rows }, (_, i) => i);
  for (let i = 0; i < sampleSize; i++) {
    const j = i + Math.floor(random() * (rows - i));
    [picks[i], picks[j]] = [picks[j], picks[i]];
  }
  const sample = source.gather(picks.subarray(0, sampleSize));
  const centroids = new Float32Array(lists * dimension);
  for (let c = 0; c < lists; c++) centroids.set(sample.subarray(c * dimension, (c + 1) * dimension), c * dimension);
  normalizeRows(centroids, dimension);
  for (let iteration = 0; iteration < KMEANS_ITERATIONS && lists > 1; iteration++) {
    advance(iteration);
    const owner = await assign(sample, sampleSize, dimension, centroids, lists);
    const sums = new Float64Array(lists * dimension);
    const sizes = new Uint32Array(lists);
    for (let i = 0; i < sampleSize; i++) {
      sizes[owner[i]]++;
      for (let d = 0; d < dimension; d++) sums[owner[i] * dimension + d] += sample[i * dimension + d];
    }
    let reseed = 0;
    for (let c = 0; c < lists; c++) {
      // An empty partition takes a sample row (a fixed walk through the sample).
      if (sizes[c] === 0) centroids.set(sample.subarray(((reseed = (reseed + 7919) % sampleSize)) * dimension, (reseed + 1) * dimension), c * dimension);
      else for (let d = 0; d < dimension; d++) centroids[c * dimension + d] = sums[c * dimension + d];
    }
    normalizeRows(centroids, dimension);
  }
  advance(KMEANS_ITERATIONS);
  return centroids;
}

function normalizeRows(values, dimension) {
  for (let at = 0; at < values.length; at += dimension) {
    let squares = 0;
    for (let d = at; d < at + dimension; d++) squares += values[d] * values[d];
    const norm = Math.sqrt(squares);
    if (norm > 0) for (let d = at; d < at + dimension; d++) values[d] /= norm;
  }
}

function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
