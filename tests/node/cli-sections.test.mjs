// `webembed index` cuts Markdown and reStructuredText at their headings as it cuts HTML, each
// section with a title field (page title › heading chain · path) the keyword side weighs; Sphinx
// definitions are sections named by their qualified names; JSONL takes a title; the manifest is
// version 2 and a version 1 index (no titles) still opens.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Embedder } from '../../pkg/index.js';
import { markdownSections, restSections } from '../../pkg/cli/text-sections.mjs';
import { htmlSections } from '../../pkg/cli/html-sections.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'pkg/cli/main.mjs');
const MODEL = join(ROOT, 'tests/fixtures/tiny/models/bge-cls-like');
const execFileAsync = promisify(execFile);

const MARKDOWN = `---
title: Field notes
---
Intro before any heading.

# Lighthouses

They guide ships.

## Keepers

Keepers trimmed the wicks every night.

\`\`\`sh
# not a heading: a comment in a fence
\`\`\`

### On islands

Island keepers rowed for supplies.

Setext heading
--------------

Under a setext heading.
`;

const REST = `:mod:\`binascii\` --- Convert between binary and ASCII
====================================================

.. module:: binascii
   :synopsis: Tools for converting between binary and ASCII.

The :mod:\`binascii\` module holds *low-level* functions; see \`\`a2b_*\`\`.

.. function:: a2b_hex(hexstr)

   Return the binary data represented by the hexadecimal string *hexstr*.

.. class:: Incremental(limit=None)

   A converter that keeps state.

   .. method:: feed(data)

      Feed more bytes.

Notes
-----

.. note::

   Text after a definition goes back to its section.

Older names
^^^^^^^^^^^

:func:\`a2b_hex\` was once called unhexlify.
`;

test('Markdown and reStructuredText sections, as the CLI reads them', () => {
  const md = markdownSections(MARKDOWN, 'notes/lighthouses.md');
  assert.deepEqual(md.map((d) => d.id), ['notes/lighthouses.md', 'notes/lighthouses.md#lighthouses', 'notes/lighthouses.md#keepers', 'notes/lighthouses.md#on-islands', 'notes/lighthouses.md#setext-heading']);
  assert.equal(md[3].title, 'Field notes › Lighthouses › Keepers › On islands · notes/lighthouses.md');
  assert.equal(md[4].title, 'Field notes › Lighthouses › Setext heading · notes/lighthouses.md');
  assert.match(md[2].text, /# not a heading: a comment in a fence/);
  assert.equal(md[3].text, 'On islands\n\nIsland keepers rowed for supplies.');

  const rst = restSections(REST, 'library/binascii.rst');
  assert.deepEqual(rst.map((d) => d.id), [
    'library/binascii.rst',
    'library/binascii.rst#binascii.a2b_hex',
    'library/binascii.rst#binascii.Incremental',
    'library/binascii.rst#notes',
    'library/binascii.rst#older-names',
  ]);
  const [page, hex, incremental, notes, older] = rst;
  assert.equal(page.metadata.title, 'binascii --- Convert between binary and ASCII');
  assert.match(page.text, /The binascii module holds low-level functions; see a2b_\*\./);
  assert.doesNotMatch(page.text, /synopsis|:mod:/);
  assert.equal(hex.title, 'binascii --- Convert between binary and ASCII › binascii.a2b_hex · library/binascii.rst');
  assert.match(hex.text, /^binascii\.a2b_hex\(hexstr\)/);
  assert.match(incremental.title, /binascii\.Incremental › binascii\.Incremental\.feed · /);
  assert.match(notes.text, /note: *\n+ *Text after a definition goes back to its section\./);
  assert.equal(older.title, 'binascii --- Convert between binary and ASCII › Notes › Older names · library/binascii.rst');

  // HTML: the heading chain in the title field too.
  const html = htmlSections('<title>Guide</title><main><h1 id="g">Guide</h1><p>Top.</p><section id="install"><h2>Install</h2><p>Steps.</p><h3 id="deb">On Debian</h3><p>apt.</p></section></main>', 'guide.html');
  assert.equal(html.find((d) => d.id === 'guide.html#deb').title, 'Guide › Install › On Debian · guide.html');
});

let work;
let model;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'webembed-sections-'));
  model = await Embedder.load(MODEL, { dtype: 'q8', cache: false, backend: 'cpu', threads: 1 });
});
after(async () => {
  await model?.dispose();
  await rm(work, { recursive: true, force: true });
});

