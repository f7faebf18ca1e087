// Search quality 2 in Node: stopwords (no score, no highlight, unless the query is nothing else),
// the analyzer's default by model, documents' title fields (weighed beside the text, kept,
// exported, refused when not a title), an index of format 1 still opening, reStructuredText
// definitions naming their section, and fusion where a weak keyword match cannot take over.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Embedder } from '../../pkg/index.js';
import { PASSAGES } from '../../www/passages.js';
import { defaultChunkTokens } from '../../pkg/core/input.js';

const ROOT = new URL('../../', import.meta.url);
const MINILM = fileURLToPath(new URL('models/all-MiniLM-L6-v2/', ROOT));
const MULTILINGUAL = fileURLToPath(new URL('tests/fixtures/tiny/models/multilingual-e5-small-like/', ROOT));

const model = await Embedder.load(MINILM, { dtype: 'q8' });
const codeOf = async (promise) => promise.then(() => 'resolved', (error) => error.code);
const marked = (hit) => hit.highlights.map(({ start, end }) => hit.text.slice(start, end).toLowerCase());
/** English function words (a few of Snowball's): none may be marked or decide a hit. */
const FUNCTION_WORDS = new Set(['a', 'an', 'the', 'is', 'of', 'to', 'in', 'how', 'what', 'do', 'i', 'it', 'for', 'and', 'or', 'be', 'not', 'on', 'at', 'are', 'does', 'which', 'when', 'where', 'why', 'who', 'that', 'this', 'can', 'there']);

test('stopwords add no score and no highlight, unless the query is nothing but stopwords', async () => {
  const index = await model.openIndex('fields-stopwords', { storage: 'memory' });
  await index.add([
    { id: 'hamlet', text: 'To be, or not to be, that is the question.' },
    { id: 'band', text: 'The Who played loud rock in the sixties.' },
    { id: 'cat', text: 'A cat sleeps on a mat in a warm room.' },
    { id: 'dog', text: 'Dogs bark at the mail carrier.' },
  ]);
  const keyword = await index.search('what is a cat doing?', { mode: 'keyword' });
  assert.deepEqual(keyword.map((hit) => hit.id), ['cat']);
  assert.deepEqual(marked(keyword[0]), ['cat']);
  // Nothing but stopwords: they count, and find their documents.
  assert.equal((await index.search('to be or not to be', { mode: 'keyword' }))[0].id, 'hamlet');
  assert.equal((await index.search('The Who', { mode: 'keyword' }))[0].id, 'band');
  // A query sharing only function words with every document has no keyword side at all.
  const hybrid = await index.search('is it at the?', { mode: 'keyword' });
  assert.ok(hybrid.length >= 1, 'an all-stopword query still searches');
  assert.deepEqual(await index.search('where is a the of', { k: 4, mode: 'hybrid' }).then((hits) => hits.length), 4);
  await index.close();
});

test("the demo's notes and natural questions: hybrid's top 3 within semantic's top 5, no function word marked", async () => {
  const index = await model.openIndex('fields-demo', { storage: 'memory' });
  await index.add(PASSAGES.map((text, i) => ({ id: `sample-${i}`, text })));
  const questions = [
    'how hot is the surface of the sun?',
    'what do plants need to make their food?',
    'which is the highest mountain in the world?',
    'how long does a cat sleep each day?',
    'what is a good language for beginners to learn?',
    'when did the revolution in France start?',
    'how does a vaccine protect you?',
    'what is the best way to keep my heart healthy?',
    'how is an espresso made?',
    'can a browser run code written in Rust?',
    'what is a digital currency?',
    'is there a wall you can see across China?',
  ];
  for (const question of questions) {
    const semantic = (await index.search(question, { k: 5, mode: 'semantic' })).map((hit) => hit.id);
    const hybrid = await index.search(question, { k: 3 });
    for (const hit of hybrid) {
      assert.ok(semantic.includes(hit.id), `${question}: ${hit.id} (fused ${hit.score}, cosine ${hit.semanticScore}, BM25 ${hit.keywordScore}) is not in semantic's top 5 ${semantic}`);
      const words = marked(hit).filter((word) => FUNCTION_WORDS.has(word));
      assert.deepEqual(words, [], `${question}: ${hit.id} marks ${words}`);
    }
    assert.equal(hybrid[0].id, semantic[0], question);
    for (let i = 1; i < hybrid.length; i++) assert.ok(hybrid[i - 1].score >= hybrid[i].score, `${question}: ordered by the score each hit shows`);
  }
  await index.close();
});

