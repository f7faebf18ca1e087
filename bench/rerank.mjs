// Benchmark (prints figures; not a test): reranking 50 passages of ~128 tokens with a cross-encoder
// of MiniLM-L6's geometry (cross-encoder/ms-marco-MiniLM-L6-v2's: 6 layers, 384 wide), beside
// embedding the same 50 passages with all-MiniLM-L6-v2, in Node on one thread, f32 and q8.
// No reranker can be downloaded here, so the bench builds one: all-MiniLM-L6-v2's encoder and
// pooler with a random one-label classifier (the cost of a forward pass does not depend on the
// weights' values). Each pair is the query and a passage, so a pair is ~10 tokens longer than
// the passage alone.
//
//   node bench/rerank.mjs [--rounds 3]
//
// Needs pkg/ built and models/all-MiniLM-L6-v2 (scripts/setup.sh); ../shared/bench/corpus.json
// for the passages (without it, a repeated paragraph of about the same length).

import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Embedder, Reranker } from '../pkg/index.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const MINILM = fileURLToPath(new URL('../models/all-MiniLM-L6-v2/', import.meta.url));
const CORPUS = new URL('../../shared/bench/corpus.json', import.meta.url);
let passages;
if (existsSync(CORPUS)) {
  passages = JSON.parse(readFileSync(CORPUS, 'utf8')).slice(0, 50);
} else {
  console.log('../shared/bench/corpus.json is absent: using a repeated paragraph of ~128 tokens');
  const paragraph = 'WebAssembly runs near-native code inside the browser sandbox, and semantic search finds documents by meaning rather than by keywords. ';
  passages = Array.from({ length: 50 }, (_, i) => `${i}: ${paragraph.repeat(4)}`);
}
const query = 'how do I search documents by meaning in the browser';

/** A one-label BertForSequenceClassification folder from MiniLM's files plus a random classifier. */
async function minilmShapedReranker() {
  const dir = await mkdtemp(join(tmpdir(), 'webembed-bench-reranker-'));
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json']) await cp(join(MINILM, file), join(dir, file));
  const config = JSON.parse(await readFile(join(MINILM, 'config.json'), 'utf8'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['BertForSequenceClassification'], id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } }));
  const bytes = await readFile(join(MINILM, 'model.safetensors'));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const data = bytes.subarray(8 + headerLength);
  const extra = new Float32Array(385).map((_, i) => (i < 384 ? Math.sin(i * 12.9898) * 0.05 : 0.1));
  header['classifier.weight'] = { dtype: 'F32', shape: [1, 384], data_offsets: [data.length, data.length + 384 * 4] };
  header['classifier.bias'] = { dtype: 'F32', shape: [1], data_offsets: [data.length + 384 * 4, data.length + 385 * 4] };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  await writeFile(join(dir, 'model.safetensors'), Buffer.concat([length, json, data, Buffer.from(extra.buffer)]));
  return dir;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(run) {
  await run(); // warm-up
  const ms = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    const start = performance.now();
    await run();
    ms.push(performance.now() - start);
  }
  return median(ms);
}

const folder = await minilmShapedReranker();
try {
  const embedder0 = await Embedder.load(MINILM, { cache: false });
  const tokens = await Promise.all(passages.map((p) => embedder0.tokenize(p)));
  await embedder0.dispose();
  console.log(`50 passages, ${Math.round(tokens.reduce((s, t) => s + t.length, 0) / 50)} tokens each on average (embedder's tokenizer); ${values.rounds} rounds, median`);
  for (const dtype of ['f32', 'q8']) {
    const embedder = await Embedder.load(MINILM, { cache: false, dtype, backend: 'cpu' });
    const reranker = await Reranker.load(folder, { cache: false, dtype, backend: 'cpu' });
    const embedMs = await time(() => embedder.encode(passages));
    const rerankMs = await time(() => reranker.rank(query, passages));
    console.log(`${dtype}: embed 50 passages ${embedMs.toFixed(0)} ms; rerank the same 50 against a query ${rerankMs.toFixed(0)} ms (${(rerankMs / embedMs).toFixed(2)}× embedding)`);
    await Promise.all([embedder.dispose(), reranker.dispose()]);
  }
} finally {
  await rm(folder, { recursive: true, force: true });
}
