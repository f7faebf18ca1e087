// Benchmark (prints figures; not a test): the Python docs as a shipped index. The known-item set's
// pages (tools/make_docs_set.py: 110 pages of Debian's python3.11-doc, or every page with --all)
// go through `webembed index` from their HTML with all-MiniLM-L6-v2 q8 and 2 threads (timed;
// folder size), and the same documents (the CLI's own HTML reader) into an in-memory browser
// index. Every known-item query (FAQ questions, definitions' full names) is searched in both
// (hybrid, the default): MRR@10 of each, and the bytes a query fetches from the shipped folder,
// cold (a fresh loadIndex per query: what one visitor's first search costs) and warm (one index,
// queries in a row: what each further search costs).
//
//   node bench/shipped-docs.mjs [--all] [--set build/docs-set.json] [--threads 2] [--warm]
//   (--warm keeps the CLI's build cache from the last run: the build then embeds nothing)
//
// Needs pkg/ built, models/all-MiniLM-L6-v2 and python3.11-doc. Writes build/python-docs/.

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { Embedder } from '../pkg/index.js';
import { listInputs, readDocuments } from '../pkg/cli/inputs.mjs';

const DOCS = '/usr/share/doc/python3.11/html';
const { values } = parseArgs({ options: { all: { type: 'boolean', default: false }, set: { type: 'string', default: 'build/docs-set.json' }, threads: { type: 'string', default: '2' }, warm: { type: 'boolean', default: false } } });
if (!existsSync(`${DOCS}/faq`)) {
  console.log(`bench/shipped-docs.mjs: ${DOCS} is absent (apt-get install python3.11-doc); nothing measured`);
  process.exit(0);
}
if (!existsSync(values.set)) execFileSync('python3', ['tools/make_docs_set.py', values.set], { stdio: 'inherit' });
const set = JSON.parse(readFileSync(values.set, 'utf8'));
// The set's pages: those its sections come from.
const setPages = [...new Set(Object.keys(set.corpus).map((id) => id.split('#')[0]))].sort();
const root = resolve('build/python-docs');
const pages = join(root, values.all ? 'all-pages' : 'pages');
if (!existsSync(pages)) {
  if (values.all) cpSync(DOCS, pages, { recursive: true, filter: (path) => !/\/(_static|_images|_sources|_downloads)(\/|$)/.test(path) });
  else for (const page of setPages) mkdirSync(dirname(join(pages, page)), { recursive: true }), cpSync(join(DOCS, page), join(pages, page));
}
const out = join(root, values.all ? 'index-all' : 'index');
rmSync(out, { recursive: true, force: true });
if (!values.warm) rmSync(join(root, 'cache'), { recursive: true, force: true });
const started = performance.now();
execFileSync('node', ['pkg/cli/main.mjs', 'index', pages, '--model', 'models/all-MiniLM-L6-v2', '--out', out, '--threads', values.threads, '--cache', join(root, 'cache')], { stdio: 'inherit' });
const buildSeconds = (performance.now() - started) / 1000;
const folderBytes = Number(execFileSync('du', ['-sb', out]).toString().split('\t')[0]);

const model = await Embedder.load(resolve('models/all-MiniLM-L6-v2'), { dtype: 'q8', threads: Number(values.threads) });
const docs = [];
for (const input of await listInputs([pages])) docs.push(...(await readDocuments(input)));
const ids = new Set(docs.map((doc) => doc.id));
// The set's answers are sections of the same pages; those the reader cut differently are left out.
const queries = Object.entries(set.queries).filter(([q]) => set.relevant[q].some((id) => ids.has(id)));
console.log(`${docs.length} documents; ${queries.length} of ${Object.keys(set.queries).length} known-item queries have their answer among them`);
// The in-memory index is kept as an export between runs (embedding it again takes minutes).
const memoryStart = performance.now();
const exported = join(root, values.all ? 'memory-all.export' : 'memory.export');
let memory = existsSync(exported) ? await model.importIndex(readFileSync(exported), { name: 'docs-memory', storage: 'memory' }) : null;
if (memory && (memory.size !== docs.length || docs.some((doc) => memory.get(doc.id)?.text !== doc.text))) memory = null;
if (!memory) {
  memory = await model.openIndex('docs-memory-fresh', { storage: 'memory' });
  await memory.add(docs.map(({ id, text, metadata }) => ({ id, text, metadata })));
  writeFileSync(exported, new Uint8Array(await memory.export()));
}
const memorySeconds = (performance.now() - memoryStart) / 1000;

const reciprocal = (hits, relevant) => {
  const rank = hits.findIndex((hit) => relevant.includes(hit.id));
  return rank >= 0 && rank < 10 ? 1 / (rank + 1) : 0;
};
const shipped = await model.loadIndex(out);
const openBytes = shipped.fetched.bytes;
const scores = { shipped: [], memory: [] };
const kinds = [];
const warmBytes = [];
for (const [q, text] of queries) {
  const before = shipped.fetched.bytes;
  scores.shipped.push(reciprocal(await shipped.search(text, { k: 10 }), set.relevant[q]));
  warmBytes.push(shipped.fetched.bytes - before);
  scores.memory.push(reciprocal(await memory.search(text, { k: 10 }), set.relevant[q]));
  kinds.push(set.kinds[q]);
}
const coldBytes = [];
for (const [, text] of queries.filter((_, i) => i % 10 === 0)) {
  const fresh = await model.loadIndex(out);
  const before = fresh.fetched.bytes;
  await fresh.search(text, { k: 10 });
  coldBytes.push(fresh.fetched.bytes - before);
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const byKind = (list, kind) => mean(list.filter((_, i) => kinds[i] === kind));
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;
console.log(`Python docs (${values.all ? 'every page' : `${setPages.length} pages of the known-item set`}), all-MiniLM-L6-v2 q8, hybrid search, Node`);
console.log(`  build: ${buildSeconds.toFixed(0)} s with ${values.threads} threads${values.warm ? ' (warm build cache)' : ''} (in-memory index of the same documents: ${memorySeconds.toFixed(0)} s, or its import from the last run); folder ${(folderBytes / 1e6).toFixed(1)} MB`);
console.log(`  open: ${kb(openBytes)}; bytes per query: cold (a fresh index) median ${kb(median(coldBytes))}, warm (queries in a row) median ${kb(median(warmBytes))}`);
for (const [name, list] of Object.entries(scores)) {
  console.log(`  MRR@10 ${name}: ${mean(list).toFixed(3)} (questions ${byKind(list, 'question').toFixed(3)}, identifiers ${byKind(list, 'identifier').toFixed(3)})`);
}
console.log(`  shipped − in-memory: ${(mean(scores.shipped) - mean(scores.memory)).toFixed(3)} (bar: within 0.02)`);
await model.dispose();
