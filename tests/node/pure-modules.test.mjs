// The package's pure modules, unit-tested in Node straight from pkg-template/ (no wasm, no
// browser): safetensors layout checks, model-source resolution, input checks and similarity.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { resolveModelUrl } from '../../pkg-template/loading/hub.js';
import { checkBatchSize, checkPromptOptions, checkText, normalizeTexts } from '../../pkg-template/core/input.js';
import { checkSafetensors, streamInto, tensors } from '../../pkg-template/loading/safetensors.js';
import { similarity } from '../../pkg-template/core/similarity.js';

/** A safetensors file from { name: { dtype, shape, values: TypedArray } }, data 8-byte aligned. */
function safetensors(entries, { headerPad = 0, tail = 0 } = {}) {
  const header = {};
  const parts = [];
  let offset = 0;
  for (const [name, { dtype, shape, values }] of Object.entries(entries)) {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + headerPad) % 8)) % 8 + headerPad);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + offset + tail);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

const codeOf = (fn) => {
  try {
    fn();
  } catch (error) {
    return error.code;
  }
  return 'no error';
};

test('safetensors: tensors come out with their names, shapes and bytes', () => {
  const file = safetensors({
    a: { dtype: 'F32', shape: [2, 2], values: new Float32Array([1, 2, 3, 4]) },
    b: { dtype: 'F16', shape: [3], values: new Uint16Array([0x3c00, 0x4000, 0x4200]) },
    position_ids: { dtype: 'I64', shape: [1], values: new BigInt64Array([7n]) },
  });
  const seen = [...tensors(file, 'model.safetensors')].map((t) => [t.name, t.dtype, t.shape, t.data.byteLength]);
  assert.deepEqual(seen, [['a', 'F32', [2, 2], 16], ['b', 'F16', [3], 6], ['position_ids', 'I64', [1], 8]]);
  const calls = [];
  const loader = {
    addTensorRows: (n, s, first, v) => calls.push([n, first, Array.from(v)]),
    addTensorHalfRows: (n, s, first, w, bf) => calls.push([n, first, Array.from(w), bf]),
    addTensorI8: (n, s, v) => calls.push([n, Array.from(v)]),
    addTensorIndices: (n, s, v) => calls.push([n, 'indices', Array.from(v)]),
    acceptQ8Metadata: (f, json) => calls.push(['metadata', f, JSON.parse(json)]),
  };
  streamInto(loader, file, 'model.safetensors');
  // Integer tensors go over as indices (a model2vec token mapping; the engine leaves `position_ids` unused).
  assert.deepEqual(calls, [['a', 0, [1, 2, 3, 4]], ['b', 0, [0x3c00, 0x4000, 0x4200], false], ['position_ids', 'indices', [7]]]);
  const wide = safetensors({ mapping: { dtype: 'I64', shape: [1], values: new BigInt64Array([1n << 40n]) } });
  assert.throws(() => streamInto(loader, wide, 'model.safetensors'), (e) => e.code === 'E_WEIGHTS' && /mapping holds 1099511627776, beyond 32 bits/.test(e.message));

  // A q8 file: its metadata is handed over before any int8 tensor; large tensors go in row blocks.
  calls.length = 0;
  const rows = 70_000; // 70 000 × 16 f32 = 4.5 MB: two blocks of at most 4 MiB
  const q8 = safetensors({
    big: { dtype: 'F32', shape: [rows, 16], values: new Float32Array(rows * 16).map((_, i) => i) },
    w: { dtype: 'I8', shape: [2, 2], values: new Int8Array([1, -2, 3, -4]) },
  });
  streamInto(loader, q8, 'model.q8.safetensors');
  assert.deepEqual(calls[0], ['metadata', 'model.q8.safetensors', null]);
  const blocks = calls.filter((c) => c[0] === 'big');
  assert.deepEqual(blocks.map((c) => c[1]), [0, 65536]);
  assert.equal(blocks.reduce((n, c) => n + c[2].length, 0), rows * 16);
  assert.equal(blocks[1][2][0], 65536 * 16, 'the second block starts at its first row');
  assert.deepEqual(calls.at(-1), ['w', [1, -2, 3, -4]]);
});

