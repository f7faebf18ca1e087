// A multilingual-e5-large-sized encoder (XLM-R, 24 layers × 1024, 16 heads of 64) loads without
// a second copy of its weights in wasm memory, in q8 at a quarter of that peak, and a model too
// large for wasm32 is refused with a clear error before any weight is downloaded. The 600 MB test model is written here, with
// arbitrary fixed weights, from the tokenizer of the committed 1024-d tiny model.

import assert from 'node:assert/strict';
import { copyFile, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { cosine, openBrowser } from './harness.mjs';

const ROOT = new URL('../../', import.meta.url);
const TOKENIZER_FROM = new URL('tests/fixtures/tiny/models/multilingual-e5-large-like/', ROOT);
const LARGE = new URL('test-results/models/large-24x1024/', ROOT);
const HUGE = new URL('test-results/models/too-large/', ROOT);
const GEOMETRY = { hidden: 1024, heads: 16, layers: 24, intermediate: 4096, positions: 514 };

function config(vocab, { hidden, heads, layers, intermediate, positions }) {
  return {
    architectures: ['XLMRobertaModel'], model_type: 'xlm-roberta', hidden_size: hidden, num_attention_heads: heads,
    num_hidden_layers: layers, intermediate_size: intermediate, vocab_size: vocab, max_position_embeddings: positions,
    type_vocab_size: 1, layer_norm_eps: 1e-5, hidden_act: 'gelu', pad_token_id: 1,
  };
}

function tensorShapes(vocab, { hidden, layers, intermediate, positions }) {
  const shapes = {
    'embeddings.word_embeddings.weight': [vocab, hidden],
    'embeddings.position_embeddings.weight': [positions, hidden],
    'embeddings.token_type_embeddings.weight': [1, hidden],
    'embeddings.LayerNorm.weight': [hidden],
    'embeddings.LayerNorm.bias': [hidden],
  };
  for (let l = 0; l < layers; l++) {
    const p = `encoder.layer.${l}`;
    for (const name of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      shapes[`${p}.${name}.weight`] = [hidden, hidden];
      shapes[`${p}.${name}.bias`] = [hidden];
    }
    shapes[`${p}.intermediate.dense.weight`] = [intermediate, hidden];
    shapes[`${p}.intermediate.dense.bias`] = [intermediate];
    shapes[`${p}.output.dense.weight`] = [hidden, intermediate];
    shapes[`${p}.output.dense.bias`] = [hidden];
    for (const norm of ['attention.output.LayerNorm', 'output.LayerNorm']) {
      shapes[`${p}.${norm}.weight`] = [hidden];
      shapes[`${p}.${norm}.bias`] = [hidden];
    }
  }
  return shapes;
}

/** Writes an F16 safetensors file: LayerNorm weights 1, every other value small and arbitrary. */
async function writeSafetensors(path, shapes) {
  let offset = 0;
  const header = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'F16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const file = await open(path, 'w');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  await file.write(prefix);
  await file.write(json);
  // A table of small half floats (|x| < 0.03), tiled with a per-tensor shift.
  const table = new Uint16Array(65_537);
  let state = 0x9e3779b9;
  for (let i = 0; i < table.length; i++) {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    const magnitude = 0x1c00 + ((state >>> 0) % 0x0f00); // exponents of ~6e-5 .. ~0.03
    table[i] = (state & 0x80000000 ? 0x8000 : 0) | magnitude;
  }
  let shift = 0;
  for (const [name, shape] of Object.entries(shapes)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = new Uint16Array(count);
    if (name.endsWith('LayerNorm.weight')) values.fill(0x3c00);
    else for (let i = 0; i < count; i++) values[i] = table[(i + shift) % table.length];
    shift += 7919;
    await file.write(Buffer.from(values.buffer));
  }
  await file.close();
}

async function folderWithConfig(folder, configJson) {
  await mkdir(new URL('1_Pooling/', folder), { recursive: true });
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'modules.json', '1_Pooling/config.json']) {
    await copyFile(new URL(name, TOKENIZER_FROM), new URL(name, folder));
  }
  await writeFile(new URL('config.json', folder), JSON.stringify(configJson));
}

let harness;
let vocab;
/** The f32 load's peak and vector, for the q8 load to be measured against. */
let f32Run;

