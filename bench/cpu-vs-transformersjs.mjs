// Benchmark (prints figures; not a test): webembed's CPU path vs transformers.js (wasm, fp32,
// one thread) in the same headless Chromium page, on the standard corpus.
//
//   node bench/cpu-vs-transformersjs.mjs [--passages 128] [--batch 32] [--rounds 2]
//
// Needs ../shared/bench/corpus.json and ../shared/anchors/all-MiniLM-L6-v2-onnx, and pkg/ built.

import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { openBrowser } from '../tests/e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    passages: { type: 'string', default: '128' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    dtype: { type: 'string', default: 'fp32' },
  },
});
const here = new URL('.', import.meta.url).pathname;
if (!existsSync(`${here}node_modules/@huggingface/transformers`)) {
  // The rival's install scripts fetch a native onnxruntime, which this bench does not need.
  execSync('npm install --ignore-scripts --no-audit --no-fund', { cwd: here, stdio: 'inherit' });
}

const harness = await openBrowser();
harness.page.setDefaultTimeout(0);
const QUERY = 'query: how do I keep my rights to the software?';

const result = await harness.page.evaluate(
  async ({ passages, batch, rounds, dtype, query }) => {
    const corpus = (await (await fetch('/shared/bench/corpus.json')).json()).slice(0, passages);
    const { Embedder } = await import('/pkg/index.js');
    const tjs = await import('/bench/node_modules/@huggingface/transformers/dist/transformers.min.js');
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = '/shared/anchors/';
    tjs.env.backends.onnx.wasm.wasmPaths = '/bench/node_modules/onnxruntime-web/dist/';
    tjs.env.backends.onnx.wasm.numThreads = 1;

    const ours = await Embedder.load('/models/all-MiniLM-L6-v2/', { backend: 'cpu' });
    const rival = await tjs.pipeline('feature-extraction', 'all-MiniLM-L6-v2-onnx', { device: 'wasm', dtype });
    const runners = {
      webembed: async (texts) => ours.encode(texts, { batchSize: texts.length }),
      'transformers.js': async (texts) => (await rival(texts, { pooling: 'mean', normalize: true })).tolist(),
    };
    const batches = [];
    for (let i = 0; i < corpus.length; i += batch) batches.push(corpus.slice(i, i + batch));

    const throughput = { webembed: [], 'transformers.js': [] };
    const vectors = {};
    for (const [name, run] of Object.entries(runners)) await run(batches[0]); // warm-up batch
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
    let worst = 1;
    vectors.webembed.forEach((a, i) => {
      const b = vectors['transformers.js'][i];
      let dot = 0, na = 0, nb = 0;
      for (let k = 0; k < a.length; k++) { dot += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; }
      worst = Math.min(worst, dot / Math.sqrt(na * nb));
    });
    return { throughput, latency, worst, userAgent: navigator.userAgent, passages: corpus.length, simd: ours.simd };
  },
  { passages: Number(values.passages), batch: Number(values.batch), rounds: Number(values.rounds), dtype: values.dtype, query: QUERY },
);
await harness.close();

const best = (xs) => Math.max(...xs);
const ours = best(result.throughput.webembed);
const theirs = best(result.throughput['transformers.js']);
console.log(`corpus: ../shared/bench/corpus.json, first ${result.passages} passages, batches of ${values.batch}, ${values.rounds} interleaved rounds (best shown)`);
console.log(`browser: ${result.userAgent}`);
console.log(`webembed cpu (wasm ${result.simd}, 1 thread):  ${ours.toFixed(2)} texts/s  [rounds: ${result.throughput.webembed.map((x) => x.toFixed(2)).join(', ')}]`);
console.log(`transformers.js wasm ${values.dtype} (1 thread):        ${theirs.toFixed(2)} texts/s  [rounds: ${result.throughput['transformers.js'].map((x) => x.toFixed(2)).join(', ')}]`);
console.log(`ratio webembed / transformers.js:              ${(ours / theirs).toFixed(2)}`);
console.log(`short-query latency (median of 21) "${QUERY}": webembed ${result.latency.webembed.toFixed(1)} ms, transformers.js ${result.latency['transformers.js'].toFixed(1)} ms`);
console.log(`agreement: worst cosine webembed vs transformers.js over the corpus: ${result.worst.toFixed(7)}`);