test('the analyzer follows the model: English for an English one, each text its own language for a multilingual one', async () => {
  const english = await model.openIndex('fields-english', { storage: 'memory' });
  assert.deepEqual(english.settings.keywords, { language: 'english', k1: 1.2, b: 0.5 });
  assert.equal(model.vocabSize, 30_522);
  assert.equal(model.multilingual, false);
  await english.close();
  // Asked for: none at all, as before.
  const plain = await model.openIndex('fields-plain', { storage: 'memory', language: null });
  await plain.add([{ id: 'a', text: 'a cat' }]);
  assert.deepEqual(marked((await plain.search('a cat', { mode: 'keyword' }))[0]), ['a', 'cat']);
  await plain.close();

  const multilingual = await Embedder.load(MULTILINGUAL);
  // A tiny vocabulary (1 202 tokens), but of many scripts.
  assert.equal(multilingual.multilingual, true);
  const index = await multilingual.openIndex('fields-auto', { storage: 'memory' });
  assert.equal(index.settings.keywords.language, 'auto');
  await index.add([
    { id: 'de', text: 'Die Katze schläft auf dem Sofa, und der Hund wartet vor der Tür.' },
    { id: 'en', text: 'The plants die in the winter when the frost comes.' },
    { id: 'fr', text: 'Le chat dort sur le canapé pendant que le chien attend.' },
  ]);
  // German's "die" is a stopword in a German text; English's verb "die" is a word.
  const [hit] = await index.search('die Katze', { mode: 'keyword' });
  assert.equal(hit.id, 'de');
  assert.deepEqual(marked(hit), ['katze']);
  assert.deepEqual((await index.search('plants die', { mode: 'keyword' })).map((h) => h.id), ['en']);
  assert.deepEqual(marked((await index.search('le chat', { mode: 'keyword' }))[0]), ['chat']);
  await index.close();
  await multilingual.dispose();

  // A long-context model's index cuts chunks of at most 512 tokens unless asked.
  assert.equal(defaultChunkTokens(8192), 512);
  assert.equal(defaultChunkTokens(256), 256);
});

test('a title field counts beside the text, is kept and exported, and a bad one is refused', async () => {
  const index = await model.openIndex('fields-titles', { storage: 'memory' });
  await index.add([
    { id: 'hex', text: 'a2b_hex(hexstr) converts hexadecimal to binary data. Also called unhexlify.', title: 'binascii — Convert between binary and ASCII › Functions · library/binascii' },
    { id: 'mention', text: 'The a2b_hex function has a twin in the codecs module, a2b_hex again.', title: 'codecs — Codec registry · library/codecs' },
    { id: 'untitled', text: 'Binary data and hexadecimal strings are converted by several modules.' },
  ]);
  // `binascii.a2b_hex`: the text never spells it; the title holds the module.
  assert.equal((await index.search('binascii.a2b_hex', { mode: 'keyword' }))[0].id, 'hex');
  assert.equal((await index.search('binascii.a2b_hex'))[0].id, 'hex');
  // A word only the title holds finds the document; the hit shows its title and a chunk of its text.
  const [byTitle] = await index.search('ASCII', { mode: 'keyword' });
  assert.equal(byTitle.id, 'hex');
  assert.equal(byTitle.title, 'binascii — Convert between binary and ASCII › Functions · library/binascii');
  assert.equal(byTitle.chunk.index, 0);
  assert.equal(index.get('hex').title, byTitle.title);
  assert.equal(index.get('untitled').title, null);
  // The title is not embedded: the cosine is the text's alone.
  const [vector] = await model.encode(['a2b_hex(hexstr) converts hexadecimal to binary data. Also called unhexlify.']);
  const [query] = await model.encode(['hexadecimal']);
  const [semantic] = (await index.search('hexadecimal', { mode: 'semantic', k: 3 })).filter((hit) => hit.id === 'hex');
  const cosine = vector.reduce((sum, x, i) => sum + x * query[i], 0);
  assert.ok(Math.abs(semantic.semanticScore - cosine) < 1e-3, `${semantic.semanticScore} vs ${cosine}`);

  // Kept through export and import, replaced with the document.
  const copy = await model.importIndex(await index.export(), { name: 'fields-titles-copy', storage: 'memory' });
  assert.equal(copy.get('hex').title, index.get('hex').title);
  assert.equal((await copy.search('ASCII', { mode: 'keyword' }))[0].id, 'hex');
  await index.add([{ id: 'hex', text: 'a2b_hex(hexstr) converts hexadecimal to binary data.' }]);
  assert.equal(index.get('hex').title, null);
  assert.deepEqual(await index.search('ASCII', { mode: 'keyword' }), []);

  for (const [what, title] of [['a number', 42], ['a list', ['a']], ['over 4096 characters', 'x'.repeat(4097)]]) {
    assert.equal(await codeOf(index.add([{ id: 'bad', text: 'x', title }])), 'E_INPUT', what);
  }
  assert.equal(index.has('bad'), false);
  // Blank is none; control characters and prototype-looking words are text like any other.
  await index.add([
    { id: 'blank', text: 'nothing here', title: '   ' },
    { id: 'odd', text: 'odd title', title: 'tab\there\u0000nul __proto__ constructor \u202eright-to-left' },
  ]);
  assert.equal(index.get('blank').title, null);
  assert.deepEqual((await index.search('__proto__', { mode: 'keyword' })).map((hit) => hit.id), ['odd']);
  assert.deepEqual((await index.search('constructor', { mode: 'keyword' })).map((hit) => hit.id), ['odd']);
  assert.equal((await index.search('hexadecimal', { k: 1 })).length, 1, 'still answers after the refusals');
  await Promise.all([index.close(), copy.close()]);
});

