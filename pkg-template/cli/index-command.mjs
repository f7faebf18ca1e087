// `webembed index`: builds a shipped index folder (shipped-format.js) that any static host serves
// and `model.loadIndex(url)` searches.
//
//   webembed index <inputs…> --model <folder | hub id> --out <folder>
//   webembed index --vectors <file.npy | file.parquet> --documents <file.jsonl> --model … --out …
//   webembed index --parquet <folder | glob of parts> --model … --out …
//   webembed index --from-export <file> --model … --out …
//
// Embedding uses every core (the worker pool). Each document's chunk vectors are kept in a build
// cache (--cache, default .webembed-cache) under the hash of the model, the chunking and the
// text as soon as they are made: a run cut short resumes where it stopped, and a second run
// embeds only documents added or changed. The manifest is written last, so an interrupted run
// never leaves a folder that names files it lacks.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { Embedder } from '../model/embedder.js';
import { newInstance, pickSimd } from '../engine/instance.js';
import { cores } from '../core/platform.js';
import { chunkJoiner, InputError, listInputs, parseJsonlLine, readDocuments } from './inputs.mjs';
import { eachLine, spillDocuments } from './document-files.mjs';
import { openNpyRows, readVectors } from './vector-files.mjs';
import { eachBlock, spillGroups, spillRows } from './row-files.mjs';
import { rowSource } from '../shipped/sources.js';
import { DEFAULT_COLUMNS, listParts, readParts } from './parquet-parts.mjs';
import { parseExport } from '../search/browser-index.js';
import { buildShippedIndex } from '../shipped/build.js';
import { startAssignPool } from './assign-pool.mjs';
import { MANIFEST_NAME, safeUrl } from '../shipped/format.js';
import { concat, dequantize } from '../search/rows.js';
import { DEFAULT_OVERLAP_TOKENS, defaultChunkTokens } from '../core/input.js';
import { BM25_DEFAULTS, defaultLanguage } from '../search/options.js';

const USAGE = `usage: webembed index <inputs…> --model <folder | hub id> --out <folder>
         inputs: folders, files or globs of .md, .rst (.rst.txt), .txt, .html and .jsonl ({ id, text, title?, metadata?, url? } per line);
                 HTML, Markdown and reStructuredText are cut at their headings, each section titled by its page, heading chain and path
       webembed index --vectors <file.npy | file.parquet> --documents <file.jsonl> --model … --out …
       webembed index --parquet <folder | glob of parts> --model … --out …
                 columns id and vector (a list of float or double), optional text, url, title, metadata (JSON or a struct);
                 other names with --id-column, --vector-column, --text-column, --url-column, --title-column, --metadata-column;
                 a document's chunks on consecutive rows
       webembed index --from-export <index export> --model … --out …
options: --dtype q8|f32 (default q8)  --threads N (default: every core)  --language <Snowball language>|auto|none (default: english, auto for a multilingual model)
         --chunk-tokens N (default: the model's window, at most 512)  --overlap-tokens N  --truncate-dim N (Matryoshka)
         --model-name <name> (the model's name in the manifest; default: a hub id as given, a local folder's name)
         --column <Parquet column>  --cache <folder> (default .webembed-cache)
         --levels auto|1|2 (the vectors' partitions in one level or under blocks; auto: two past ~50 000 chunks)  --help`;
/** The sentence every build embeds, so loadIndex can tell the querying model is the same. */
export const PROBE_TEXT = 'webembed probe: the quick brown fox jumps over the lazy dog.';
/** The default chunk length's cap, in tokens. */
/** Chunks embedded per step, between progress reports and cache writes. */
const STEP_CHUNKS = 64;

