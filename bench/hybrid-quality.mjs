// Benchmark (prints figures; not a test): search quality by mode on a known-item set over the
// Python documentation (tools/make_docs_set.py: ~2 600 sections of 110 pages, the FAQ's
// questions and definitions' full names as queries). One index (all-MiniLM-L6-v2 q8 by default,
// memory storage, in Node), every query searched in each mode; prints MRR@10 overall, on the
// questions and on the identifiers, and how long building and searching took.
//
//   node bench/hybrid-quality.mjs [--model models/all-MiniLM-L6-v2] [--dtype q8] [--set build/docs-set.json]
//                                 [--dump rankings.json]   (each query's semantic and keyword top 50, to study fusion)
//
// Needs pkg/ built, the model, and Debian's python3.11-doc (the set is made from it when missing).

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { Embedder } from '../pkg/index.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/all-MiniLM-L6-v2' },
    dtype: { type: 'string', default: 'q8' },
    set: { type: 'string', default: 'build/docs-set.json' },
    dump: { type: 'string' },
  },
});
if (!existsSync(values.set)) {
  if (!existsSync('/usr/share/doc/python3.11/html/faq')) {
    console.log('bench/hybrid-quality.mjs: /usr/share/doc/python3.11/html is absent (apt-get install python3.11-doc); nothing measured');
    process.exit(0);
  }
  execFileSync('python3', ['tools/make_docs_set.py', values.set], { stdio: 'inherit' });
}
const set = JSON.parse(readFileSync(values.set, 'utf8'));
// 'hybrid' is the default fusion; 'rrf' the same search with reciprocal rank fusion asked for.
const MODES = ['semantic', 'keyword', 'hybrid', 'rrf'];
const OPTIONS = { semantic: { mode: 'semantic' }, keyword: { mode: 'keyword' }, hybrid: { mode: 'hybrid' }, rrf: { mode: 'hybrid', fusion: { method: 'rrf' } } };

const model = await Embedder.load(resolve(values.model), { dtype: values.dtype });
const index = await model.openIndex('docs-quality', { storage: 'memory' });
let start = performance.now();
const ids = Object.keys(set.corpus);
for (let at = 0; at < ids.length; at += 256) {
  await index.add(ids.slice(at, at + 256).map((id) => ({ id, text: set.corpus[id] })));
}
const buildSeconds = (performance.now() - start) / 1000;

/** Reciprocal rank of the known item within the first 10 (0 when not there). */
const reciprocalRank = (hits, answer) => {
  const at = hits.findIndex((hit) => hit.id === answer);
  return at >= 0 && at < 10 ? 1 / (at + 1) : 0;
};
const totals = Object.fromEntries(MODES.map((mode) => [mode, { question: [], identifier: [], ms: [] }]));
const dump = {};
for (const [qid, query] of Object.entries(set.queries)) {
  if (values.dump) {
    const side = async (mode) => (await index.search(query, { k: 50, mode })).map((hit) => [hit.id, hit.score]);
    dump[qid] = { query, kind: set.kinds[qid], answer: set.relevant[qid][0], semantic: await side('semantic'), keyword: await side('keyword') };
  }
  for (const mode of MODES) {
    start = performance.now();
    const hits = await index.search(query, { k: 10, ...OPTIONS[mode] });
    totals[mode].ms.push(performance.now() - start);
    totals[mode][set.kinds[qid]].push(reciprocalRank(hits, set.relevant[qid][0]));
  }
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`known-item search over ${set.source}: ${set.pages} pages, ${ids.length} sections (${index.chunkCount} chunks), ` +
  `${totals.hybrid.question.length} questions, ${totals.hybrid.identifier.length} identifiers; ${values.model} ${model.dtype}, Node, ` +
  `${model.parallelism} ×${model.threads}; index built in ${buildSeconds.toFixed(1)} s`);
for (const mode of MODES) {
  const t = totals[mode];
  console.log(`${mode.padEnd(8)} MRR@10 ${mean([...t.question, ...t.identifier]).toFixed(3)}  questions ${mean(t.question).toFixed(3)}  ` +
    `identifiers ${mean(t.identifier).toFixed(3)}  median search ${median(t.ms).toFixed(1)} ms`);
}
const [s, k, h] = MODES.slice(0, 3).map((mode) => mean([...totals[mode].question, ...totals[mode].identifier]));
console.log(`hybrid − semantic ${(h - s).toFixed(3)} (bar ≥ 0.10); hybrid − keyword ${(h - k).toFixed(3)} (bar ≥ 0); ` +
  `identifiers ${mean(totals.hybrid.identifier).toFixed(3)} (bar ≥ 0.80); questions hybrid − semantic ` +
  `${(mean(totals.hybrid.question) - mean(totals.semantic.question)).toFixed(3)} (bar ≥ −0.02)`);
if (values.dump) writeFileSync(values.dump, JSON.stringify(dump));
await index.close();
await model.dispose();
