// dispose() returns the model's wasm memory: each Embedder owns its wasm instance, and after
// dispose() nothing keeps that instance (or its WebAssembly.Memory) reachable.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { Embedder } from '../../pkg/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const FOLDER = fileURLToPath(new URL('../../models/all-MiniLM-L6-v2/', import.meta.url));
const MB = 1024 * 1024;
// Each q8 load of this folder (no model.q8.safetensors) warns that it quantizes at load: expected here.
console.warn = () => {};

async function collect() {
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** Loads, encodes, disposes; the WebAssembly.Memory is held only through a WeakRef. */
async function loadUseDispose(options) {
  const model = await Embedder.load(FOLDER, { threads: 1, ...options });
  await model.encode(['a first text to embed', 'and a second one, a little longer than the first']);
  const memory = new WeakRef(model._wasmMemoryForTest);
  const bytes = model.wasmMemoryBytes;
  await model.dispose();
  return { memory, bytes, after: model.wasmMemoryBytes };
}

test('dispose() drops the instance: its WebAssembly.Memory is collected and RSS falls back', async () => {
  await collect();
  const baseline = process.memoryUsage().rss;
  const f32 = await loadUseDispose({});
  const q8 = await loadUseDispose({ dtype: 'q8' });
  await collect();
  const after = process.memoryUsage().rss;
  console.log(
    `# wasm memory before dispose: f32 ${(f32.bytes / MB).toFixed(1)} MB, q8 ${(q8.bytes / MB).toFixed(1)} MB; ` +
      `RSS ${(baseline / MB).toFixed(0)} MB before the loads, ${(after / MB).toFixed(0)} MB after both disposes`,
  );
  assert.ok(f32.bytes > 80 * MB, `the f32 model held ${f32.bytes} bytes`);
  assert.equal(f32.after, 0);
  assert.equal(f32.memory.deref(), undefined, 'the f32 instance memory is still reachable after dispose()');
  assert.equal(q8.memory.deref(), undefined, 'the q8 instance memory is still reachable after dispose()');
  // Ten loads and disposes in a row keep RSS flat, not growing by a model each time.
  for (let i = 0; i < 10; i++) await loadUseDispose({ dtype: 'q8' });
  await collect();
  const afterTen = process.memoryUsage().rss;
  console.log(`# RSS after 10 more load/dispose cycles: ${(afterTen / MB).toFixed(0)} MB`);
  assert.ok(afterTen - after < 100 * MB, `RSS grew by ${((afterTen - after) / MB).toFixed(0)} MB over 10 cycles`);
});
