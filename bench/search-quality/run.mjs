// Benchmark (prints figures; not a test): search quality of every mode on every corpus of
// sets.mjs, the development and held-out halves apart. For each corpus it builds a browser index
// in memory (all-MiniLM-L6-v2 q8 by default; the index's default analyzer), searches each query
// in each mode, and prints MRR@10 per mode and query kind, then the issue's bars. The indexes are
// cached in build/search-quality/ (an export per corpus, model and language), so a second run
// only searches.
//
//   node bench/search-quality/run.mjs [--model models/all-MiniLM-L6-v2] [--dtype q8] [--only python-html,…]
//                                     [--half dev|held-out|both] [--dump]   (each query's candidates, for fusion-study.mjs)
//
// Needs pkg/ built and the model; corpora whose files are absent are named and skipped.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { Embedder } from '../../pkg/index.js';
import { BM25_DEFAULTS, defaultLanguage } from '../../pkg/search/options.js';
import { makeSets } from './sets.mjs';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/all-MiniLM-L6-v2' },
    dtype: { type: 'string', default: 'q8' },
    only: { type: 'string' },
    half: { type: 'string', default: 'both' },
    dump: { type: 'boolean', default: false },
    language: { type: 'string' },
    'title-weight': { type: 'string' },
  },
});
const CACHE = 'build/search-quality';
mkdirSync(CACHE, { recursive: true });
const MODES = {
  semantic: { mode: 'semantic' },
  keyword: { mode: 'keyword' },
  hybrid: { mode: 'hybrid' },
  rrf: { mode: 'hybrid', fusion: { method: 'rrf' } },
};

const { sets, missing } = makeSets({ only: values.only?.split(',') });
for (const line of missing) console.log(`skipped ${line}`);
const model = await Embedder.load(resolve(values.model), { dtype: values.dtype, threads: availableParallelism() });
const indexOptions = values.language === undefined ? {} : { language: values.language === 'none' ? null : values.language };
console.log(`${values.model} ${model.dtype}, Node, ${model.parallelism} ×${model.threads}; MRR@10 (known item in the first 10), dev / held-out halves`);

/** An index of `documents`, from the cache when this model and analyzer built it before. */
async function indexOf(name, documents) {
  const index = await cachedIndex(name, documents);
  if (values['title-weight'] !== undefined) index._setTitleWeightForBench(Number(values['title-weight']));
  return index;
}

