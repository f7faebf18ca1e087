// Every encoder shape and config format in Chromium, against sentence-transformers: the small
// random-weight models of tests/fixtures/tiny (BERT, BERT with a Unigram vocabulary, XLM-R,
// every pooling mode, both config formats, pytorch_model.bin, sharded safetensors), on the CPU
// (cosine >= 0.99999) and on WebGPU through SwiftShader (cosine >= 0.9999).

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { cosine, openBrowser } from './harness.mjs';

const TINY = new URL('../fixtures/tiny/', import.meta.url);
const names = (await readdir(new URL('references/', TINY))).filter((n) => !n.startsWith('tokenizer-')).sort();
let harness;

before(async () => {
  harness = await openBrowser();
});
after(async () => harness?.close());

const MIN_COSINE = { cpu: 0.99999, webgpu: 0.9999 };
// Folders that differ only in file format (the ≤5.x config layout, .bin, shards) load the same
// encoder, so WebGPU runs each shape once. SwiftShader is a CPU rasterizer: texts past 256
// tokens are left to the native lavapipe tests and the kernel checks (seq 512 included).
const SAME_SHAPE = /-(st5|bin|sharded)\.json$/;
const WEBGPU_MAX_TOKENS = 256;
// As natively: past 128 tokens a text runs on WebGPU under its first prompt only (a prompt
// changes only its first ids, checked for every case on the CPU run).
const WEBGPU_LONG_CASE_TOKENS = 128;

function webgpuCases(cases) {
  const longSeen = new Set();
  return cases.filter((c) => c.ids.length <= WEBGPU_MAX_TOKENS && (c.ids.length <= WEBGPU_LONG_CASE_TOKENS || (!longSeen.has(c.text) && longSeen.add(c.text))));
}

for (const [name, backend] of names.flatMap((n) => (SAME_SHAPE.test(n) ? [[n, 'cpu']] : [[n, 'cpu'], [n, 'webgpu']]))) {
  const reference = JSON.parse(await readFile(new URL(`references/${name}`, TINY), 'utf8'));
  if (backend === 'webgpu') reference.cases = webgpuCases(reference.cases);
  test(`${reference.model} on ${backend}: ids and embeddings match sentence-transformers`, async () => {
    const result = await harness.page.evaluate(
      async ({ folder, cases, backend }) => {
        const { Embedder } = await import('/pkg/index.js');
        const model = await Embedder.load(folder, { backend });
        const out = [];
        for (const promptName of [...new Set(cases.map((c) => c.prompt_name))]) {
          const group = cases.map((c, i) => ({ ...c, i })).filter((c) => c.prompt_name === promptName);
          const vectors = await model.encode(group.map((c) => c.text), { promptName: promptName ?? undefined, batchSize: 16 });
          for (const [k, c] of group.entries()) {
            out[c.i] = { ids: await model.tokenize(c.text, { promptName: promptName ?? undefined }), vector: Array.from(vectors[k]) };
          }
        }
        const info = { dimension: model.dimension, maxSeqLength: model.maxSeqLength, backend: model.backend };
        await model.dispose();
        return { out, ...info };
      },
      { folder: `/tests/fixtures/tiny/models/${reference.model}/`, cases: reference.cases.map(({ text, prompt_name }) => ({ text, prompt_name })), backend },
    );
    assert.equal(result.backend, backend, 'stayed on the backend asked for');
    assert.equal(result.dimension, reference.dimension);
    assert.equal(result.maxSeqLength, reference.max_seq_length);
    for (const [i, c] of reference.cases.entries()) {
      assert.deepEqual(result.out[i].ids, c.ids, `ids for ${JSON.stringify(c.text)} (${c.prompt_name})`);
      const got = result.out[i].vector;
      const cos = cosine(got, c.embedding);
      assert.ok(cos >= MIN_COSINE[backend], `cosine ${cos} for ${JSON.stringify(c.text)} (${c.prompt_name})`);
      const ratio = Math.hypot(...got) / Math.hypot(...c.embedding);
      assert.ok(Math.abs(ratio - 1) < 1e-4, `norm ratio ${ratio} for ${JSON.stringify(c.text)}`);
    }
  });
}

test('no uncaught error reached the page', () => assert.deepEqual(harness.errors, []));
