// The families beyond BERT / XLM-R in Chromium (tests/fixtures/tiny/families, made by
// tools/make_family_models.py): ModernBERT, Gemma3 (EmbeddingGemma's shape, Dense modules,
// prompts, Matryoshka truncation), Qwen3 (last token, left padding), static models
// (StaticEmbedding, model2vec) and a LaBSE-like Dense(tanh) head, against sentence-transformers'
// and model2vec's own outputs: on the CPU (cosine >= 0.99999, ids equal, norms as given), on
// WebGPU through SwiftShader (>= 0.9999), in q8, in worker mode and in a worker pool.

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { cosine as plainCosine, openBrowser } from './harness.mjs';

const REFERENCES = new URL('../fixtures/tiny/family-references/', import.meta.url);
const names = (await readdir(REFERENCES)).map((n) => n.replace(/\.json$/, '')).sort();
const reference = async (name) => JSON.parse(await readFile(new URL(`${name}.json`, REFERENCES), 'utf8'));
const folder = (name) => `/tests/fixtures/tiny/families/${name}/`;
// An empty text's mean is the zero vector on both sides.
const cosine = (a, b) => (Math.hypot(...a) < 1e-6 && Math.hypot(...b) < 1e-6 ? 1 : plainCosine(a, b));
const TRANSFORMERS = ['modernbert-like', 'embeddinggemma-like', 'qwen3-embedding-like', 'labse-like'];
let harness;

before(async () => {
  harness = await openBrowser();
});
after(async () => harness?.close());

/** Embeds `cases` in the page, grouped by prompt and truncation; returns ids and vectors in order. */
async function embedInPage(name, cases, options = {}, { withIds = true } = {}) {
  return harness.page.evaluate(
    async ({ folder, cases, options, withIds }) => {
      const { Embedder } = await import('/pkg/index.js');
      const model = await Embedder.load(folder, options);
      const out = [];
      const key = (c) => `${c.prompt_name}|${c.truncate_dim}`;
      for (const group of Object.values(Object.groupBy(cases.map((c, i) => ({ ...c, i })), key))) {
        const { prompt_name: promptName, truncate_dim: truncateDim } = group[0];
        const encodeOptions = { promptName: promptName ?? undefined, truncateDim: truncateDim ?? undefined, batchSize: 16 };
        const vectors = await model.encode(group.map((c) => c.text), encodeOptions);
        for (const [k, c] of group.entries()) {
          out[c.i] = { vector: Array.from(vectors[k]), ids: withIds ? await model.tokenize(c.text, { promptName: promptName ?? undefined }) : null };
        }
      }
      const info = { dimension: model.dimension, backend: model.backend, dtype: model.dtype, threads: model.threads };
      await model.dispose();
      return { out, ...info };
    },
    { folder: folder(name), cases: cases.map(({ text, prompt_name, truncate_dim }) => ({ text, prompt_name, truncate_dim })), options, withIds },
  );
}

for (const name of names) {
  test(`${name} on the CPU: ids, vectors and norms as its library gives them, every prompt and truncation`, async () => {
    const ref = await reference(name);
    const result = await embedInPage(name, ref.cases, { backend: 'cpu' });
    assert.equal(result.dimension, ref.dimension);
    for (const [i, c] of ref.cases.entries()) {
      const label = `${JSON.stringify(c.text)} (${c.prompt_name}, truncate ${c.truncate_dim})`;
      assert.deepEqual(result.out[i].ids, c.ids, `ids for ${label}`);
      const got = result.out[i].vector;
      assert.equal(got.length, c.embedding.length, `dimension for ${label}`);
      const cos = cosine(got, c.embedding);
      assert.ok(cos >= 0.99999, `cosine ${cos} for ${label}`);
      const [a, b] = [Math.hypot(...got), Math.hypot(...c.embedding)];
      assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(b, 1), `norm ${a} vs ${b} for ${label}`);
    }
  });
}

