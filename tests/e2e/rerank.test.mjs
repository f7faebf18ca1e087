// Rerankers in Chromium: Reranker.score against sentence-transformers' CrossEncoder on the tiny
// random-weight rerankers, on the CPU (within 1e-5) and on WebGPU through SwiftShader (within
// 1e-4), in the page and in worker mode; and a reranked index search in the page.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { openBrowser } from './harness.mjs';

const TINY = new URL('../fixtures/tiny/', import.meta.url);
const NAMES = ['bert-1label', 'bert-3label-st6', 'xlmr-1label-identity', 'xlmr-2label-st6'];
const TOLERANCE = { cpu: 1e-5, webgpu: 1e-4 };
// SwiftShader is a CPU rasterizer: longer pairs are left to the native lavapipe test.
const WEBGPU_MAX_TOKENS = 256;
let harness;

before(async () => {
  harness = await openBrowser();
});
after(async () => harness?.close());

const runs = NAMES.flatMap((name) => [[name, 'cpu', false], [name, 'webgpu', false]]).concat([['bert-3label-st6', 'cpu', true]]);
for (const [name, backend, worker] of runs) {
  test(`${name} on ${backend}${worker ? ' in worker mode' : ''}: scores match CrossEncoder.predict`, async () => {
    const reference = JSON.parse(await readFile(new URL(`rerank-references/${name}.json`, TINY), 'utf8'));
    const keep = reference.cases.map((c, i) => i).filter((i) => backend === 'cpu' || reference.cases[i].ids.length <= WEBGPU_MAX_TOKENS);
    const result = await harness.page.evaluate(
      async ({ folder, pairs, backend, worker }) => {
        const { Reranker } = await import('/pkg/index.js');
        const reranker = await Reranker.load(folder, { backend, worker, cache: false });
        const scores = await reranker.score(pairs, { batchSize: 16 });
        const info = { backend: reranker.backend, numLabels: reranker.numLabels };
        await reranker.dispose();
        return { scores, ...info };
      },
      { folder: `/tests/fixtures/tiny/rerankers/${name}/`, pairs: keep.map((i) => reference.cases[i].pair), backend, worker },
    );
    assert.equal(result.backend, backend, 'stayed on the backend asked for');
    assert.equal(result.numLabels, reference.num_labels);
    let worst = 0;
    keep.forEach((caseIndex, i) => {
      const want = [reference.batched_scores[caseIndex]].flat();
      [result.scores[i]].flat().forEach((g, j) => (worst = Math.max(worst, Math.abs(g - want[j]))));
    });
    assert.ok(worst <= TOLERANCE[backend], `worst |difference| ${worst} over ${keep.length} pairs`);
  });
}

test('a reranked search in the page ranks the candidates by the reranker', async () => {
  const result = await harness.page.evaluate(async () => {
    const { Embedder, Reranker } = await import('/pkg/index.js');
    const model = await Embedder.load('/tests/fixtures/tiny/models/e5-small-v2-like/', { backend: 'cpu', cache: false });
    const reranker = await Reranker.load('/tests/fixtures/tiny/rerankers/bert-1label/', { backend: 'cpu', cache: false });
    const index = await model.openIndex('reranked-e2e', { storage: 'memory' });
    const texts = ['A man is eating food.', 'A man is eating a piece of bread.', 'The girl is carrying a baby.', 'A man is riding a horse.', 'How big is the sun?'];
    await index.add(texts.map((text, i) => ({ id: `d${i}`, text })));
    const hits = await index.search('A man eats', { k: 3, rerank: reranker });
    const direct = await reranker.score(hits.map((h) => ['A man eats', h.text]));
    await index.close();
    await Promise.all([model.dispose(), reranker.dispose()]);
    return { hits: hits.map((h) => ({ score: h.score, rerankScore: h.rerankScore })), direct };
  });
  assert.equal(result.hits.length, 3);
  result.hits.forEach((hit, i) => {
    assert.equal(hit.rerankScore, result.direct[i]);
    if (i > 0) assert.ok(result.hits[i - 1].score >= hit.score);
  });
});

test('no uncaught error reached the page', () => assert.deepEqual(harness.errors, []));
