// Benchmark (prints figures; not a test): hybrid fusion methods and weights compared offline on
// the candidates run.mjs --dump saved (each query's semantic and keyword top 50, both scores of
// each), per corpus, on the development half (or --half held-out once the choice is made).
// Fast: no model, no index; the fusion webembed ships is one of the rows ('bound', its weights).
//
//   node bench/search-quality/run.mjs --dump && node bench/search-quality/fusion-study.mjs [--half dev]

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { half: { type: 'string', default: 'dev' }, detail: { type: 'string' } } });
const CACHE = 'build/search-quality';
const corpora = readdirSync(CACHE).filter((f) => /^dump-.*\.json$/.test(f)).sort().map((f) => [f.slice(5, -5), JSON.parse(readFileSync(`${CACHE}/${f}`, 'utf8'))]);
if (corpora.length === 0 || !existsSync(CACHE)) {
  console.log('no dumps: run node bench/search-quality/run.mjs --dump first');
  process.exit(0);
}

/** A query of one term (an identifier, a name): the keyword side weighs more there. */
const single = (q) => !/\s/.test(q.text.trim());

/** Each candidate of a query once: { id, cos, kw, sRank, kRank }. */
function candidates(q) {
  const byId = new Map();
  q.semantic.forEach(([id, cos, kw], rank) => byId.set(id, { id, cos, kw, sRank: rank, kRank: Infinity }));
  q.keyword.forEach(([id, cos, kw], rank) => {
    const seen = byId.get(id);
    if (seen) seen.kRank = rank;
    else byId.set(id, { id, cos, kw, sRank: Infinity, kRank: rank });
  });
  return [...byId.values()];
}

const METHODS = {
  semantic: () => (c) => c.cos,
  keyword: () => (c) => c.kw,
  'old (÷ best BM25)': (q, cs) => {
    const best = Math.max(0, ...cs.map((c) => c.kw));
    const w = single(q) ? 0.5 : 0.85;
    return (c) => w * c.cos + (1 - w) * (best > 0 ? c.kw / best : 0);
  },
  rrf: () => (c) => 1 / (61 + c.sRank) + 1 / (61 + c.kRank),
};
const norm = {
  bound: (q, c) => (q.bound > 0 ? Math.min(1, c.kw / q.bound) : 0),
  '√bound': (q, c) => (q.bound > 0 ? Math.sqrt(Math.min(1, c.kw / q.bound)) : 0),
};
for (const [name, f] of Object.entries(norm)) {
  for (const [multi, one] of [[0.7, 0.4], [0.75, 0.4], [0.8, 0.3], [0.8, 0.4], [0.8, 0.5], [0.85, 0.1], [0.85, 0.2], [0.85, 0.3], [0.85, 0.4], [0.85, 0.5], [0.85, 0.6], [0.9, 0.4], [0.9, 0.5], [0.9, 0.6]]) {
    METHODS[`${name} ${multi}/${one}`] = (q) => {
      const w = single(q) ? one : multi;
      return (c) => w * c.cos + (1 - w) * f(q, c);
    };
  }
}
for (const [multi, one] of [[0.8, 0.5], [0.6, 0.4]]) {
  METHODS[`weighted rrf ${multi}/${one}`] = (q) => {
    const w = single(q) ? one : multi;
    return (c) => w / (61 + c.sRank) + (1 - w) / (61 + c.kRank);
  };
}

function mrr(queries, method) {
  let sum = 0;
  for (const q of queries) {
    const cs = candidates(q);
    const score = METHODS[method](q, cs);
    const ranked = cs.map((c) => ({ ...c, s: score(c) })).sort((a, b) => b.s - a.s || a.sRank - b.sRank);
    const at = ranked.findIndex((c) => c.id === q.answer);
    sum += at >= 0 && at < 10 ? 1 / (at + 1) : 0;
  }
  return queries.length ? sum / queries.length : NaN;
}

const columns = [];
for (const [name, dump] of corpora) {
  const queries = dump.filter((q) => q.half === values.half);
  const kinds = [...new Set(queries.map((q) => q.kind))];
  for (const kind of kinds.length > 1 ? ['all', ...kinds] : kinds) columns.push({ label: `${name.replace(/-(html|readmes|collections)$/, '')}${kinds.length > 1 ? `/${kind.slice(0, 5)}` : ''}`, queries: kind === 'all' ? queries : queries.filter((q) => q.kind === kind) });
}
console.log(`MRR@10 on the ${values.half} half (${columns.map((c) => `${c.label}: ${c.queries.length}`).join(', ')})\n`);
console.log(`${'method'.padEnd(22)}${columns.map((c) => c.label.slice(0, 13).padStart(14)).join('')}   worst gain over semantic`);
for (const method of Object.keys(METHODS)) {
  const figures = columns.map((c) => mrr(c.queries, method));
  const gains = columns.map((c, i) => figures[i] - mrr(c.queries, 'semantic'));
  console.log(`${method.padEnd(22)}${figures.map((f) => f.toFixed(3).padStart(14)).join('')}   ${Math.min(...gains).toFixed(3)}`);
}
if (values.detail) {
  const [name, method] = values.detail.split(':');
  for (const q of corpora.find(([n]) => n === name)[1].filter((q) => q.half === values.half)) {
    const cs = candidates(q);
    const score = METHODS[method](q, cs);
    const ranked = cs.map((c) => ({ ...c, s: score(c) })).sort((a, b) => b.s - a.s);
    const at = ranked.findIndex((c) => c.id === q.answer);
    const sAt = q.semantic.findIndex(([id]) => id === q.answer);
    if (at !== sAt) console.log(`${q.kind} ${JSON.stringify(q.text)}: semantic ${sAt + 1}, ${method} ${at + 1}; top ${ranked[0].id} (cos ${ranked[0].cos.toFixed(3)} kw ${ranked[0].kw.toFixed(2)} / ${q.bound.toFixed(2)})`);
  }
}
