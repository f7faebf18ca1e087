// Benchmark (prints figures; not a test): a shipped index at scale. Clustered synthetic unit
// vectors (384 dimensions; `--centers` topic centres, each vector its centre plus Gaussian noise,
// intra-topic cosine ~0.75) written as .npy + JSONL, built by the CLI (`webembed index --vectors
// --documents`, timed), served by a plain static server that ignores Range requests, and searched
// by vector in headless Chromium with all-MiniLM-L6-v2 q8 loaded (the model the index records).
// Prints: build time and folder size, bytes fetched to open the index, recall@10 against an exact
// f32 search, bytes fetched per query (median after the first, and the first), median search
// time, and the index's memory (the files it holds, and the page's JS heap growth).
//
//   node bench/shipped.mjs [--rows 200000] [--queries 100] [--centers 2000] [--noise 0.6] [--levels auto|1|2] [--reuse]
//
// Needs pkg/ built and models/all-MiniLM-L6-v2 (scripts/setup.sh). Writes build/shipped-bench/.

import { execFileSync } from 'node:child_process';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS } from '../tests/e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' }, queries: { type: 'string', default: '100' },
    centers: { type: 'string', default: '2000' }, noise: { type: 'string', default: '0.6' }, levels: { type: 'string', default: 'auto' }, reuse: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
const queries = Number(values.queries);
const centers = Number(values.centers);
const noise = Number(values.noise);
const dimension = 384;
const folder = resolve(`build/shipped-bench/${rows}-${centers}-${noise}`);
mkdirSync(folder, { recursive: true });

// A seeded Gaussian source (xorshift + Box–Muller).
function gaussian(seed) {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** The generator's rows `count` at a time: `next(count)` gives the next rows (a Float32Array). */
function vectorStream(seed) {
  const next = gaussian(seed);
  const centreNext = gaussian(7);
  const centreValues = Float32Array.from({ length: centers * dimension }, centreNext);
  const pickNext = gaussian(seed + 1);
  return (count) => {
    const out = new Float32Array(count * dimension);
    for (let i = 0; i < count; i++) {
      const centre = Math.floor(Math.abs(pickNext() * 1e6)) % centers;
      let norm = 0;
      for (let d = 0; d < dimension; d++) {
        const v = centreValues[centre * dimension + d] + noise * next();
        out[i * dimension + d] = v;
        norm += v * v;
      }
      norm = Math.sqrt(norm);
      for (let d = 0; d < dimension; d++) out[i * dimension + d] /= norm;
    }
    return out;
  };
}

function npyHeader(count) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${count}, ${dimension}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1')]);
}

const vectorsPath = join(folder, 'vectors.npy');
const documentsPath = join(folder, 'documents.jsonl');
const asked = vectorStream(99)(queries);
// The rows a block at a time (generated and written, or read back), never all in memory (10 000 000
// rows are 15 GB); each block updates every query's exact f32 top 10.
const BLOCK = 100_000;
const best = Array.from({ length: queries }, () => ({ rows: new Int32Array(10).fill(-1), scores: new Float32Array(10).fill(-Infinity) }));
const written = existsSync(vectorsPath) && existsSync(documentsPath);
const generate = vectorStream(11);
const topics = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const vectorsFd = openSync(vectorsPath, written ? 'r' : 'w');
const documentsFd = written ? null : openSync(documentsPath, 'w');
const headerBytes = npyHeader(rows);
if (!written) writeSync(vectorsFd, headerBytes);
for (let start = 0; start < rows; start += BLOCK) {
  const count = Math.min(BLOCK, rows - start);
  let block;
  if (written) {
    block = new Float32Array(count * dimension);
    readSync(vectorsFd, new Uint8Array(block.buffer), 0, block.byteLength, headerBytes.length + start * dimension * 4);
  } else {
    block = generate(count);
    writeSync(vectorsFd, new Uint8Array(block.buffer));
    writeSync(documentsFd, Array.from({ length: count }, (_, j) => JSON.stringify({ id: `v${start + j}`, text: `document ${start + j} about ${topics[(start + j) % 8]} and ${topics[((start + j) * 7) % 8]}`, url: `/docs/${start + j}` })).join('\n') + '\n');
  }
  for (let q = 0; q < queries; q++) {
    const top = best[q];
    for (let r = 0; r < count; r++) {
      let dot = 0;
      for (let d = 0; d < dimension; d++) dot += asked[q * dimension + d] * block[r * dimension + d];
      if (dot <= top.scores[9]) continue;
      let at = 9;
      while (at > 0 && top.scores[at - 1] < dot) {
        top.scores[at] = top.scores[at - 1];
        top.rows[at] = top.rows[at - 1];
        at--;
      }
      top.scores[at] = dot;
      top.rows[at] = start + r;
    }
  }
  if (start % 1_000_000 === 0) console.log(`bench: ${written ? 'read' : 'generated'} ${start + count} of ${rows} rows, exact top 10 updated`);
}
closeSync(vectorsFd);
if (documentsFd !== null) closeSync(documentsFd);
const exact = best.map(({ rows: found }) => Array.from(found));

