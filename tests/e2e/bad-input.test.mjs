// Bad input and broken model folders give defined results or errors with stable codes, and the
// same Embedder keeps encoding correctly afterwards. No wasm panic reaches the page.

import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { cosine, MODEL_PATH, openBrowser } from './harness.mjs';

const ROOT = new URL('../../', import.meta.url);
const reference = JSON.parse(await readFile(new URL('tests/fixtures/all-MiniLM-L6-v2.json', ROOT), 'utf8'));
const probe = reference.cases.find((c) => c.text === 'A man is eating food.' && c.prompt === null);
const BROKEN = new URL('test-results/models/', ROOT);
const SMALL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'modules.json',
  'sentence_bert_config.json', 'config_sentence_transformers.json', '1_Pooling/config.json'];

let harness;

async function brokenFolder(name, edit) {
  const folder = new URL(`${name}/`, BROKEN);
  await mkdir(new URL('1_Pooling/', folder), { recursive: true });
  const model = new URL(`.${MODEL_PATH}`, ROOT);
  for (const file of SMALL_FILES) await copyFile(new URL(file, model), new URL(file, folder));
  await copyFile(new URL('model.safetensors', model), new URL('model.safetensors', folder));
  await edit(folder);
}

before(async () => {
  await rm(BROKEN, { recursive: true, force: true });
  await rm(new URL('test-results/hub/', ROOT), { recursive: true, force: true });
  await brokenFolder('truncated', async (folder) => {
    const bytes = await readFile(new URL('model.safetensors', folder));
    await writeFile(new URL('model.safetensors', folder), bytes.subarray(0, Math.floor(bytes.length / 2)));
  });
  await brokenFolder('html-config', (folder) =>
    writeFile(new URL('config.json', folder), '<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>'),
  );
  // A folder laid out like the hub's resolve URLs, to load a model by id against `hubUrl`.
  const hubFolder = new URL('test-results/hub/sentence-transformers/all-MiniLM-L6-v2/resolve/', ROOT);
  await mkdir(hubFolder, { recursive: true });
  await symlink(new URL(`.${MODEL_PATH}`, ROOT).pathname, new URL('v1.0', hubFolder).pathname);
  harness = await openBrowser();
  await harness.page.evaluate(async (path) => {
    const { Embedder } = await import('/pkg/index.js');
    globalThis.Embedder = Embedder;
    globalThis.model = await Embedder.load(path, { backend: 'cpu' });
    // Runs `action` and reports how it ended, as plain data.
    globalThis.outcome = async (action) => {
      try {
        const value = await action();
        return { ok: true, value: JSON.parse(JSON.stringify(value, (k, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v))) };
      } catch (error) {
        return { ok: false, isError: error instanceof Error, code: error.code, message: error.message };
      }
    };
  }, MODEL_PATH);
});
after(async () => harness?.close());

/** Runs `body` (a function source taking no arguments) in the page, through outcome(). */
function run(body, arg) {
  return harness.page.evaluate(({ body, arg }) => globalThis.outcome(() => new Function('arg', `return (${body})(arg)`)(arg)), { body, arg });
}

async function stillWorks() {
  const result = await run(`async () => (await model.encode(${JSON.stringify(probe.text)}))[0]`);
  assert.ok(result.ok, JSON.stringify(result));
  assert.ok(cosine(result.value, probe.embedding) >= 0.99999, 'the model still gives the reference vector');
}

function assertError(result, code, ...mentions) {
  assert.equal(result.ok, false, `expected an error, got ${JSON.stringify(result).slice(0, 200)}`);
  assert.equal(result.isError, true, 'an Error instance');
  assert.equal(result.code, code, result.message);
  for (const word of mentions) assert.ok(result.message.includes(word), `message names ${word}: ${result.message}`);
}

test('encode(42) is an E_INPUT error', async () => {
  assertError(await run('() => model.encode(42)'), 'E_INPUT', 'number');
  await stillWorks();
});

test('encode([null]) is an E_INPUT error naming the element', async () => {
  assertError(await run('() => model.encode(["fine", null])'), 'E_INPUT', 'texts[1]', 'null');
  await stillWorks();
});

test('an unpaired surrogate is encoded as U+FFFD', async () => {
  const result = await run(`async () => {
    const [lone, replaced] = await model.encode(['broken \\uD800 surrogate', 'broken \\uFFFD surrogate']);
    return { lone, replaced };
  }`);
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.value.lone, result.value.replaced);
  await stillWorks();
});

