// Every encoder shape and config format in Chromium, against sentence-transformers: the small
// random-weight models of tests/fixtures/tiny (BERT, BERT with a Unigram vocabulary, XLM-R,
// every pooling mode, both config formats, pytorch_model.bin, sharded safetensors).

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

for (const name of names) {
  const reference = JSON.parse(await readFile(new URL(`references/${name}`, TINY), 'utf8'));
  test(`${reference.model}: ids and embeddings match sentence-transformers`, async () => {
    const result = await harness.page.evaluate(
      async ({ folder, cases }) => {
        const { Embedder } = await import('/pkg/index.js');
        const model = await Embedder.load(folder, { backend: 'cpu' });
        const out = [];
        for (const promptName of [...new Set(cases.map((c) => c.prompt_name))]) {
          const group = cases.map((c, i) => ({ ...c, i })).filter((c) => c.prompt_name === promptName);
          const vectors = await model.encode(group.map((c) => c.text), { promptName: promptName ?? undefined, batchSize: 16 });
          for (const [k, c] of group.entries()) {
            out[c.i] = { ids: await model.tokenize(c.text, { promptName: promptName ?? undefined }), vector: Array.from(vectors[k]) };
          }
        }
        const info = { dimension: model.dimension, maxSeqLength: model.maxSeqLength };
        await model.dispose();
        return { out, ...info };
      },
      { folder: `/tests/fixtures/tiny/models/${reference.model}/`, cases: reference.cases.map(({ text, prompt_name }) => ({ text, prompt_name })) },
    );
    assert.equal(result.dimension, reference.dimension);
    assert.equal(result.maxSeqLength, reference.max_seq_length);
    for (const [i, c] of reference.cases.entries()) {
      assert.deepEqual(result.out[i].ids, c.ids, `ids for ${JSON.stringify(c.text)} (${c.prompt_name})`);
      const got = result.out[i].vector;
      const cos = cosine(got, c.embedding);
      assert.ok(cos >= 0.99999, `cosine ${cos} for ${JSON.stringify(c.text)} (${c.prompt_name})`);
      const ratio = Math.hypot(...got) / Math.hypot(...c.embedding);
      assert.ok(Math.abs(ratio - 1) < 1e-4, `norm ratio ${ratio} for ${JSON.stringify(c.text)}`);
    }
  });
}

test('no uncaught error reached the page', () => assert.deepEqual(harness.errors, []));
