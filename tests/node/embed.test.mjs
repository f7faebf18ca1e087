// The same package in Node.js: a model folder by path (read from disk) and by URL (fetched),
// against sentence-transformers' fixtures.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Embedder } from '../../pkg/index.js';
import { startServer } from '../../scripts/serve.mjs';
import { cosine } from '../e2e/harness.mjs';

const ROOT = new URL('../../', import.meta.url);
const FOLDER = fileURLToPath(new URL('models/all-MiniLM-L6-v2/', ROOT));
const reference = JSON.parse(await readFile(new URL('tests/fixtures/all-MiniLM-L6-v2.json', ROOT), 'utf8'));
let server;

before(async () => {
  server = await startServer();
});
after(() => new Promise((done) => server.server.close(done)));

async function checkAll(model) {
  let worst = 1;
  for (const prompt of [null, 'query: ', 'passage: ']) {
    const cases = reference.cases.filter((c) => c.prompt === prompt);
    const vectors = await model.encode(cases.map((c) => c.text), { prompt: prompt ?? undefined });
    for (const [i, c] of cases.entries()) {
      assert.deepEqual(await model.tokenize(c.text, { prompt: prompt ?? undefined }), c.ids, `ids for ${JSON.stringify(c.text)}`);
      const cos = cosine(vectors[i], c.embedding);
      worst = Math.min(worst, cos);
      assert.ok(cos >= 0.99999, `cosine ${cos} for ${JSON.stringify(c.text)}`);
    }
  }
  return worst;
}

test('Embedder.load(absolute path) reads the folder from disk and matches every fixture', async () => {
  const model = await Embedder.load(FOLDER);
  assert.equal(model.dimension, 384);
  assert.equal(model.url, `file://${FOLDER}`);
  const worst = await checkAll(model);
  console.log(`# node, from disk: worst cosine ${worst.toFixed(9)} over ${reference.cases.length} texts (${model.simd})`);
  await model.dispose();
});

test('Embedder.load(url) fetches the folder over HTTP', async () => {
  const model = await Embedder.load(`${server.url}/models/all-MiniLM-L6-v2/`);
  await checkAll(model);
  await model.dispose();
});

test('a missing folder on disk is E_FETCH naming the file', async () => {
  await assert.rejects(Embedder.load('/nonexistent/model/folder'), (error) => {
    assert.equal(error.code, 'E_FETCH');
    assert.match(error.message, /nonexistent\/model\/folder\/config\.json/);
    return true;
  });
});