test('a 100 000-character text is truncated to maxSeqLength', async () => {
  const result = await run(`async () => {
    const long = 'semantic search '.repeat(6250);
    const [a, b] = await model.encode([long, 'semantic search '.repeat(200)]);
    return { length: long.length, ids: (await model.tokenize(long)).length, a, b };
  }`);
  assert.ok(result.ok, JSON.stringify(result).slice(0, 300));
  assert.equal(result.value.length, 100000);
  assert.equal(result.value.ids, 256);
  assert.ok(cosine(result.value.a, result.value.b) > 0.999999);
  await stillWorks();
});

test('an empty array gives an empty array', async () => {
  const result = await run('() => model.encode([])');
  assert.deepEqual(result, { ok: true, value: [] });
  await stillWorks();
});

test('a bad batchSize and an unknown promptName are E_INPUT errors', async () => {
  assertError(await run('() => model.encode("x", { batchSize: 0 })'), 'E_INPUT', 'batchSize');
  assertError(await run('() => model.encode("x", { promptName: "query" })'), 'E_INPUT', 'query');
  await stillWorks();
});

test('a missing model folder (404) is an E_FETCH error naming the URL', async () => {
  assertError(await run('() => Embedder.load("/models/no-such-model/")'), 'E_FETCH', '/models/no-such-model/config.json', '404');
  await stillWorks();
});

test('a truncated model.safetensors is refused at download (E_WEIGHTS naming the URL)', async () => {
  assertError(await run('() => Embedder.load("/test-results/models/truncated/")'), 'E_WEIGHTS', '/test-results/models/truncated/model.safetensors', 'not a complete safetensors file');
  await stillWorks();
});

test('a config.json that is HTML is an E_CONFIG error naming the file', async () => {
  assertError(await run('() => Embedder.load("/test-results/models/html-config/")'), 'E_CONFIG', 'config.json', 'HTML');
  await stillWorks();
});

test('a Hugging Face id resolves to {hubUrl}/{id}/resolve/{revision}/', async () => {
  const loaded = await run(`async (hub) => {
    const byId = await Embedder.load('sentence-transformers/all-MiniLM-L6-v2', { hubUrl: hub, revision: 'v1.0' });
    const [vector] = await byId.encode(${JSON.stringify(probe.text)});
    await byId.dispose();
    return { url: byId.url, vector };
  }`, `${harness.url}/test-results/hub`);
  assert.ok(loaded.ok, JSON.stringify(loaded).slice(0, 300));
  assert.equal(loaded.value.url, `${harness.url}/test-results/hub/sentence-transformers/all-MiniLM-L6-v2/resolve/v1.0/`);
  assert.ok(cosine(loaded.value.vector, probe.embedding) >= 0.99999);
  // Without hubUrl the id goes to huggingface.co; the test answers those requests itself with
  // 404s, so nothing leaves the machine, and checks where they went.
  const requested = [];
  await harness.page.route('https://huggingface.co/**', (route) => {
    requested.push(route.request().url());
    return route.fulfill({ status: 404, body: 'not here' });
  });
  const offline = await run(`() => Embedder.load('intfloat/e5-small-v2')`);
  await harness.page.unroute('https://huggingface.co/**');
  assertError(offline, 'E_FETCH', 'https://huggingface.co/intfloat/e5-small-v2/resolve/main/config.json', '404');
  assert.ok(requested.includes('https://huggingface.co/intfloat/e5-small-v2/resolve/main/config.json'), requested.join(', '));
});

test('a bad model source is an E_INPUT error', async () => {
  assertError(await run('() => Embedder.load("not a model")'), 'E_INPUT', 'not a model');
  assertError(await run('() => Embedder.load(null)'), 'E_INPUT');
});

test('a wasm panic becomes E_INTERNAL and the same Embedder recovers', async () => {
  assertError(await run('() => model._crashForTest()'), 'E_INTERNAL', 'deliberate panic');
  await stillWorks();
});

test('after dispose() calls fail with E_DISPOSED and a fresh load works', async () => {
  const result = await run(`async () => {
    const other = await Embedder.load(${JSON.stringify(MODEL_PATH)});
    await other.dispose();
    try { await other.encode('x'); return 'no error'; } catch (error) { return error.code; }
  }`);
  assert.deepEqual(result, { ok: true, value: 'E_DISPOSED' });
  await stillWorks();
});

test('no uncaught error or crash reached the page', () => {
  assert.deepEqual(harness.errors, []);
});