test('safetensors: truncated, padded, overlapping-size or unknown-dtype files are E_WEIGHTS', () => {
  const good = safetensors({ a: { dtype: 'F32', shape: [4], values: new Float32Array(4) } });
  assert.equal(codeOf(() => checkSafetensors(good, 'm')), 'no error');
  assert.equal(codeOf(() => checkSafetensors(good.subarray(0, good.byteLength - 1), 'm')), 'E_WEIGHTS', 'truncated');
  assert.equal(codeOf(() => checkSafetensors(safetensors({ a: { dtype: 'F32', shape: [4], values: new Float32Array(4) } }, { tail: 4 }), 'm')), 'E_WEIGHTS', 'trailing bytes');
  assert.equal(codeOf(() => checkSafetensors(new Uint8Array(5), 'm')), 'E_WEIGHTS', 'shorter than the header length');
  assert.equal(codeOf(() => checkSafetensors(safetensors({ a: { dtype: 'F32', shape: [5], values: new Float32Array(4) } }), 'm')), 'E_WEIGHTS', 'shape vs bytes');
  assert.equal(codeOf(() => checkSafetensors(safetensors({ a: { dtype: 'C64', shape: [2], values: new Float32Array(4) } }), 'm')), 'E_WEIGHTS', 'dtype');
  const message = (() => {
    try {
      checkSafetensors(good.subarray(0, 20), 'model.safetensors');
    } catch (error) {
      return error.message;
    }
  })();
  assert.match(message, /model\.safetensors/);
});

test('resolveModelUrl: folder URLs keep their place, hub ids go to resolve/<revision>/', () => {
  assert.equal(resolveModelUrl('https://cdn.example/models/minilm'), 'https://cdn.example/models/minilm/');
  assert.equal(resolveModelUrl(new URL('https://cdn.example/m/')), 'https://cdn.example/m/');
  assert.equal(resolveModelUrl('sentence-transformers/all-MiniLM-L6-v2'), 'https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/');
  assert.equal(
    resolveModelUrl('intfloat/e5-small-v2', { hubUrl: 'https://mirror.example/hf/', revision: 'v1.0/x' }),
    'https://mirror.example/hf/intfloat/e5-small-v2/resolve/v1.0%2Fx/',
  );
  assert.match(resolveModelUrl('./models/x'), /^file:.*\/models\/x\/$/, 'a relative path is a folder on disk in Node');
  for (const bad of ['', '   ', null, 42, 'not a model id', 'a/b/c']) {
    assert.equal(codeOf(() => resolveModelUrl(bad)), 'E_INPUT', JSON.stringify(bad));
  }
});

test('input checks: texts, prompts, batch sizes and tokenize text', () => {
  assert.deepEqual(normalizeTexts('one'), ['one']);
  assert.deepEqual(normalizeTexts(['a', 'b\uD800']), ['a', 'b\uFFFD'], 'lone surrogates become U+FFFD');
  assert.equal(codeOf(() => normalizeTexts(7)), 'E_INPUT');
  assert.equal(codeOf(() => normalizeTexts(['ok', null])), 'E_INPUT');
  assert.deepEqual(checkPromptOptions({ promptName: 'query', prompt: null }), ['query', undefined]);
  assert.equal(codeOf(() => checkPromptOptions({ prompt: 3 })), 'E_INPUT');
  assert.equal(checkBatchSize(undefined), 32);
  for (const bad of [0, -1, 1.5, '8', NaN]) assert.equal(codeOf(() => checkBatchSize(bad)), 'E_INPUT', String(bad));
  assert.equal(codeOf(() => checkText({})), 'E_INPUT');
});

test('similarity: cosines of every pair, vectors or arrays, length mismatch refused', () => {
  const a = new Float32Array([1, 0]);
  const b = new Float32Array([1, 1]);
  const rows = similarity([a, b], [a, b]);
  assert.equal(rows.length, 2);
  assert.ok(Math.abs(rows[0][1] - Math.SQRT1_2) < 1e-6 && Math.abs(rows[1][1] - 1) < 1e-6);
  assert.equal(similarity(a, [0, 0])[0][0], 0, 'a zero vector gives 0, not NaN');
  assert.equal(codeOf(() => similarity(a, new Float32Array(3))), 'E_INPUT');
  assert.equal(codeOf(() => similarity('x', a)), 'E_INPUT');
});
