// The package imported through Vite: a tiny app (tests/vite-app) is built against the package as
// npm installs it from `npm pack`'s tarball (tests/packed.mjs), served, and run in Chromium, in the
// page and in worker mode: a file missing from the tarball fails the build or the run.

import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { build } from 'vite';

import { installPacked } from '../packed.mjs';
import { cosine, openBrowser } from './harness.mjs';

const ROOT = new URL('../../', import.meta.url);
const OUT = new URL('test-results/vite-dist/', ROOT);
const reference = JSON.parse(await readFile(new URL('tests/fixtures/all-MiniLM-L6-v2.json', ROOT), 'utf8'));
const probe = reference.cases.find((c) => c.text === 'A man is eating food.' && c.prompt === null);
let harness;

before(async () => {
  await rm(OUT, { recursive: true, force: true });
  const { packageDir } = await installPacked();
  await build({
    root: fileURLToPath(new URL('tests/vite-app/', ROOT)),
    base: '/test-results/vite-dist/',
    logLevel: 'warn',
    // The installed folder: Vite reads its package.json (exports) as it would in a user's app.
    resolve: { alias: { webembed: packageDir } },
    build: { outDir: fileURLToPath(OUT), emptyOutDir: true },
    worker: { format: 'es' },
  });
  harness = await openBrowser();
});
after(async () => harness?.close());

test('a Vite build of an app using webembed runs, in the page and in a worker', async () => {
  const { page, url } = harness;
  await page.goto(`${url}/test-results/vite-dist/`);
  await page.waitForSelector('body[data-done]', { timeout: 120_000 });
  const text = await page.textContent('#out');
  assert.equal(await page.getAttribute('body', 'data-done'), 'ok', text);
  const result = JSON.parse(text);
  assert.ok(cosine(result.inPage, probe.embedding) >= 0.99999);
  assert.ok(cosine(result.inWorker, probe.embedding) >= 0.99999);
  assert.deepEqual(harness.errors, []);
});