const out = join(folder, `index-levels-${values.levels}`);
const buildStart = performance.now();
// --reuse: search the index an earlier run built (reader changes need no rebuild).
if (!(values.reuse && existsSync(join(out, 'webembed-index.json')))) execFileSync('node', ['pkg/cli/main.mjs', 'index', '--vectors', vectorsPath, '--documents', documentsPath, '--model', 'models/all-MiniLM-L6-v2', '--out', out, '--cache', join(folder, 'cache'), '--levels', values.levels], { stdio: 'inherit' });
const buildSeconds = (performance.now() - buildStart) / 1000;
const folderBytes = execFileSync('du', ['-sb', out]).toString().split('\t')[0];

// A plain static server: whole files, status 200, no Range, no compression.
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html' };
const root = resolve('.');
const server = createServer((request, response) => {
  const path = join(root, decodeURIComponent(new URL(request.url, 'http://x').pathname));
  if (!path.startsWith(root) || !existsSync(path) || !statSync(path).isFile()) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'content-length': statSync(path).size });
  createReadStream(path).pipe(response);
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, '--enable-precise-memory-info', '--js-flags=--expose-gc'] });
const page = await browser.newPage();
page.setDefaultTimeout(0);
await page.goto(`${base}/tests/e2e/blank.html`);
const result = await page.evaluate(async ({ indexUrl, asked, dimension }) => {
  const { Embedder } = await import('/pkg/index.js');
  const model = await Embedder.load('/models/all-MiniLM-L6-v2/', { backend: 'cpu', threads: 1, dtype: 'q8', cache: false });
  globalThis.gc?.();
  const heapBefore = performance.memory?.usedJSHeapSize ?? 0;
  const openStart = performance.now();
  const index = await model.loadIndex(indexUrl, { cache: false });
  const openMs = performance.now() - openStart;
  const openBytes = index.fetched.bytes;
  const perQuery = [];
  for (let q = 0; q < asked.length / dimension; q++) {
    const before = index.fetched.bytes;
    const start = performance.now();
    const hits = await index.search(Float32Array.from(asked.slice(q * dimension, (q + 1) * dimension)), { k: 10 });
    perQuery.push({ ms: performance.now() - start, bytes: index.fetched.bytes - before, ids: hits.map((h) => Number(h.id.slice(1))) });
  }
  globalThis.gc?.();
  return { openMs, openBytes, perQuery, memoryBytes: index.memoryBytes, heapGrowth: (performance.memory?.usedJSHeapSize ?? 0) - heapBefore };
}, { indexUrl: `${base}${out.slice(root.length)}/`, asked: Array.from(asked), dimension });
await browser.close();
server.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const recall = result.perQuery.reduce((sum, { ids }, q) => sum + ids.filter((id) => exact[q].includes(id)).length / 10, 0) / queries;
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;
console.log(`shipped index, ${rows} vectors × ${dimension} (${centers} centres, noise ${noise}), Chromium, ${queries} queries by vector, k = 10`);
console.log(`  build (CLI, --vectors .npy): ${buildSeconds.toFixed(1)} s; folder ${(Number(folderBytes) / 1e6).toFixed(1)} MB`);
console.log(`  open: ${kb(result.openBytes)} fetched (bar <= 512 KB), ${result.openMs.toFixed(0)} ms`);
console.log(`  recall@10 vs exact f32: ${recall.toFixed(4)} (bar >= 0.95)`);
console.log(`  bytes per query: first ${kb(result.perQuery[0].bytes)}, median after the first ${kb(median(result.perQuery.slice(1).map((p) => p.bytes)))} (bar <= 300 KB)`);
console.log(`  search: median ${median(result.perQuery.map((p) => p.ms)).toFixed(1)} ms (bar <= 100 ms)`);
console.log(`  memory: files held ${(result.memoryBytes / 1e6).toFixed(1)} MB, JS heap growth ${(result.heapGrowth / 1e6).toFixed(1)} MB (bar <= 64 MB)`);
