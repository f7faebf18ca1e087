// Benchmark (prints figures; not a test): webembed's CPU path, f32 and q8, beside transformers.js
// (wasm, fp32 and q8), one thread each, interleaved in the same headless Chromium page on the
// standard corpus.
//
//   node bench/cpu-vs-transformersjs.mjs [--passages 128] [--batch 32] [--rounds 2]
//
// Needs ../shared/bench/corpus.json and ../shared/anchors/all-MiniLM-L6-v2-onnx (transformers.js's
// export of the same model), and pkg/ built.

import { parseArgs } from 'node:util';

import { openBrowser } from '../tests/e2e/harness.mjs';
import { requireRival } from './rival.mjs';

const { values } = parseArgs({
  options: {
    passages: { type: 'string', default: '128' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
  },
});
requireRival();

const harness = await openBrowser();
harness.page.setDefaultTimeout(0);
const QUERY = 'query: how do I keep my rights to the software?';

const result = await harness.page.evaluate(
  async ({ passages, batch, rounds, query }) => {
    const corpus = (await (await fetch('/shared/bench/corpus.json')).json()).slice(0, passages);
    const { Embedder } = await import('/pkg/index.js');
    const tjs = await import('/bench/node_modules/@huggingface/transformers/dist/transformers.min.js');
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = '/shared/anchors/';
    tjs.env.backends.onnx.wasm.wasmPaths = '/bench/node_modules/onnxruntime-web/dist/';
    tjs.env.backends.onnx.wasm.numThreads = 1;

    const model = '/models/all-MiniLM-L6-v2/';
    const oursF32 = await Embedder.load(model, { backend: 'cpu', dtype: 'f32' });
    const oursQ8 = await Embedder.load(model, { backend: 'cpu', dtype: 'q8' });
    const rivalF32 = await tjs.pipeline('feature-extraction', 'all-MiniLM-L6-v2-onnx', { device: 'wasm', dtype: 'fp32' });
    const rivalQ8 = await tjs.pipeline('feature-extraction', 'all-MiniLM-L6-v2-onnx', { device: 'wasm', dtype: 'q8' });
    const rival = (pipe) => async (texts) => (await pipe(texts, { pooling: 'mean', normalize: true })).tolist();
    const runners = {
      'webembed f32': async (texts) => oursF32.encode(texts, { batchSize: texts.length }),
      'webembed q8': async (texts) => oursQ8.encode(texts, { batchSize: texts.length }),
      'transformers.js fp32': rival(rivalF32),
      'transformers.js q8': rival(rivalQ8),
    };
    const batches = [];
    for (let i = 0; i < corpus.length; i += batch) batches.push(corpus.slice(i, i + batch));

    const throughput = Object.fromEntries(Object.keys(runners).map((name) => [name, []]));
    const vectors = {};
    for (const run of Object.values(runners)) await run(batches[0]); // warm-up batch
    for (let round = 0; round < rounds; round++) {
      for (const [name, run] of Object.entries(runners)) {
        const t0 = performance.now();
        const out = [];
        for (const texts of batches) out.push(...(await run(texts)));
        throughput[name].push(corpus.length / ((performance.now() - t0) / 1000));
        vectors[name] = out;
      }
    }
    const latency = {};
    for (const [name, run] of Object.entries(runners)) {
      const times = [];
      for (let i = 0; i < 21; i++) {
        const t0 = performance.now();
        await run([query]);
        times.push(performance.now() - t0);
      }
      latency[name] = times.sort((a, b) => a - b)[10];
    }
    const cosine = (a, b) => {
      let dot = 0, na = 0, nb = 0;
      for (let k = 0; k < a.length; k++) { dot += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; }
      return dot / Math.sqrt(na * nb);
    };
    // Agreement with the f32 reference (webembed f32 equals sentence-transformers to 1e-7).
    const agreement = {};
    for (const name of Object.keys(runners)) {
      const cosines = vectors[name].map((v, i) => cosine(v, vectors['webembed f32'][i]));
      agreement[name] = { worst: Math.min(...cosines), mean: cosines.reduce((a, b) => a + b, 0) / cosines.length };
    }
    return {
      throughput, latency, agreement, userAgent: navigator.userAgent, passages: corpus.length, simd: oursQ8.simd, dtype: oursQ8.dtype,
      memory: { f32: oursF32.wasmMemoryBytes, q8: oursQ8.wasmMemoryBytes },
    };
  },
  { passages: Number(values.passages), batch: Number(values.batch), rounds: Number(values.rounds), query: QUERY },
);
await harness.close();

const best = (name) => Math.max(...result.throughput[name]);
const pad = (text, width) => text.padEnd(width);
console.log(`corpus: ../shared/bench/corpus.json, first ${result.passages} passages, batches of ${values.batch}, ${values.rounds} interleaved rounds (best shown)`);
console.log(`browser: ${result.userAgent}; webembed wasm ${result.simd}, one thread each`);
for (const name of Object.keys(result.throughput)) {
  const { worst, mean } = result.agreement[name];
  console.log(`${pad(name, 22)} ${best(name).toFixed(2).padStart(6)} texts/s  [rounds: ${result.throughput[name].map((x) => x.toFixed(2)).join(', ')}]  query ${result.latency[name].toFixed(1)} ms  cosine to f32: worst ${worst.toFixed(5)}, mean ${mean.toFixed(6)}`);
}
console.log(`ratio webembed q8 / transformers.js q8:   ${(best('webembed q8') / best('transformers.js q8')).toFixed(2)}`);
console.log(`ratio webembed q8 / webembed f32:         ${(best('webembed q8') / best('webembed f32')).toFixed(2)}`);
console.log(`ratio webembed f32 / transformers.js fp32: ${(best('webembed f32') / best('transformers.js fp32')).toFixed(2)}`);
console.log(`wasm memory after load and this run: f32 ${(result.memory.f32 / 1e6).toFixed(1)} MB, q8 (${result.dtype}) ${(result.memory.q8 / 1e6).toFixed(1)} MB`);