async function index(name, files) {
  const site = join(work, `${name}-site`);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(site, path, '..'), { recursive: true });
    await writeFile(join(site, path), text);
  }
  const out = join(work, name);
  const { stdout } = await execFileAsync(process.execPath, [CLI, 'index', site, '--model', MODEL, '--out', out, '--threads', '1', '--cache', join(work, 'cache')]);
  return { out, stdout };
}

test('a shipped index of sections: the title field finds what only the page names, hits show their titles', async () => {
  const { out } = await index('sections', {
    'library/binascii.rst.txt': REST,
    'notes/lighthouses.md': MARKDOWN,
    'more.jsonl': `${JSON.stringify({ id: 'ferry', text: 'Boats leave hourly.', title: 'Harbour timetable › Ferries' })}\n`,
  });
  const manifest = JSON.parse(await readFile(join(out, 'webembed-index.json'), 'utf8'));
  assert.equal(manifest.version, 2);
  assert.deepEqual(manifest.keywords.title, { chunk: 2 ** 24 - 1, weight: 1 });
  // The tiny model's vocabulary is of many scripts: each text's own language's stopwords.
  assert.equal(manifest.keywords.language, 'auto');
  const shipped = await model.loadIndex(out);
  const [hex] = await shipped.search('binascii.a2b_hex', { mode: 'keyword' });
  assert.equal(hex.id, 'library/binascii.rst.txt#binascii.a2b_hex');
  assert.match(hex.title, /› binascii\.a2b_hex · library\/binascii\.rst\.txt$/);
  assert.equal(hex.chunk.index, 0);
  // Words only a title holds.
  assert.equal((await shipped.search('timetable', { mode: 'keyword' }))[0].id, 'ferry');
  assert.equal((await shipped.search('Field notes islands', { mode: 'keyword' }))[0].id, 'notes/lighthouses.md#on-islands');
  // The same scores as a browser index given the same documents and titles.
  const memory = await model.openIndex('sections-same', { storage: 'memory' });
  const { listInputs, readDocuments } = await import('../../pkg/cli/inputs.mjs');
  for (const input of await listInputs([join(work, 'sections-site')])) await memory.add((await readDocuments(input)).map(({ id, text, title }) => ({ id, text, title })));
  for (const query of ['binascii.a2b_hex', 'timetable', 'keepers islands']) {
    const [a, b] = [await shipped.search(query, { mode: 'keyword', k: 5 }), await memory.search(query, { mode: 'keyword', k: 5 })];
    assert.deepEqual(a.map((h) => [h.id, h.keywordScore.toFixed(4)]), b.map((h) => [h.id, h.keywordScore.toFixed(4)]), query);
  }
  await memory.close();
  await shipped.close();
});

test('a version 1 manifest (before titles) still opens; a later version is refused', async () => {
  const { out } = await index('untitled', { 'docs.jsonl': `${JSON.stringify({ id: 'a', text: 'The lighthouse keeper climbs the stairs.' })}\n${JSON.stringify({ id: 'b', text: 'Ferries cross the bay.' })}\n` });
  const path = join(out, 'webembed-index.json');
  const manifest = JSON.parse(await readFile(path, 'utf8'));
  assert.equal(manifest.keywords.title, undefined, 'no document has a title');
  await writeFile(path, JSON.stringify({ ...manifest, version: 1 }));
  const old = await model.loadIndex(out);
  assert.equal((await old.search('lighthouse', { mode: 'keyword' }))[0].id, 'a');
  assert.equal((await old.search('lighthouse'))[0].id, 'a');
  await old.close();
  await writeFile(path, JSON.stringify({ ...manifest, version: 5 }));
  await assert.rejects(model.loadIndex(out), (error) => error.code === 'E_INDEX' && /version 5.*versions 1, 2, 3 and 4/.test(error.message));
});

test('a JSONL title that is not one is a clear error naming the line', async () => {
  const site = join(work, 'bad-title');
  await mkdir(site, { recursive: true });
  await writeFile(join(site, 'docs.jsonl'), `${JSON.stringify({ id: 'a', text: 'x' })}\n${JSON.stringify({ id: 'b', text: 'y', title: 'z'.repeat(5000) })}\n`);
  const run = execFileAsync(process.execPath, [CLI, 'index', site, '--model', MODEL, '--out', join(work, 'bad-title-out'), '--threads', '1']);
  await assert.rejects(run, (error) => /docs\.jsonl:2: title must be a string of at most 4096 characters/.test(error.stderr));
});