export async function indexCommand(argv) {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        model: { type: 'string' }, out: { type: 'string' }, vectors: { type: 'string' }, documents: { type: 'string' },
        'from-export': { type: 'string' }, dtype: { type: 'string', default: 'q8' }, threads: { type: 'string' },
        language: { type: 'string' }, 'chunk-tokens': { type: 'string' }, 'overlap-tokens': { type: 'string' },
        column: { type: 'string' }, cache: { type: 'string', default: '.webembed-cache' }, 'truncate-dim': { type: 'string' },
        'model-name': { type: 'string' }, help: { type: 'boolean', short: 'h' }, parquet: { type: 'string' }, levels: { type: 'string', default: 'auto' },
        ...Object.fromEntries(Object.keys(DEFAULT_COLUMNS).map((role) => [`${role}-column`, { type: 'string' }])),
      },
    });
  } catch (error) {
    return usage(error.message);
  }
  const { values, positionals } = args;
  if (values.help) return void console.log(USAGE);
  if (!values.model) return usage('--model is needed: the model that embeds the documents and, later, the queries');
  if (!values.out) return usage('--out is needed: the folder to write the index to');
  const sources = [positionals.length > 0, Boolean(values.vectors || values.documents), Boolean(values['from-export']), Boolean(values.parquet)].filter(Boolean).length;
  if (sources !== 1) return usage('give inputs, or --vectors with --documents, or --parquet, or --from-export (one of them)');
  if (Boolean(values.vectors) !== Boolean(values.documents)) return usage('--vectors and --documents go together');
  const out = resolve(values.out);
  const outInfo = await stat(out).catch(() => null);
  if (outInfo && !outInfo.isDirectory()) throw new InputError(`--out ${values.out} is a file, not a folder`);

  const started = performance.now();
  const threads = values.threads === undefined ? cores() : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) return usage(`--threads must be a positive integer; got ${values.threads}`);
  const truncateDim = values['truncate-dim'] === undefined ? undefined : Number(values['truncate-dim']);
  if (truncateDim !== undefined && !(Number.isInteger(truncateDim) && truncateDim >= 1)) return usage(`--truncate-dim must be a positive integer; got ${values['truncate-dim']}`);
  if (!['auto', '1', '2'].includes(values.levels)) return usage(`--levels must be auto, 1 or 2; got ${values.levels}`);
  const levels = values.levels === 'auto' ? 'auto' : Number(values.levels);
  const model = await Embedder.load(existsSync(values.model) ? resolve(values.model) : values.model, { dtype: values.dtype, threads, cache: false, truncateDim });
  try {
    const [probe] = await model.encode([PROBE_TEXT]);
    const prompts = model.prompts ?? {};
    const described = {
      // Published with the index: a portable name, never the builder's path on disk.
      name: values['model-name'] ?? (existsSync(values.model) ? basename(resolve(values.model)) : values.model),
      dimension: model.dimension,
      dtype: model.dtype,
      truncateDim: truncateDim ?? null,
      queryPrompt: prompts.query ?? '',
      documentPrompt: prompts.passage ?? prompts.document ?? '',
      probe: { text: PROBE_TEXT, vector: Array.from(probe, (x) => Number(x.toFixed(6))) },
    };
    const chunkTokens = values['chunk-tokens'] === undefined ? defaultChunkTokens(model.maxSeqLength) : Number(values['chunk-tokens']);
    const overlapTokens = values['overlap-tokens'] === undefined ? Math.min(DEFAULT_OVERLAP_TOKENS, Math.floor(chunkTokens / 2)) : Number(values['overlap-tokens']);
    const chunking = { chunkTokens, overlapTokens };
    let documents;
    let vectors;
    let closeVectors = null;
    if (values.vectors) ({ documents, vectors, close: closeVectors } = await fromVectors(values, model));
    else if (values.parquet) ({ documents, vectors, close: closeVectors } = await fromParts(values, model));
    else if (values['from-export']) ({ documents, vectors } = await fromExport(values['from-export'], model, described));
    else ({ documents, vectors } = await embedInputs(positionals, model, described, chunking, resolve(values.cache)));
    if (Array.isArray(documents)) documents.forEach(withSafeUrl);
    const allText = Array.isArray(documents) ? documents.every((doc) => typeof doc.text === 'string' && doc.text.length > 0) : documents.allText;
    const keywords = allText ? { language: values.language === undefined ? defaultLanguage(model) : values.language === 'none' ? null : values.language, ...BM25_DEFAULTS } : null;
    if (!keywords) console.log('no keyword side: some documents have no text (semantic search only)');
    if (Array.isArray(documents)) for (const doc of documents) doc.text ??= '';
    const glue = await newInstance(pickSimd('auto'), null);
    // Clustering and assignment on every core (--threads), as the embedding was.
    const pool = threads > 1 ? startAssignPool(threads) : null;
    // The clustering passes' results, kept until the build ends: a killed build resumes from them.
    const passes = await passCheckpoint(resolve(values.cache), vectors, { dimension: model.dimension, levels });
    let built;
    try {
      await mkdir(out, { recursive: true });
      built = await buildShippedIndex({
        documents, vectors, dimension: model.dimension, model: described, chunking, keywords, glue, log: (line) => console.log(line), progress: passReporter(), assigner: pool?.assign, levels,
        sink: (name, bytes) => writeContentFile(out, name, bytes), checkpoint: passes, keywordSpill: spillGroups(await spillPath(values, 'keywords')),
      });
    } finally {
      await pool?.close();
      await closeVectors?.();
    }
    const { manifest, files } = built;
    const bytes = await writeIndex(out, manifest, files);
    await passes.clear();
    console.log(`${out}: ${manifest.counts.documents} documents, ${manifest.counts.chunks} chunks, ${manifest.vectors.partitionCount ?? manifest.vectors.partitions.length} partitions${manifest.vectors.blocks ? ` in ${manifest.vectors.blocks.length} blocks` : ''}, ${manifest.keywords?.shardCount ?? 0} keyword shards, ${files.size + 1} files, ${(bytes / 1e6).toFixed(2)} MB, built in ${((performance.now() - started) / 1000).toFixed(1)} s, peak memory ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  } finally {
    await model.dispose();
  }
}

/** `doc`, its url dropped (with a warning naming the document) when a page could not link to it safely (javascript:, data:, …). */
function withSafeUrl(doc) {
  if (doc.url !== null && doc.url !== undefined && safeUrl(doc.url) === null) {
    console.warn(`webembed: document ${JSON.stringify(doc.id)}${doc.line ? ` (${typeof doc.line === 'number' ? `line ${doc.line}` : doc.line})` : ''}: its url ${JSON.stringify(String(doc.url).slice(0, 80))} is neither http(s) nor a path on the site: dropped`);
    doc.url = null;
  }
  return doc;
}

function usage(message) {
  console.error(`webembed: ${message}\n${USAGE}`);
  process.exitCode = 2;
}

/** Documents from input files, embedded (or taken from the build cache). */
async function embedInputs(inputs, model, described, chunking, cacheRoot) {
  const files = await listInputs(inputs);
  if (files.length === 0) throw new InputError(`no .md, .rst, .txt, .html or .jsonl files in ${inputs.join(', ')}`);
  const byId = new Map();
  for (const input of files) {
    for (const doc of await readDocuments(input)) {
      if (byId.has(doc.id)) throw new InputError(`document id ${JSON.stringify(doc.id)} appears twice (${input.file})`);
      byId.set(doc.id, doc);
    }
  }
  // A fixed order (by id) makes the same input give the same bytes.
  const documents = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const modelKey = createHash('sha256').update(JSON.stringify([described.probe.vector.map((x) => x.toFixed(4)), described.documentPrompt, chunking])).digest('hex').slice(0, 16);
  const cacheDir = join(cacheRoot, modelKey);
  await mkdir(cacheDir, { recursive: true });
  const keyOf = (doc) => createHash('sha256').update(doc.text).digest('hex');
  const pending = [];
  const vectorsOf = new Map();
  for (const doc of documents) {
    const cached = await readCached(join(cacheDir, `${keyOf(doc)}.bin`), model.dimension);
    if (cached) {
      doc.spans = cached.spans;
      vectorsOf.set(doc, cached.vectors);
    } else pending.push(doc);
  }
  console.log(`${documents.length} documents from ${files.length} files: ${documents.length - pending.length} from the build cache, ${pending.length} to embed (${model.threads} threads, ${model.dtype})`);
  const totalChunks = [];
  for (const doc of pending) {
    const spans = await model.chunks(doc.text, { prompt: described.documentPrompt, maxTokens: chunking.chunkTokens, overlapTokens: chunking.overlapTokens });
    doc.spans = spans.length > 0 ? spans.flatMap(({ start, end }) => [start, end]) : [0, doc.text.length];
    totalChunks.push(doc.spans.length / 2);
  }
  const progress = progressReporter(totalChunks.reduce((a, b) => a + b, 0));
  // Documents go in steps of about STEP_CHUNKS chunks; each step's vectors reach the cache at once.
  for (let start = 0; start < pending.length;) {
    let end = start;
    let chunks = 0;
    while (end < pending.length && (end === start || chunks + pending[end].spans.length / 2 <= STEP_CHUNKS)) chunks += pending[end++].spans.length / 2;
    const step = pending.slice(start, end);
    const texts = step.flatMap((doc) => chunkTexts(doc));
    const embedded = await model.encode(texts, { prompt: described.documentPrompt });
    let row = 0;
    for (const doc of step) {
      const count = doc.spans.length / 2;
      const flat = new Float32Array(count * model.dimension);
      for (let c = 0; c < count; c++) flat.set(embedded[row + c], c * model.dimension);
      row += count;
      vectorsOf.set(doc, flat);
      await writeCached(join(cacheDir, `${keyOf(doc)}.bin`), doc.spans, flat);
    }
    progress(texts.length);
    start = end;
  }
  progress.done();
  return { documents, vectors: concat(Float32Array, documents.map((doc) => vectorsOf.get(doc))) };
}

function chunkTexts(doc) {
  const texts = [];
  for (let i = 0; i < doc.spans.length; i += 2) texts.push(doc.text.slice(doc.spans[i], doc.spans[i + 1]));
  return texts;
}

/** Vectors from a .npy or Parquet file, one row per line of the documents JSONL (a document's chunks on consecutive lines). */
async function fromVectors(values, model) {
  // A float32 .npy is read where it lies, a block at a time; other files are read whole.
  const onDisk = await openNpyRows(values.vectors);
  const read = onDisk ?? await readVectors(values.vectors, { column: values.column });
  if (read.dimension !== model.dimension) {
    onDisk?.close();
    throw new InputError(`${values.vectors}: its vectors have ${read.dimension} dimensions; the model ${values.model} gives ${model.dimension}. Embed them with that model, or index with the model that made them`);
  }
  // The lines are read a block at a time and the documents kept in a spill file, not in memory.
  const spill = spillDocuments(await spillPath(values, 'documents.json'));
  const joiner = chunkJoiner('lines', { emit: (doc) => spill.add(withSafeUrl(doc)), placeOf: (number) => spill.get(number) });
  let lines = 0;
  try {
    await eachLine(values.documents, (line, number) => {
      joiner.add(parseJsonlLine(line, values.documents, number, { requireText: false }), `${values.documents}:${number}`);
      lines++;
    });
    joiner.finish();
    if (lines !== read.rows) throw new InputError(`${values.documents} has ${lines} lines and ${values.vectors} ${read.rows} vectors: one line per vector (a document's chunks on consecutive lines)`);
  } catch (error) {
    onDisk?.close();
    await spill.remove();
    if (error?.code === 'ENOENT' || error?.code === 'EISDIR' || error?.code === 'EACCES') throw new InputError(`${values.documents}: cannot read it (${error.code})`);
    throw error;
  }
  return {
    documents: spill.finish(),
    vectors: onDisk ? onDisk.source : read.values,
    close: async () => {
      onDisk?.close();
      await spill.remove();
    },
  };
}

/** A spill file's path in the build cache, named for the output folder (a second build of it starts it afresh). */
async function spillPath(values, name) {
  const folder = join(resolve(values.cache), 'spill');
  await mkdir(folder, { recursive: true });
  return join(folder, `${createHash('sha256').update(resolve(values.out)).digest('hex').slice(0, 16)}-${name}`);
}

/** Documents and vectors from Parquet parts (parquet-parts.mjs), the columns named by the --*-column flags. */
async function fromParts(values, model) {
  const columns = Object.fromEntries(Object.entries(DEFAULT_COLUMNS).map(([role, name]) => [role, values[`${role}-column`] ?? name]));
  const parts = await listParts(values.parquet);
  console.log(`${parts.length} Parquet parts in ${values.parquet}`);
  // Vectors and documents go to spill files as the parts are read: the build reads them back when it needs them.
  const spill = spillRows(await spillPath(values, 'vectors.f32'), model.dimension);
  const documents = spillDocuments(await spillPath(values, 'documents.json'));
  const remove = async () => {
    await spill.remove();
    await documents.remove();
  };
  try {
    const { rows } = await readParts(parts, { columns, dimension: model.dimension, spill, documents: { emit: (doc) => documents.add(withSafeUrl(doc)), placeOf: (number) => documents.get(number) } });
    console.log(`${rows} rows, ${documents.count} documents`);
    return { documents: documents.finish(), vectors: spill.finish(), close: remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** An `index.export()` file: its documents and vectors (the exact 16-bit ones when it has them). */
async function fromExport(file, model, described) {
  let bytes;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new InputError(`${file}: cannot read it (${error.code ?? error.message})`);
  }
  const { meta, segments, exact } = parseExport(bytes);
  if (meta.model.dimension !== model.dimension) throw new InputError(`${file} was made by a model of ${meta.model.dimension} dimensions; ${described.name} gives ${model.dimension}`);
  described.queryPrompt = meta.model.queryPrompt;
  described.documentPrompt = meta.model.documentPrompt;
  const dimension = model.dimension;
  const documents = [];
  const rows = [];
  let e = 0;
  for (const segment of segments) {
    let row = 0;
    segment.docs.forEach((doc, i) => {
      const count = segment.rowCounts[i];
      documents.push({ id: doc.id, text: doc.text, spans: Array.from(doc.spans), title: doc.title ?? null, metadata: doc.metadata, url: doc.metadata?.url ?? null });
      if (exact) {
        const record = exact[e++];
        // Exact vectors are 16-bit values with one scale per row.
        rows.push(dequantize({ codes: record.values, scales: record.scales }, dimension));
      } else if (meta.vectors === 'int8') {
        rows.push(dequantize({ codes: segment.values.subarray(row * dimension, (row + count) * dimension), scales: segment.scales.subarray(row, row + count) }, dimension));
      } else rows.push(segment.floats.slice(row * dimension, (row + count) * dimension));
      row += count;
    });
  }
  return { documents, vectors: concat(Float32Array, rows) };
}

/** A cached document: u32 span count, the spans (u32), then the vectors (f32). */
async function readCached(path, dimension) {
  let bytes;
  try {
    bytes = await readFile(path);
  } catch {
    return null;
  }
  if (bytes.length < 4) return null;
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  const spanCount = new Uint32Array(copy, 0, 1)[0];
  if (spanCount === 0 || spanCount % 2 !== 0 || bytes.length !== 4 + 4 * spanCount + (spanCount / 2) * dimension * 4) return null;
  return { spans: Array.from(new Uint32Array(copy, 4, spanCount)), vectors: new Float32Array(copy, 4 + 4 * spanCount) };
}

/** Written whole or not at all (a temporary file renamed): a kill never leaves a torn entry. */
async function writeCached(path, spans, vectors) {
  const bytes = Buffer.alloc(4 + 4 * spans.length + vectors.byteLength);
  bytes.writeUInt32LE(spans.length, 0);
  Buffer.from(Uint32Array.from(spans).buffer).copy(bytes, 4);
  Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength).copy(bytes, 4 + 4 * spans.length);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, path);
}

/**
 * A content-named file, written whole (a temporary file renamed) unless the folder has it: a
 * killed build leaves only whole files, which no manifest names until the build ends.
 */
async function writeContentFile(out, name, bytes) {
  const path = join(out, name);
  const existing = await stat(path).catch(() => null);
  if (existing?.size === bytes.byteLength) return;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

/**
 * The build's checkpoint (buildShippedIndex's `checkpoint`): files under the build cache, named
 * by a hash of the vectors, their dimension and `levels`, so only the same input resumes from
 * them. `clear()` removes them once the index is written.
 */
async function passCheckpoint(cacheRoot, vectors, { dimension, levels }) {
  const hash = createHash('sha256').update(JSON.stringify({ passes: 1, dimension, levels }));
  const source = rowSource(vectors, dimension);
  // Rows on disk come with the digest their one checking pass took; others are hashed a block at a time.
  if (source.digest) hash.update(source.digest);
  else await eachBlock(source, (values) => hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)));
  const folder = join(cacheRoot, 'build-passes', hash.digest('hex').slice(0, 24));
  return {
    async get(name) {
      return readFile(join(folder, `${name}.bin`)).catch(() => null);
    },
    async put(name, bytes) {
      await mkdir(folder, { recursive: true });
      const path = join(folder, `${name}.bin`);
      await writeFile(`${path}.${process.pid}.tmp`, bytes);
      await rename(`${path}.${process.pid}.tmp`, path);
    },
    async clear() {
      await rm(folder, { recursive: true, force: true });
    },
  };
}


