// The families beyond BERT / XLM-R in Node: each loads by path and embeds as its library does;
// `webembed quantize` writes a q8 folder of each (Dense weights and a model2vec mapping inside
// the q8 file) that loads on its own; `webembed index` builds shipped indexes with a static model
// and at a Matryoshka-truncated dimension, which the whole model then searches.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Embedder } from '../../pkg/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'pkg/cli/main.mjs');
const FAMILIES = join(ROOT, 'tests/fixtures/tiny/families');
const SITE = join(ROOT, 'tests/fixtures/shipped/site');
const run = promisify(execFile);
const names = (await readdir(FAMILIES)).sort();
const reference = async (name) => JSON.parse(await readFile(join(ROOT, 'tests/fixtures/tiny/family-references', `${name}.json`), 'utf8'));
let work;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'webembed-families-'));
});
after(async () => rm(work, { recursive: true, force: true }));

const cosine = (a, b) => {
  let [dot, na, nb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) [dot, na, nb] = [dot + a[i] * b[i], na + a[i] * a[i], nb + b[i] * b[i]];
  return na < 1e-12 && nb < 1e-12 ? 1 : dot / Math.sqrt(na * nb);
};

async function embed(folder, texts, options = {}) {
  const model = await Embedder.load(folder, { cache: false, backend: 'cpu', ...options });
  try {
    return { vectors: (await model.encode(texts)).map((v) => Array.from(v)), dtype: model.dtype, dimension: model.dimension };
  } finally {
    await model.dispose();
  }
}

test('every family loads by path in Node and embeds as its library does', async () => {
  assert.ok(names.length >= 11, names.join(', '));
  for (const name of names) {
    const ref = await reference(name);
    const cases = ref.cases.filter((c) => c.prompt_name === null && c.truncate_dim === null).slice(0, 8);
    const { vectors, dimension } = await embed(join(FAMILIES, name), cases.map((c) => c.text));
    assert.equal(dimension, ref.dimension, name);
    cases.forEach((c, i) => assert.ok(cosine(vectors[i], c.embedding) >= 0.99999, `${name}: ${JSON.stringify(c.text)}`));
  }
});

for (const name of ['embeddinggemma-like', 'model2vec-quantized-like', 'static-st-subfolder', 'modernbert-like']) {
  test(`quantize ${name}: the --out folder (configs, tokenizer, one q8 file) loads as the float folder quantized at load`, async () => {
    const out = join(work, `q8-${name}`);
    const { stdout } = await run(process.execPath, [CLI, 'quantize', join(FAMILIES, name), '--out', out]);
    assert.match(stdout, /worst cosine 0\.9\d+ to the f32 model/);
    const files = await readdir(out, { recursive: true });
    assert.ok(files.includes('model.q8.safetensors'), files.join(', '));
    assert.ok(!files.some((f) => f.endsWith('model.safetensors') && !f.endsWith('q8.safetensors')), `no float weights: ${files.join(', ')}`);
    const texts = ['A man is eating food.', 'Semantic search finds passages by meaning.', ''];
    const fromFile = await embed(out, texts);
    assert.equal(fromFile.dtype, 'q8');
    const atLoad = await embed(join(FAMILIES, name), texts, { dtype: 'q8' });
    fromFile.vectors.forEach((v, i) => assert.ok(cosine(v, atLoad.vectors[i]) > 0.99999, `${name}: text ${i}`));
  });
}

test('a shipped index built with a static model (model2vec) finds its documents', async () => {
  const out = join(work, 'static-index');
  await run(process.execPath, [CLI, 'index', SITE, '--model', join(FAMILIES, 'model2vec-like'), '--out', out, '--threads', '1', '--cache', join(work, 'cache')]);
  const manifest = JSON.parse(await readFile(join(out, 'webembed-index.json'), 'utf8'));
  assert.equal(manifest.model.dimension, 64);
  const model = await Embedder.load(join(FAMILIES, 'model2vec-like'), { cache: false });
  try {
    const index = await model.loadIndex(out);
    const [hit] = await index.search('refund', { mode: 'keyword' });
    assert.equal(hit.id, 'faq-refund');
    const semantic = await index.search('How do I get a refund? Contact support within 30 days of your purchase.', { mode: 'semantic' });
    assert.equal(semantic[0].id, 'faq-refund', 'a document\'s own text finds it by meaning');
  } finally {
    await model.dispose();
  }
});

test('an index built at a truncated dimension is searched by the whole model, its queries cut the same way', async () => {
  const out = join(work, 'truncated-index');
  const gemma = join(FAMILIES, 'embeddinggemma-like');
  await run(process.execPath, [CLI, 'index', SITE, '--model', gemma, '--out', out, '--threads', '1', '--truncate-dim', '32', '--dtype', 'f32', '--cache', join(work, 'cache')]);
  const manifest = JSON.parse(await readFile(join(out, 'webembed-index.json'), 'utf8'));
  assert.equal(manifest.model.dimension, 32);
  assert.equal(manifest.model.truncateDim, 32);
  for (const options of [{}, { truncateDim: 32 }]) {
    const model = await Embedder.load(gemma, { cache: false, ...options });
    try {
      const index = await model.loadIndex(out);
      const text = 'How do I reset my password? Use the forgotten password link on the sign-in page.';
      // Hybrid: the semantic side needs a query vector of the index's width (else E_INPUT), the
      // keyword side makes the random-weight model's ranking certain.
      const [hit] = await index.search(text, { mode: 'hybrid' });
      assert.equal(hit.id, 'faq-password', JSON.stringify(options));
      assert.ok(Number.isFinite(hit.semanticScore ?? hit.cosine ?? 0));
    } finally {
      await model.dispose();
    }
  }
  const bad = await run(process.execPath, [CLI, 'index', SITE, '--model', gemma, '--out', join(work, 'bad'), '--truncate-dim', '0']).catch((e) => e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--truncate-dim must be a positive integer/);
});