test('an index of format 1 (before titles) still opens, and is written as format 2 from its next change', async () => {
  const index = await model.openIndex('fields-format', { storage: 'memory' });
  await index.add([{ id: 'a', text: 'The lighthouse keeper climbs the stairs.' }, { id: 'b', text: 'Ferries cross the bay.' }]);
  const exported = Buffer.from(await index.export());
  await index.close();
  // The export as version 1 of webembed wrote it: format 1, documents without titles.
  const at = 'WEBEMBEDINDEX'.length;
  const length = exported.readUInt32LE(at);
  const header = JSON.parse(exported.subarray(at + 4, at + 4 + length).toString('utf8'));
  assert.equal(header.meta.format, 2);
  header.meta.format = 1;
  const json = Buffer.from(JSON.stringify(header));
  const align = (n) => (n + 3) & ~3;
  const old = Buffer.alloc(align(at + 4 + json.length) + exported.length - align(at + 4 + length));
  exported.copy(old, 0, 0, at);
  old.writeUInt32LE(json.length, at);
  json.copy(old, at + 4);
  exported.copy(old, align(at + 4 + json.length), align(at + 4 + length));

  const opened = await model.importIndex(old, { name: 'fields-format-old', storage: 'memory' });
  assert.equal((await opened.search('lighthouse', { mode: 'keyword' }))[0].id, 'a');
  await opened.add([{ id: 'c', text: 'A titled note.', title: 'Harbour notes' }]);
  const again = Buffer.from(await opened.export());
  const headerAgain = JSON.parse(again.subarray(at + 4, at + 4 + again.readUInt32LE(at)).toString('utf8'));
  assert.equal(headerAgain.meta.format, 2);
  // A format this version does not know is refused, naming both.
  header.meta.format = 3;
  const future = Buffer.from(JSON.stringify(header));
  const newer = Buffer.alloc(align(at + 4 + future.length) + exported.length - align(at + 4 + length));
  exported.copy(newer, 0, 0, at);
  newer.writeUInt32LE(future.length, at);
  future.copy(newer, at + 4);
  exported.copy(newer, align(at + 4 + future.length), align(at + 4 + length));
  await assert.rejects(model.importIndex(newer, { name: 'fields-format-new', storage: 'memory' }), (error) => error.code === 'E_INDEX' && /format 3.*formats 1 and 2/.test(error.message));
  await opened.close();
});

test('reStructuredText definitions name their section: the one defining a name outranks the ones mentioning it', async () => {
  const index = await model.openIndex('fields-rest', { storage: 'memory' });
  await index.add([
    { id: 'mentions', text: 'See :func:`unhexlify` and :func:`a2b_hex`; a2b_hex is the older name, and a2b_hex accepts str.', title: 'binascii › Notes · library/binascii' },
    { id: 'defines', text: 'Functions\n\n.. function:: a2b_hex(hexstr)\n\n   Return the binary data represented by the hexadecimal string.\n\n.. class:: Context(prec=None)\n\n   .. method:: multiply(x, y)\n\n      Multiply two numbers.', title: 'binascii › Functions · library/binascii' },
  ]);
  assert.deepEqual((await index.search('binascii.a2b_hex', { mode: 'keyword' })).map((hit) => hit.id), ['defines', 'mentions']);
  // A method is named with its class, as a query qualifies it.
  assert.equal((await index.search('decimal.Context.multiply', { mode: 'keyword' }))[0].id, 'defines');
  await index.close();
});

test("fusion: a weak keyword match does not become the top keyword score, and the hit's score is its fused score", async () => {
  const index = await model.openIndex('fields-fusion', { storage: 'memory' });
  await index.add([
    { id: 'near', text: 'Bread rises because yeast ferments the sugars in the dough.' },
    { id: 'lexical', text: 'The rising tide covers the beach twice a day.' },
    { id: 'far', text: 'Tax returns are due at the end of April.' },
  ]);
  const query = 'why does dough get bigger when it is left to rise';
  const hits = await index.search(query, { k: 3 });
  assert.equal(hits[0].id, 'near');
  const lexical = hits.find((hit) => hit.id === 'lexical');
  // 'rise' is lexical's only shared word: a small share of the query, not the whole keyword weight.
  const bound = index._keywordBoundForBench(query);
  assert.ok(lexical.keywordScore > 0 && lexical.keywordScore < bound / 3, `${lexical.keywordScore} of ${bound}`);
  assert.ok(Math.abs(lexical.score - (0.85 * lexical.semanticScore + 0.15 * Math.sqrt(lexical.keywordScore / bound))) < 1e-5);
  // RRF and explicit weights stay options.
  assert.equal((await index.search(query, { fusion: { method: 'rrf' } }))[0].id, 'near');
  assert.equal((await index.search(query, { fusion: { method: 'weighted', weight: 0 } }))[0].id, hits.filter((h) => h.keywordScore > 0).sort((a, b) => b.keywordScore - a.keywordScore)[0].id);
  await index.close();
});