before(async () => {
  await rm(LARGE, { recursive: true, force: true });
  await rm(HUGE, { recursive: true, force: true });
  vocab = JSON.parse(await readFile(new URL('config.json', TOKENIZER_FROM), 'utf8')).vocab_size;
  await folderWithConfig(LARGE, config(vocab, GEOMETRY));
  await writeSafetensors(new URL('model.safetensors', LARGE).pathname, tensorShapes(vocab, GEOMETRY));
  await folderWithConfig(HUGE, config(250_002, { ...GEOMETRY, hidden: 4096, heads: 32, layers: 48, intermediate: 16384 }));
  await writeFile(new URL('1_Pooling/config.json', HUGE), JSON.stringify({ embedding_dimension: 4096, pooling_mode: 'mean' }));
  harness = await openBrowser();
});
after(async () => harness?.close());

test('a 24-layer 1024-d model loads with one copy of its weights in wasm memory', async () => {
  const f32Bytes = Object.values(tensorShapes(vocab, GEOMETRY)).reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1) * 4, 0);
  const result = await harness.page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    const t0 = performance.now();
    // Not cached: 600 MB of throwaway weights have no business in the browser's storage.
    const model = await Embedder.load(path, { backend: 'cpu', cache: false });
    const loadMs = performance.now() - t0;
    // wasm memory never shrinks, so its size after loading is the peak the load reached.
    const peak = model.wasmMemoryBytes;
    const [vector] = await model.encode('query: how large can a browser model be?');
    const info = { dimension: model.dimension, norm: Math.hypot(...vector), finite: vector.every(Number.isFinite) };
    await model.dispose();
    return { loadMs, peak, vector: Array.from(vector), ...info };
  }, '/test-results/models/large-24x1024/');
  f32Run = result;
  console.log(`# 24×1024 model: ${(f32Bytes / 1e9).toFixed(2)} GB of f32 weights; peak wasm memory ${(result.peak / 1e9).toFixed(2)} GB; loaded in ${(result.loadMs / 1000).toFixed(1)} s`);
  assert.equal(result.dimension, 1024);
  assert.ok(result.finite && Math.abs(result.norm - 1) < 1e-4, JSON.stringify(result));
  // A second copy of the weights would need at least 2× the f32 size.
  assert.ok(result.peak < 1.3 * f32Bytes, `peak ${result.peak} for ${f32Bytes} bytes of weights`);
});

test('the same model in q8 (quantized as it streams in) peaks at under 0.45 of the f32 load', async () => {
  assert.ok(f32Run, 'runs after the f32 load above');
  const result = await harness.page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    const t0 = performance.now();
    const model = await Embedder.load(path, { backend: 'cpu', dtype: 'q8', cache: false });
    const loadMs = performance.now() - t0;
    const peak = model.wasmMemoryBytes;
    const [vector] = await model.encode('query: how large can a browser model be?');
    const dtype = model.dtype;
    await model.dispose();
    return { loadMs, peak, dtype, vector: Array.from(vector) };
  }, '/test-results/models/large-24x1024/');
  const ratio = result.peak / f32Run.peak;
  const agreement = cosine(result.vector, f32Run.vector);
  console.log(`# 24×1024 model in q8: peak wasm memory ${(result.peak / 1e9).toFixed(3)} GB = ${ratio.toFixed(3)} of the f32 load's ${(f32Run.peak / 1e9).toFixed(2)} GB; loaded in ${(result.loadMs / 1000).toFixed(1)} s; cosine to f32 ${agreement.toFixed(6)}`);
  assert.equal(result.dtype, 'q8');
  assert.ok(ratio <= 0.45, `q8 peak ${result.peak} against f32 ${f32Run.peak}`);
  assert.ok(agreement >= 0.995, `cosine ${agreement}`);
});

test('a model too large for wasm32 is refused with E_TOO_LARGE before its weights download', async () => {
  const requested = [];
  const listener = (request) => requested.push(request.url());
  harness.page.on('request', listener);
  const result = await harness.page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    try {
      await Embedder.load(path);
      return { ok: true };
    } catch (error) {
      return { code: error.code, message: error.message };
    }
  }, '/test-results/models/too-large/');
  harness.page.off('request', listener);
  assert.equal(result.code, 'E_TOO_LARGE', JSON.stringify(result));
  assert.match(result.message, /GB/);
  assert.ok(!requested.some((url) => url.includes('model.safetensors') || url.includes('pytorch_model.bin')), requested.join('\n'));
  assert.deepEqual(harness.errors, []);
});
