// Hostile index records and calls, table-driven: every damaged export is E_INDEX naming the
// document or field (and nothing is stored), a throwing filter reaches its caller, calls on one
// index take effect in the order they were made, and the index answers after each case.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Embedder } from '../../pkg/index.js';
import { decodeRecord, encodeRecord } from '../../pkg/search/storage.js';

const TINY = fileURLToPath(new URL('../../tests/fixtures/tiny/models/e5-small-v2-like/', import.meta.url));
const MAGIC = new TextEncoder().encode('WEBEMBEDINDEX');
const DOCUMENTS = [
  { id: 'a', text: 'apple pie recipe with cinnamon', metadata: { kind: 'food' } },
  { id: 'b', text: 'the orbit of the moon around the earth', metadata: { kind: 'space' } },
  { id: 'c', text: 'sourdough bread and wild yeast', metadata: { kind: 'food' } },
];

const model = await Embedder.load(TINY, { backend: 'cpu' });

/** The export's header and parts, to change and encode again. */
function unpack(buffer) {
  const { header, take } = decodeRecord(new Uint8Array(buffer), MAGIC.length, (why) => new Error(why));
  const parts = header.segments.flatMap((s) => {
    const [values, scales, floats, exactValues, exactScales] = s.sizes;
    return [take(Int8Array, values), take(Float32Array, scales), take(Float32Array, floats), take(Int16Array, exactValues), take(Float32Array, exactScales)];
  });
  return { header, parts };
}

const pack = ({ header, parts }) => encodeRecord(MAGIC, header, parts).buffer;

test('importIndex refuses every damaged record with E_INDEX naming what is wrong, and stores nothing', async () => {
  const index = await model.openIndex('hostile-source', { storage: 'memory' });
  await index.add(DOCUMENTS);
  const good = await index.export();
  const doc = (h, i) => h.segments[0].docs[i];
  const cases = [
    ['a span past the end of the text', (x) => (doc(x.header, 0).spans = [0, 999]), /document "a": chunk 0 spans 0\.\.999/],
    ['a negative span', (x) => (doc(x.header, 0).spans = [-4, 10]), /document "a": spans/],
    ['spans of odd length', (x) => (doc(x.header, 1).spans = [0, 5, 9]), /document "b": spans/],
    ['a span that ends before it starts', (x) => (doc(x.header, 1).spans = [9, 5]), /document "b": chunk 0/],
    ['two documents with one id', (x) => (doc(x.header, 2).id = 'a'), /document "a" appears twice/],
    ['an id that is an object', (x) => (doc(x.header, 1).id = { nested: true }), /document 1 has id an object/],
    ['an empty id', (x) => (doc(x.header, 1).id = ''), /document 1 has id/],
    ['a text that is a number', (x) => (doc(x.header, 2).text = 42), /document "c": text is number 42/],
    ['docs that are not a list', (x) => (x.header.segments[0].docs = 'abc'), /docs is not a list/],
    ['row counts that do not match', (x) => (x.header.segments[0].rowCounts = [1, 1]), /rowCounts is not one count per document/],
    ['more vectors than chunks', (x) => (x.header.segments[0].rowCounts = [2, 1, 1]), /document "a": 1 chunks but 2 vectors|values holds/],
    ['a NaN scale', (x) => x.parts[1].fill(NaN), /scale 0 is NaN, not a finite non-negative number/],
    ['a negative scale', (x) => (x.parts[1][2] = -1), /scale 2 is -1/],
    ['a NaN exact scale', (x) => x.parts[4].fill(NaN), /exact scale 0/],
    ['a dimension that is a string', (x) => (x.header.meta.model.dimension = '384'), /model\.dimension "384"/],
    ['an unknown vector kind', (x) => (x.header.meta.vectors = 'int4'), /vectors "int4"/],
    ['segments that are not a list', (x) => (x.header.segments = {}), /segments are not a list/],
    ['a segment key that repeats', (x) => x.header.segments.push(structuredClone(x.header.segments[0])), /segment 0 appears twice|cut off/],
  ];
  for (const [what, change, message] of cases) {
    const damaged = unpack(good);
    change(damaged);
    const error = await model.importIndex(pack(damaged), { name: 'hostile-copy', storage: 'memory' }).then(
      () => null,
      (e) => e,
    );
    assert.ok(error, `${what}: imported`);
    assert.equal(error.code, 'E_INDEX', `${what}: ${error.code} ${error.message}`);
    assert.match(error.message, message, what);
    // Nothing of the bad file was stored: the name opens empty.
    const left = await model.openIndex('hostile-copy', { storage: 'memory' });
    assert.equal(left.size, 0, `${what}: stored`);
    await left.close();
  }
  // The source index and a clean import still work after every case.
  const copy = await model.importIndex(good, { name: 'hostile-copy', storage: 'memory' });
  assert.equal(copy.size, 3);
  assert.deepEqual(await copy.search('moon orbit', { k: 3 }), await index.search('moon orbit', { k: 3 }));
  await Promise.all([index.close(), copy.close()]);
});