for (const name of TRANSFORMERS) {
  test(`${name} on WebGPU (SwiftShader): the mixed-length batch within 0.9999`, async () => {
    const ref = await reference(name);
    const cases = ref.cases.filter((c) => c.prompt_name === null && c.truncate_dim === null && c.ids.length <= 256);
    const result = await embedInPage(name, cases, { backend: 'webgpu' }, { withIds: false });
    assert.equal(result.backend, 'webgpu');
    for (const [i, c] of cases.entries()) {
      const cos = cosine(result.out[i].vector, c.embedding);
      assert.ok(cos >= 0.9999, `${name}: WebGPU cosine ${cos} for ${JSON.stringify(c.text)}`);
    }
  });
}

test('every family in q8 (int8 kernels on the CPU): worst >= 0.99, mean >= 0.995', async () => {
  for (const name of names) {
    const ref = await reference(name);
    const cases = ref.cases.filter((c) => c.prompt_name === null && c.truncate_dim === null);
    const result = await embedInPage(name, cases, { backend: 'cpu', dtype: 'q8' }, { withIds: false });
    assert.equal(result.dtype, 'q8', name);
    const cosines = cases.map((c, i) => cosine(result.out[i].vector, c.embedding));
    const [worst, mean] = [Math.min(...cosines), cosines.reduce((a, b) => a + b, 0) / cosines.length];
    assert.ok(worst >= 0.99 && mean >= 0.995, `${name}: q8 worst ${worst}, mean ${mean}`);
  }
});

test('truncateDim as a load option: the dimension, every vector and its norm as sentence-transformers cuts them; in a worker and a pool too', async () => {
  const ref = await reference('embeddinggemma-like');
  const cut = ref.cases.filter((c) => c.truncate_dim === 48);
  for (const options of [{ backend: 'cpu' }, { worker: true }, { threads: 2 }]) {
    const result = await embedInPage('embeddinggemma-like', cut, { ...options, truncateDim: 48 }, { withIds: false });
    assert.equal(result.dimension, 48, JSON.stringify(options));
    for (const [i, c] of cut.entries()) {
      const got = result.out[i].vector;
      assert.ok(cosine(got, c.embedding) >= 0.99999, `${JSON.stringify(options)}: ${JSON.stringify(c.text)}`);
      assert.ok(Math.abs(Math.hypot(...got) - Math.hypot(...c.embedding)) < 1e-4, 'a cut vector keeps its norm below 1');
    }
  }
});

test('static and decoder models in worker mode and a worker pool match the page', async () => {
  for (const name of ['model2vec-quantized-like', 'static-st-subfolder', 'qwen3-embedding-like']) {
    const ref = await reference(name);
    const cases = ref.cases.filter((c) => c.prompt_name === null && c.truncate_dim === null).slice(0, 12);
    for (const options of [{ worker: true }, { threads: 2 }]) {
      const result = await embedInPage(name, cases, options, { withIds: false });
      for (const [i, c] of cases.entries()) {
        assert.ok(cosine(result.out[i].vector, c.embedding) >= 0.99999, `${name} ${JSON.stringify(options)}: ${JSON.stringify(c.text)}`);
      }
    }
  }
});

test('bad truncateDim values are E_INPUT naming the bound, and the model keeps working', async () => {
  const outcome = await harness.page.evaluate(async (folder) => {
    const { Embedder } = await import('/pkg/index.js');
    const codes = [];
    for (const truncateDim of [0, -3, 2.5, '32', 1e9]) {
      codes.push(await Embedder.load(folder, { truncateDim }).then(() => 'loaded', (e) => `${e.code}: ${e.message}`));
    }
    const model = await Embedder.load(folder);
    for (const truncateDim of [0, 65, 1.5]) {
      codes.push(await model.encode('a text', { truncateDim }).then(() => 'encoded', (e) => `${e.code}: ${e.message}`));
    }
    const [after] = await model.encode('a text', { truncateDim: 16 });
    await model.dispose();
    return { codes, after: after.length };
  }, folder('embeddinggemma-like'));
  for (const line of outcome.codes) assert.match(line, /^E_INPUT: truncateDim must be an integer from 1 to/, line);
  assert.match(outcome.codes[4], /dimension 64/, 'a load names the model\'s dimension once it knows it');
  assert.equal(outcome.after, 16);
});

test('no uncaught error reached the page', () => assert.deepEqual(harness.errors, []));
