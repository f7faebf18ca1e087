// The example MV3 extension (www/extension): loaded into Chromium with --load-extension, its
// popup embeds the paragraphs of an open page and answers a query, with the network cut off.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { startServer } from '../../scripts/serve.mjs';
import { CHROMIUM_ARGS } from './harness.mjs';

const ROOT = new URL('../../', import.meta.url);
const EXTENSION = fileURLToPath(new URL('build/extension', ROOT));
const ID = (await readFile(new URL('www/extension/EXTENSION_ID', ROOT), 'utf8')).trim();
let server;
let context;
let profile;

before(async () => {
  execFileSync('bash', [fileURLToPath(new URL('scripts/build-extension.sh', ROOT))], { stdio: 'inherit' });
  await mkdir(new URL('test-results/', ROOT), { recursive: true });
  await writeFile(
    new URL('test-results/article.html', ROOT),
    `<!doctype html><html><head><meta charset="utf-8"><title>Article</title></head><body>
      <p>The Sun is the star at the centre of the Solar System; its surface is about 5,500 degrees Celsius.</p>
      <p>Sourdough bread rises thanks to wild yeast and lactic acid bacteria living in the starter.</p>
      <p>The French Revolution began in 1789 and ended the absolute monarchy in France.</p>
      <p>Cats spend up to sixteen hours a day sleeping, more than most other mammals.</p>
    </body></html>`,
  );
  server = await startServer();
  profile = await mkdtemp(join(tmpdir(), 'webembed-ext-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, `--disable-extensions-except=${EXTENSION}`, `--load-extension=${EXTENSION}`],
  });
});
after(async () => {
  await context?.close();
  await new Promise((done) => server?.server.close(done));
  await rm(profile, { recursive: true, force: true });
});

test('the popup searches the open page offline, with no remote code', async () => {
  const article = await context.newPage();
  await article.goto(`${server.url}/test-results/article.html`);
  await context.setOffline(true); // the model is bundled: nothing may need the network now
  const popup = await context.newPage();
  const errors = [];
  popup.on('pageerror', (error) => errors.push(String(error)));
  await popup.goto(`chrome-extension://${ID}/popup.html`);
  await popup.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  // The bundled model is the q8 file alone, and q8 is what ran, on two threads sharing one
  // engine's memory (the manifest's COOP/COEP keys isolate the popup).
  assert.match(await popup.textContent('#status'), /4 paragraphs indexed \(cpu, q8, relaxed-simd, shared-memory ×2\)/);
  assert.equal(await popup.evaluate(() => crossOriginIsolated), true);
  const bundled = await readdir(join(EXTENSION, 'model'));
  assert.ok(bundled.includes('model.q8.safetensors') && !bundled.includes('model.safetensors'), bundled.join(', '));
  const megabytes = (await stat(join(EXTENSION, 'model', 'model.q8.safetensors'))).size / 1e6;
  console.log(`# extension: bundled model.q8.safetensors ${megabytes.toFixed(1)} MB; popup says ${JSON.stringify(await popup.textContent('#status'))}`);
  assert.ok(megabytes < 25, `${megabytes} MB`);
  await popup.fill('#query', 'how do you make bread rise?');
  await popup.press('#query', 'Enter');
  await popup.waitForSelector('#results li');
  assert.match(await popup.textContent('#results li .text'), /^Sourdough bread/);
  await context.setOffline(false);
  assert.deepEqual(errors, []);
});
