// The published package, not the folder: `npm pack` of pkg/, installed into an empty project, then
// imported there by name in Node (the API, a model folder's embeddings against sentence-transformers,
// the CLI's bin, the exported .wasm paths). The Vite test bundles the same kind of install.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { installPacked } from '../packed.mjs';
import { cosine } from '../e2e/harness.mjs';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODEL = join(ROOT, 'tests/fixtures/tiny/models/e5-small-v2-like');
const reference = JSON.parse(await readFile(join(ROOT, 'tests/fixtures/tiny/references/e5-small-v2-like.json'), 'utf8'));
let packed;

before(async () => {
  packed = await installPacked();
});

async function filesUnder(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

test('the tarball holds every file of the built package', async () => {
  const built = (await filesUnder(join(ROOT, 'pkg'))).map((f) => relative(join(ROOT, 'pkg'), f));
  const missing = built.filter((f) => !packed.files.includes(f));
  assert.deepEqual(missing, [], `package.json's "files" leaves out: ${missing.join(', ')}`);
  for (const folder of ['core', 'loading', 'engine', 'search', 'shipped', 'workers', 'model', 'cli']) {
    assert.ok(packed.installed.includes(folder), `the install has no ${folder}/`);
  }
});

test('the installed package imports by name in Node and embeds as sentence-transformers does', async () => {
  const cases = reference.cases.filter((c) => c.prompt_name === null).slice(0, 6);
  const script = join(packed.project, 'embed.mjs');
  await writeFile(
    script,
    `import * as webembed from 'webembed';
const { Embedder } = webembed;
const model = await Embedder.load(${JSON.stringify(MODEL)}, { cache: false });
const vectors = await model.encode(${JSON.stringify(cases.map((c) => c.text))});
const ids = await model.tokenize(${JSON.stringify(cases[0].text)});
console.log(JSON.stringify({ exports: Object.keys(webembed).sort(), vectors: vectors.map((v) => Array.from(v)), ids,
  wasm: import.meta.resolve('webembed/webembed_bg.wasm'), relaxed: import.meta.resolve('webembed/webembed_relaxed_bg.wasm') }));
await model.dispose();
`,
  );
  const { stdout } = await run('node', [script], { cwd: packed.project });
  const result = JSON.parse(stdout);
  assert.deepEqual(result.exports, ['Embedder', 'OPFSCache', 'Reranker', 'SearchIndex', 'WebembedError', '_checkKernelsForTest']);
  assert.deepEqual(result.ids, cases[0].ids);
  for (const [i, c] of cases.entries()) {
    const cos = cosine(result.vectors[i], c.embedding);
    assert.ok(cos >= 0.99999, `cosine ${cos} for ${JSON.stringify(c.text)}`);
  }
  for (const url of [result.wasm, result.relaxed]) {
    assert.ok(fileURLToPath(url).startsWith(packed.packageDir), url);
    assert.ok((await readFile(fileURLToPath(url))).byteLength > 100_000, `${url} is a wasm binary`);
  }
});

test("the installed package's bin runs the CLI", async () => {
  const bin = join(packed.project, 'node_modules', '.bin', 'webembed');
  const failure = await run(bin, ['no-such-command'], { cwd: packed.project }).then(
    () => null,
    (error) => error,
  );
  assert.ok(failure, 'an unknown command fails');
  assert.equal(failure.code, 2);
  assert.match(failure.stderr, /usage: webembed quantize/);
});