/** Writes the files the folder lacks (a build's sink wrote the rest), then the manifest, then removes files no manifest names. */
async function writeIndex(out, manifest, files) {
  await mkdir(out, { recursive: true });
  let total = 0;
  for (const [name, bytes] of files) {
    if (typeof bytes === 'number') {
      total += bytes;
      continue;
    }
    total += bytes.byteLength;
    await writeContentFile(out, name, bytes);
  }
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest)}\n`);
  await writeFile(join(out, `${MANIFEST_NAME}.tmp`), manifestBytes);
  await rename(join(out, `${MANIFEST_NAME}.tmp`), join(out, MANIFEST_NAME));
  for (const folder of ['c', 'p', 'k', 'd']) {
    const names = await readdir(join(out, folder)).catch(() => []);
    for (const name of names) if (!files.has(`${folder}/${name}`)) await rm(join(out, folder, name), { force: true });
  }
  return total + manifestBytes.byteLength;
}

/**
 * The build's progress: on a terminal a bar naming the pass (n of the build's passes) with its
 * ETA, elsewhere a line at each quarter of a pass that takes over a second.
 */
function passReporter() {
  const tty = process.stderr.isTTY;
  let current = null;
  return ({ pass, number, passes, done, total }) => {
    if (pass !== current?.pass) {
      if (tty && current) process.stderr.write('\n');
      current = { pass, started: performance.now(), quarter: 0 };
    }
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const elapsed = (performance.now() - current.started) / 1000;
    const eta = share > 0 && share < 1 ? formatSeconds((elapsed * (1 - share)) / share) : share >= 1 ? 'done' : '…';
    const label = `pass ${number}/${passes} ${pass}`;
    if (tty) {
      const width = 30;
      const filled = Math.round(width * share);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}, ETA ${eta}   `);
    } else if (elapsed > 1 && Math.floor(share * 4) > current.quarter) {
      current.quarter = Math.floor(share * 4);
      console.log(`${label}: ${done}/${total} (${Math.round(share * 100)}%), ${share >= 1 ? `took ${formatSeconds(elapsed)}` : `ETA ${eta}`}`);
    }
  };
}

function formatSeconds(seconds) {
  return seconds < 60 ? `${Math.round(seconds)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** A bar on a terminal, a line every 10% otherwise. */
function progressReporter(total) {
  let done = 0;
  let lastTenth = 0;
  const started = performance.now();
  const tty = process.stderr.isTTY;
  const report = (count) => {
    done += count;
    const rate = done / ((performance.now() - started) / 1000);
    if (tty) {
      const width = 30;
      const filled = Math.round((width * done) / Math.max(total, 1));
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} chunks, ${rate.toFixed(1)}/s `);
    } else if (Math.floor((10 * done) / Math.max(total, 1)) > lastTenth) {
      lastTenth = Math.floor((10 * done) / Math.max(total, 1));
      console.log(`embedded ${done}/${total} chunks (${rate.toFixed(1)}/s)`);
    }
  };
  report.done = () => {
    if (tty && total > 0) process.stderr.write('\n');
  };
  return report;
}
