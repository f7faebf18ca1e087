// Benchmark (prints figures; not a test): every family at its hub model's size, in one headless
// Chromium page, on the CPU with one thread, f32 and q8, on the standard corpus: texts/s and
// milliseconds per GFLOP (the linear layers' and attention's multiply-adds, counted from each
// model's config and each text's tokens) beside all-MiniLM-L6-v2's, whose ratio is the cost of a
// family's kernels per unit of work. Static models: passages/s against MiniLM q8. Then
// EmbeddingGemma-300m's shape loaded in q8: load time, wasm memory after a 512-token text.
//
//   node bench/families.mjs [--passages 64] [--large-passages 16] [--static-rounds 40] [--only families,static,gemma]
//
// The models are random weights at the real configs (tools/make_bench_models.py writes them to
// build/bench-models/ on first run: ~2 GB). Needs ../shared/bench/corpus.json and pkg/ built.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { openBrowser } from '../tests/e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    passages: { type: 'string', default: '64' },
    'large-passages': { type: 'string', default: '16' },
    'static-rounds': { type: 'string', default: '40' },
    only: { type: 'string', default: 'families,static,gemma' },
  },
});
const parts = new Set(values.only.split(','));
if (!existsSync(new URL('../../shared/bench/corpus.json', import.meta.url))) {
  console.error('bench: ../shared/bench/corpus.json is absent; this benchmark needs ../shared beside the repository');
  process.exit(1);
}
const ROOT = new URL('../', import.meta.url).pathname;
const python = `${process.env.HOME}/.cache/webembed/tools-venv/bin/python`;
execFileSync(python, ['tools/make_bench_models.py', 'build/bench-models'], { cwd: ROOT, stdio: 'inherit' });

// [name, folder, passages] — the large decoders run on fewer passages (minutes each on one thread).
const passages = Number(values.passages);
const large = Number(values['large-passages']);
const MODELS = [
  ['all-MiniLM-L6-v2 (BERT)', '/models/all-MiniLM-L6-v2/', passages],
  ['granite-small-r2 shape (ModernBERT)', '/build/bench-models/granite-small-r2-shape/', passages],
  ['EmbeddingGemma-300m shape (Gemma3)', '/build/bench-models/embeddinggemma-300m-shape/', large],
  ['Qwen3-Embedding-0.6B shape (Qwen3)', '/build/bench-models/qwen3-embedding-0.6b-shape/', large],
];

const harness = await openBrowser();
harness.page.setDefaultTimeout(0);
const configs = {};
for (const [, folder] of MODELS) configs[folder] = JSON.parse(execFileSync('cat', [`${ROOT}${folder.slice(1)}config.json`], { encoding: 'utf8' }));

/** Multiply-adds ×2 of one text of `n` tokens through `config`'s layers (FLOPs). */
function flops(config, n) {
  const h = config.hidden_size;
  const heads = config.num_attention_heads;
  const kv = config.num_key_value_heads ?? heads;
  const hd = config.head_dim ?? h / heads;
  const ff = config.intermediate_size;
  const gated = config.model_type !== 'bert';
  const linear = h * (heads + 2 * kv) * hd + heads * hd * h + (gated ? 3 : 2) * h * ff;
  const attention = 2 * n * heads * hd; // q·k and p·v per token
  return 2 * config.num_hidden_layers * n * (linear + attention);
}

