// The cluster example end to end (examples/cluster/): the Ray Data job embeds the corpus with
// sentence-transformers in local mode and writes Parquet parts; those vectors are the ones
// webembed computes for the same texts (cosine ≥ 0.99999, f32 in Node); `webembed index --parquet`
// builds a shipped index of the parts; the example page, in Chromium, embeds each query with
// webembed (q8) and ranks the known document first; a page loading another model is refused by the
// manifest's probe check.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Embedder } from '../../pkg/index.js';
import { listParts, readParts } from '../../pkg/cli/parquet-parts.mjs';
import { cosine, openBrowser } from './harness.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = 'build/e2e-cluster';
const PYTHON = process.env.WEBEMBED_TORCH_PYTHON ?? `${process.env.HOME}/.cache/webembed/torch-venv/bin/python`;
const run = promisify(execFile);
let harness;

before(async () => {
  await rm(`${ROOT}${BUILD}`, { recursive: true, force: true });
  // 24 documents, at most 10 rows a part: three parts.
  await run(PYTHON, ['examples/cluster/embed_job.py', '--corpus', 'examples/cluster/corpus.jsonl', '--model', 'models/all-MiniLM-L6-v2', '--out', `${BUILD}/parts`, '--rows-per-part', '10'], { cwd: ROOT, timeout: 300_000 });
  await run('node', ['pkg/cli/main.mjs', 'index', '--parquet', `${BUILD}/parts`, '--model', 'models/all-MiniLM-L6-v2', '--model-name', 'sentence-transformers/all-MiniLM-L6-v2', '--out', `${BUILD}/index`, '--threads', '1'], { cwd: ROOT, timeout: 120_000 });
  harness = await openBrowser();
});
after(async () => {
  await harness?.close();
  await rm(`${ROOT}${BUILD}`, { recursive: true, force: true });
});

test('the Ray job writes parts whose vectors are the ones webembed computes for the same texts', async () => {
  const files = (await readdir(`${ROOT}${BUILD}/parts`)).filter((name) => name.endsWith('.parquet'));
  assert.equal(files.length, 3, files.join(', '));
  const { documents, vectors } = await readParts(await listParts(`${ROOT}${BUILD}/parts`), { dimension: 384 });
  assert.equal(documents.length, 24);
  const model = await Embedder.load(`${ROOT}models/all-MiniLM-L6-v2`);
  try {
    const ours = await model.encode(documents.map((doc) => doc.text));
    documents.forEach((doc, i) => {
      const theirs = vectors.subarray(i * 384, (i + 1) * 384);
      assert.ok(cosine(ours[i], theirs) >= 0.99999, `${doc.id}: cosine ${cosine(ours[i], theirs)}`);
    });
    assert.equal(documents.find((doc) => doc.id === 'tides').title, 'Tides');
    assert.deepEqual(documents.find((doc) => doc.id === 'tides').metadata, { topic: 'Tides', number: 2 });
  } finally {
    await model.dispose();
  }
});

test('the example page searches the index with queries webembed embeds: the known document first', async () => {
  const page = await harness.browser.newPage();
  try {
    await page.goto(`${harness.url}/examples/cluster/?index=/${BUILD}/index/`);
    await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
    assert.match(await page.textContent('#status'), /^24 documents, opened with \d+ KB$/);
    const known = [
      ['why does the sea rise and fall twice a day?', 'tides'],
      ['how do plants turn light into sugar', 'photosynthesis'],
      ['bread made with wild yeast', 'sourdough'],
      ['turning a website name into an address', 'dns'],
    ];
    for (const [query, id] of known) {
      await page.fill('#query', query);
      await page.waitForFunction((q) => document.getElementById('results').dataset.query === q, query);
      assert.equal(await page.getAttribute('#results li', 'data-id'), id, query);
    }
    assert.equal(await page.getAttribute('#results li a', 'href'), '/articles/dns.html');
    await page.goto(`${harness.url}/examples/cluster/?index=/${BUILD}/index/&model=/tests/fixtures/tiny/models/bge-cls-like/`);
    await page.waitForSelector('body[data-ready="error"]', { timeout: 60_000 });
    assert.match(await page.textContent('#status'), /^E_INDEX: this index was built by another model \("sentence-transformers\/all-MiniLM-L6-v2"\)/);
  } finally {
    await page.close();
  }
});
