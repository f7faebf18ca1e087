// Distills a static model (model2vec's folder layout) from all-MiniLM-L6-v2 with webembed itself,
// for the demo's model picker: no model hub is reachable here, and a static model's table is
// just a vector per token, which the transformer it comes from can make. Each token of MiniLM's
// vocabulary is embedded alone (a WordPiece continuation without its ##; special and unused
// tokens get zeros), as model2vec's distillation embeds tokens; then each row is weighted as
// model2vec's SIF weighting does (a / (a + p), a = 1e-4, p from Zipf's law by rank), which BERT's
// vocabulary allows: past its single characters (id 1996, "the", on) it lists words by frequency.
// No PCA.
//
//   node tools/distill_static.mjs [models/all-MiniLM-L6-v2] [models/static-minilm-distilled]
//
// Then `node pkg/cli/main.mjs quantize <out>` writes its q8 file (scripts/demo.sh does both).

import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { Embedder } from '../pkg/index.js';

const [source = 'models/all-MiniLM-L6-v2', out = 'models/static-minilm-distilled'] = process.argv.slice(2);
const tokenizer = JSON.parse(await readFile(join(source, 'tokenizer.json'), 'utf8'));
const vocab = Object.entries(tokenizer.model.vocab).sort((a, b) => a[1] - b[1]);
const model = await Embedder.load(resolve(source), { cache: false, backend: 'cpu' });
/** The first id of BERT's frequency-ordered words. */
const FIRST_WORD = 1996;
const harmonic = Math.log(vocab.length) + 0.5772;
/** SIF weight of token `id`: frequent words (and single characters) count little. */
const weight = (id) => {
  const p = 1 / (Math.max(1, id - FIRST_WORD + 1) * harmonic);
  return 1e-4 / (1e-4 + p);
};
const dimension = model.dimension;
const table = new Float32Array(vocab.length * dimension);
const started = performance.now();
const wanted = vocab.filter(([token]) => !/^\[.*\]$/.test(token));
for (let start = 0; start < wanted.length; start += 512) {
  const slice = wanted.slice(start, start + 512);
  const vectors = await model.encode(slice.map(([token]) => (token.startsWith('##') ? token.slice(2) : token)), { batchSize: 128 });
  slice.forEach(([, id], i) => table.set(vectors[i].map((v) => v * weight(id)), id * dimension));
  process.stdout.write(`\rdistill: ${Math.min(start + 512, wanted.length)} / ${wanted.length} tokens`);
}
await model.dispose();
console.log(` in ${((performance.now() - started) / 1000).toFixed(0)} s`);

/** A one-tensor safetensors file: `embeddings`, F32. */
function safetensors(values, rows, cols) {
  let header = JSON.stringify({ __metadata__: { format: 'np' }, embeddings: { dtype: 'F32', shape: [rows, cols], data_offsets: [0, values.byteLength] } });
  header += ' '.repeat((8 - (header.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([head, Buffer.from(header), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

const partial = `${out}.partial`;
await rm(partial, { recursive: true, force: true });
await mkdir(partial, { recursive: true });
const config = { model_type: 'model2vec', architectures: ['StaticModel'], normalize: true, max_length: 512, hidden_dim: dimension, base_model: source, distilled_by: 'webembed tools/distill_static.mjs' };
await writeFile(join(partial, 'config.json'), JSON.stringify(config, null, 2));
await writeFile(join(partial, 'modules.json'), JSON.stringify([{ idx: 0, name: '0', path: '.', type: 'sentence_transformers.models.StaticEmbedding' }, { idx: 1, name: '1', path: '1_Normalize', type: 'sentence_transformers.models.Normalize' }], null, 2));
await writeFile(join(partial, 'model.safetensors'), safetensors(table, vocab.length, dimension));
await copyFile(join(source, 'tokenizer.json'), join(partial, 'tokenizer.json'));
// Whole or not at all: a killed run leaves only the .partial folder.
await rm(out, { recursive: true, force: true });
await rename(partial, out);
console.log(`distill: ${out}: ${vocab.length} × ${dimension}`);