const rows = [];
for (const [name, folder, count] of parts.has('families') ? MODELS : []) {
  for (const dtype of ['f32', 'q8']) {
    const result = await harness.page.evaluate(
      async ({ folder, dtype, count }) => {
        const corpus = (await (await fetch('/shared/bench/corpus.json')).json()).slice(0, count);
        const { Embedder } = await import('/pkg/index.js');
        const model = await Embedder.load(folder, { backend: 'cpu', dtype, threads: 1, cache: false });
        const tokens = [];
        for (const text of corpus) tokens.push((await model.tokenize(text)).length);
        await model.encode(corpus.slice(0, 2), { batchSize: 2 });
        const start = performance.now();
        await model.encode(corpus, { batchSize: 32 });
        const ms = performance.now() - start;
        await model.dispose();
        return { ms, tokens };
      },
      { folder, dtype, count },
    );
    const gflop = result.tokens.reduce((sum, n) => sum + flops(configs[folder], n), 0) / 1e9;
    rows.push({ name, dtype, texts: count, textsPerSecond: count / (result.ms / 1000), msPerGflop: result.ms / gflop, meanTokens: result.tokens.reduce((a, b) => a + b, 0) / count });
  }
}
if (rows.length) console.log('\nFamilies, Chromium, CPU, 1 thread, relaxed SIMD (random weights at the hub models\' configs; ../shared/bench/corpus.json):');
for (const row of rows) {
  const bert = rows.find((r) => r.name.includes('MiniLM') && r.dtype === row.dtype);
  console.log(`  ${row.name.padEnd(38)} ${row.dtype}  ${row.textsPerSecond.toFixed(2).padStart(8)} texts/s  ${row.msPerGflop.toFixed(1).padStart(6)} ms/GFLOP  ${(row.msPerGflop / bert.msPerGflop).toFixed(2)}× BERT's cost per FLOP  (${row.texts} passages, ${row.meanTokens.toFixed(0)} tokens each)`);
}

const statics = !parts.has('static') ? null : await harness.page.evaluate(
  async ({ rounds, count }) => {
    const corpus = (await (await fetch('/shared/bench/corpus.json')).json()).slice(0, count);
    const { Embedder } = await import('/pkg/index.js');
    const out = {};
    for (const [name, folder, dtype] of [['potion-base-8M shape (model2vec)', '/build/bench-models/potion-base-8m-shape/', 'f32'], ['all-MiniLM-L6-v2 q8', '/models/all-MiniLM-L6-v2/', 'q8']]) {
      const model = await Embedder.load(folder, { backend: 'cpu', dtype, threads: 1, cache: false });
      const times = name.includes('MiniLM') ? 1 : rounds;
      await model.encode(corpus.slice(0, 8));
      const start = performance.now();
      for (let r = 0; r < times; r++) await model.encode(corpus, { batchSize: 256 });
      out[name] = (times * corpus.length) / ((performance.now() - start) / 1000);
      await model.dispose();
    }
    return out;
  },
  { rounds: Number(values['static-rounds']), count: 256 },
);
const [staticName, minilm] = Object.keys(statics ?? {});
if (statics) console.log(`\nStatic: ${staticName} ${statics[staticName].toFixed(0)} passages/s; ${minilm} ${statics[minilm].toFixed(1)} passages/s; ratio ${(statics[staticName] / statics[minilm]).toFixed(0)}× (256 passages; goal >= 10 000/s and >= 100×)`);

const gemma = !parts.has('gemma') ? null : await harness.page.evaluate(async () => {
  const { Embedder } = await import('/pkg/index.js');
  const start = performance.now();
  const model = await Embedder.load('/build/bench-models/embeddinggemma-300m-shape/', { backend: 'cpu', dtype: 'q8', threads: 1, cache: false });
  const loadMs = performance.now() - start;
  // A 512-token text: words added until the tokenizer counts 512 tokens with its specials.
  const words = [];
  while ((await model.tokenize(words.join(' '))).length < 512) words.push(['search', 'finds', 'passages', 'by', 'meaning', 'the'][words.length % 6]);
  const long = words.join(' ');
  const ids = await model.tokenize(long);
  const t0 = performance.now();
  await model.encode(long);
  const encodeMs = performance.now() - t0;
  const memory = model.wasmMemoryBytes;
  await model.dispose();
  return { loadMs, encodeMs, memory, tokens: ids.length };
});
if (gemma) console.log(`\nEmbeddingGemma-300m shape in q8 (quantized as it loads from F16 safetensors, 587 MB): loaded in ${(gemma.loadMs / 1000).toFixed(1)} s; a ${gemma.tokens}-token text in ${(gemma.encodeMs / 1000).toFixed(2)} s; wasm memory ${(gemma.memory / 2 ** 20).toFixed(0)} MiB (goal <= 420 MB)`);
await harness.close();
