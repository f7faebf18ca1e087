// The converter, `webembed quantize`, in Node: it writes model.q8.safetensors with the engine
// that quantizes at load, so a folder loaded from the file gives the same vectors as the float
// folder quantized at load; --out makes a complete folder to host; the file is a quarter of f32.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Embedder } from '../../pkg/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'pkg/cli/main.mjs');
const run = promisify(execFile);
const TEXTS = ['query: how do I reset it?', 'passage: Hold the button for ten seconds to reset the device.', 'ein kurzer deutscher Satz', '東京'];

async function vectors(folder, dtype, expectDtype = dtype) {
  const model = await Embedder.load(folder, { dtype, cache: false, backend: 'cpu' });
  try {
    assert.equal(model.dtype, expectDtype);
    return (await model.encode(TEXTS)).map((v) => Array.from(v));
  } finally {
    await model.dispose();
  }
}

for (const [name, folder] of [
  ['all-MiniLM-L6-v2', join(ROOT, 'models/all-MiniLM-L6-v2')],
  ['a tiny sharded XLM-R', join(ROOT, 'tests/fixtures/tiny/models/xlmr-minilm-nonorm-like-sharded')],
  ['a tiny BERT from pytorch_model.bin', join(ROOT, 'tests/fixtures/tiny/models/e5-small-v2-like-bin')],
]) {
  test(`quantize ${name}: --out folder loads to the same vectors as quantizing at load`, async () => {
    const out = await mkdtemp(join(tmpdir(), 'webembed-q8-'));
    try {
      const { stdout } = await run(process.execPath, [CLI, 'quantize', folder, '--out', out]);
      console.log(stdout.trim().split('\n').map((line) => `# ${line}`).join('\n'));
      assert.match(stdout, /sha256 [0-9a-f]{64}/);
      assert.match(stdout, /worst cosine 0\.9\d+ to the f32 model/);
      const files = await readdir(out);
      assert.ok(files.includes('model.q8.safetensors') && files.includes('config.json') && files.includes('tokenizer.json'), files.join(', '));
      assert.ok(!files.some((f) => f.startsWith('model.safetensors') || f.endsWith('.bin')), `no float weights in --out: ${files}`);
      const q8 = await vectors(folder, 'q8');
      assert.deepEqual(await vectors(out, 'q8'), q8, 'file = load-time quantization');
      // The README's deploy story: the --out folder, uploaded as it is, loads with no options.
      assert.deepEqual(await vectors(out, undefined, 'q8'), q8, 'no dtype: the folder\'s q8 weights');
      for (const dtype of ['f32', 'f16']) {
        const refused = await Embedder.load(out, { dtype, cache: false, backend: 'cpu' }).catch((error) => error);
        assert.equal(refused.code, 'E_WEIGHTS', `${dtype}: ${refused.message}`);
        assert.match(refused.message, /model\.q8\.safetensors.*dtype: 'q8'/);
      }
      if (name === 'all-MiniLM-L6-v2') {
        const ratio = (await stat(join(out, 'model.q8.safetensors'))).size / (await stat(join(folder, 'model.safetensors'))).size;
        assert.ok(ratio <= 0.27, `q8 file is ${ratio} of the f32 file`);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
}

test('quantize without --out writes beside the f32 weights; a folder it cannot run fails with a code and writes nothing', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'webembed-q8-beside-'));
  try {
    await cp(join(ROOT, 'tests/fixtures/tiny/models/bge-cls-like'), folder, { recursive: true, dereference: true });
    await run(process.execPath, [CLI, 'quantize', folder]);
    assert.ok((await readdir(folder)).includes('model.q8.safetensors'));
    const broken = await mkdtemp(join(tmpdir(), 'webembed-q8-broken-'));
    await cp(folder, broken, { recursive: true });
    await rm(join(broken, 'model.safetensors'));
    await rm(join(broken, 'model.q8.safetensors'));
    const failed = await run(process.execPath, [CLI, 'quantize', broken]).catch((error) => error);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /E_FETCH: .*has no weights/);
    assert.ok(!(await readdir(broken)).includes('model.q8.safetensors'));
    await rm(broken, { recursive: true, force: true });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
