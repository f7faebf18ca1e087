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

test('opted in, visited pages are indexed in the background and searched from the popup, offline', async () => {
  const pages = {
    'before.html': ['Lighthouse notes', 'The lighthouse keeper changes the lamp every spring before the storms arrive.'],
    'garden.html': ['Garden diary', 'Tomatoes need six hours of direct sun and deep watering twice a week.'],
    'trains.html': ['Train timetable', 'The last train to the coast leaves at 23:40 from platform 9 every weekday.'],
  };
  for (const [file, [title, text]] of Object.entries(pages)) {
    await writeFile(new URL(`test-results/${file}`, ROOT), `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><p>${text}</p></body></html>`);
  }
  // Visited before opting in: never indexed.
  const early = await context.newPage();
  await early.goto(`${server.url}/test-results/before.html`);

  const popup = await context.newPage();
  await popup.goto(`chrome-extension://${ID}/popup.html`);
  await popup.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  assert.equal(await popup.isChecked('#remember'), false, 'off until the user opts in');
  await popup.check('#remember');
  await popup.waitForFunction(() => chrome.storage.local.get('indexing').then(({ indexing }) => indexing === true));

  for (const file of ['garden.html', 'trains.html']) {
    const page = await context.newPage();
    await page.goto(`${server.url}/test-results/${file}`);
  }
  // The background index takes them in (the offscreen document loads its model first).
  let status;
  for (let i = 0; i < 120 && status?.size !== 2; i++) {
    await new Promise((done) => setTimeout(done, 1000));
    status = await popup.evaluate(async () => {
      try {
        await chrome.runtime.sendMessage({ type: 'webembed:start-background' });
        return await chrome.runtime.sendMessage({ target: 'offscreen', type: 'status' });
      } catch (error) {
        return { error: String(error) };
      }
    });
  }
  assert.equal(status?.size, 2, JSON.stringify(status));

  await context.setOffline(true);
  try {
    await popup.fill('#query', 'when does the last train leave?');
    await popup.press('#query', 'Enter');
    await popup.waitForSelector('#history li', { timeout: 60_000 });
    assert.equal(await popup.textContent('#history li .page'), 'Train timetable');
    const said = await popup.textContent('#history-status');
    console.log(`# extension background index: ${said}`);
    assert.match(said, /\(2 pages; cpu, q8, (shared-memory|worker-pool) ×2\)/);
  } finally {
    await context.setOffline(false);
  }
});