async function cachedIndex(name, documents) {
  // The vectors depend on the model and the texts only: the keyword settings are the package's
  // defaults (or --language) whichever index the cache holds.
  const key = createHash('sha256').update(JSON.stringify([documents, basename(values.model), model.dtype])).digest('hex').slice(0, 16);
  const file = `${CACHE}/${name}-${key}.index`;
  const keywords = { language: indexOptions.language === undefined ? defaultLanguage(model) : indexOptions.language, ...BM25_DEFAULTS };
  if (existsSync(file)) return model.importIndex(withKeywords(readFileSync(file), keywords), { name: `${name}-${key}`, storage: 'memory' });
  const index = await model.openIndex(`${name}-${key}`, { storage: 'memory', ...keywords });
  const started = performance.now();
  for (let at = 0; at < documents.length; at += 128) await index.add(documents.slice(at, at + 128).map(({ id, text, title }) => ({ id, text, ...(title ? { title } : {}) })));
  if (documents.length > 100) console.log(`  ${name}: ${documents.length} documents, ${index.chunkCount} chunks embedded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  writeFileSync(file, Buffer.from(await index.export()));
  return index;
}

/** An index export (browser-index.js: magic, header length, JSON header, parts) with other keyword settings. */
function withKeywords(bytes, keywords) {
  const at = 'WEBEMBEDINDEX'.length;
  const align = (n) => (n + 3) & ~3;
  const length = bytes.readUInt32LE(at);
  const header = JSON.parse(bytes.subarray(at + 4, at + 4 + length).toString('utf8'));
  header.meta.keywords = { ...header.meta.keywords, ...keywords };
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(align(at + 4 + json.length) + bytes.length - align(at + 4 + length));
  bytes.copy(out, 0, 0, at);
  out.writeUInt32LE(json.length, at);
  json.copy(out, at + 4);
  bytes.copy(out, align(at + 4 + json.length), align(at + 4 + length));
  return out;
}

const rr = (hits, answer) => {
  const at = hits.findIndex((hit) => hit.id === answer);
  return at >= 0 && at < 10 ? 1 / (at + 1) : 0;
};
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Every query of `queries` in every mode: { [mode]: [{ kind, half, rr }] }, and the dump's entries. */
async function searchAll(index, queries) {
  const out = Object.fromEntries(Object.keys(MODES).map((mode) => [mode, []]));
  const dump = [];
  const ms = [];
  for (const q of queries) {
    for (const [mode, options] of Object.entries(MODES)) {
      const started = performance.now();
      const hits = await index.search(q.text, { k: 10, ...options });
      if (mode === 'hybrid') ms.push(performance.now() - started);
      out[mode].push({ kind: q.kind, half: q.half, rr: rr(hits, q.answer) });
    }
    if (values.dump) {
      const side = async (mode) => (await index.search(q.text, { k: 50, mode })).map((h) => [h.id, h.semanticScore ?? 0, h.keywordScore ?? 0]);
      dump.push({ ...q, bound: index._keywordBoundForBench(q.text), semantic: await side('semantic'), keyword: await side('keyword') });
    }
  }
  return { out, dump, ms };
}

const halves = values.half === 'both' ? ['dev', 'held-out'] : [values.half];
const summary = [];
for (const set of sets) {
  let results;
  let dump = [];
  let ms = [];
  if (set.collections) {
    results = Object.fromEntries(Object.keys(MODES).map((mode) => [mode, []]));
    for (const collection of set.collections) {
      const index = await indexOf(`small-${collection.name}`, collection.documents);
      const found = await searchAll(index, collection.queries);
      for (const mode of Object.keys(MODES)) results[mode].push(...found.out[mode]);
      dump.push(...found.dump.map((entry) => ({ ...entry, collection: collection.name })));
      ms.push(...found.ms);
      await index.close();
    }
  } else {
    const index = await indexOf(set.name, set.documents);
    ({ out: results, dump, ms } = await searchAll(index, set.queries));
    await index.close();
  }
  if (values.dump) writeFileSync(`${CACHE}/dump-${set.name}.json`, JSON.stringify(dump));
  const kinds = [...new Set(results.semantic.map((r) => r.kind))];
  console.log(`\n${set.name}: ${set.form}; ${set.documents?.length ?? set.collections.length * 15} documents, median hybrid search ${[...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)]?.toFixed(1)} ms`);
  for (const h of halves) {
    const count = results.semantic.filter((r) => r.half === h).length;
    console.log(`  ${h} (${count} queries)`);
    const row = {};
    for (const mode of Object.keys(MODES)) {
      const of = (kind) => mean(results[mode].filter((r) => r.half === h && (!kind || r.kind === kind)).map((r) => r.rr));
      row[mode] = { all: of(), ...Object.fromEntries(kinds.map((kind) => [kind, of(kind)])) };
      console.log(`    ${mode.padEnd(8)} ${row[mode].all.toFixed(3)}   ${kinds.map((kind) => `${kind} ${row[mode][kind].toFixed(3)}`).join('   ')}`);
    }
    summary.push({ set: set.name, half: h, row, kinds });
  }
}

console.log('\nbars (hybrid against semantic):');
for (const { set, half: h, row, kinds } of summary) {
  const gain = row.hybrid.all - row.semantic.all;
  const parts = [`hybrid − semantic ${gain >= 0 ? '+' : ''}${gain.toFixed(3)}`];
  if (kinds.includes('identifier')) parts.push(`identifiers ${row.hybrid.identifier.toFixed(3)} (≥ 0.80)`, `questions ${(row.hybrid.question - row.semantic.question).toFixed(3)} (≥ −0.02)`);
  if (set.startsWith('python')) parts[0] += ' (≥ +0.10)';
  if (set === 'small-collections') parts[0] += ' (≥ −0.01)';
  console.log(`  ${set.padEnd(18)} ${h.padEnd(8)} ${parts.join('; ')}`);
}
await model.dispose();