test("a filter that throws reaches the caller as E_INPUT with its error as cause; the index still answers", async () => {
  const index = await model.openIndex('hostile-filter', { storage: 'memory' });
  await index.add(DOCUMENTS);
  const thrown = new RangeError('my filter broke');
  const error = await index.search('bread', { filter: () => { throw thrown; } }).catch((e) => e);
  assert.equal(error.code, 'E_INPUT');
  assert.equal(error.cause, thrown);
  assert.match(error.message, /filter threw .*my filter broke/);
  assert.equal((await index.search('sourdough bread', { k: 1 }))[0].id, 'c');
  await index.close();
});

test('calls on one index take effect in the order they were made', async () => {
  const index = await model.openIndex('hostile-order', { storage: 'memory' });
  const many = Array.from({ length: 40 }, (_, i) => ({ id: `cat-${i}`, text: `cats and kittens, note ${i}` }));
  // Issued in one tick: the search must see the add before it.
  const added = index.add(many);
  const found = index.search('cats', { k: 5 });
  await added;
  assert.equal((await found).length, 5, 'a search made after an add sees it');
  // A replacing add, then a search: the replacement is what the search finds.
  const replaced = index.add([{ id: 'cat-0', text: 'a red bicycle', metadata: { v: 2 } }]);
  const after = index.search('a red bicycle', { k: 1 });
  await replaced;
  assert.deepEqual((await after).map((h) => [h.id, h.metadata]), [['cat-0', { v: 2 }]]);
  // An add made after a remove wins; a remove made after an add removes it.
  const removed = index.remove('cat-1');
  const readded = index.add([{ id: 'cat-1', text: 'back again' }]);
  assert.equal(await removed, 1);
  await readded;
  assert.ok(index.has('cat-1'));
  const added2 = index.add([{ id: 'late', text: 'late note' }]);
  const removed2 = index.remove(['late']);
  await added2;
  assert.equal(await removed2, 1);
  assert.ok(!index.has('late'));
  // A call that fails does not stop the ones after it.
  const failed = index.add([{ id: 'x', text: 'x', metadata: { f: () => 1 } }]).catch((e) => e.code);
  const next = index.search('kittens', { k: 1 });
  assert.equal(await failed, 'E_INPUT');
  assert.equal((await next).length, 1);
  assert.equal(index.size, 40);
  await index.close();
});

test('the index keeps working in order across many interleaved calls', async () => {
  const index = await model.openIndex('hostile-interleave', { storage: 'memory' });
  const calls = [];
  for (let i = 0; i < 10; i++) {
    calls.push(index.add([{ id: `d${i}`, text: `document number ${i}` }]));
    calls.push(index.search('document', { k: 20 }).then((hits) => hits.length));
  }
  const results = await Promise.all(calls);
  // The i-th search sees exactly the i + 1 documents added before it.
  assert.deepEqual(results.filter((r) => typeof r === 'number'), Array.from({ length: 10 }, (_, i) => i + 1));
  await index.close();
});

test.after(() => model.dispose());
