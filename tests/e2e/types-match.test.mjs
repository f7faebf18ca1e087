// index.d.ts tells the truth: the members it declares on Embedder are exactly the public members
// of the object `Embedder.load` returns, in the page, in worker mode and as a worker pool, and each property's
// value has the declared type (a record is a plain object, a union of literals one of them, …).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import ts from 'typescript';

import { openBrowser } from './harness.mjs';

const TINY = '/tests/fixtures/tiny/models/e5-small-v2-like/';
let harness;

before(async () => {
  harness = await openBrowser();
});
after(async () => harness?.close());

// Interfaces declared in index.d.ts: name → the keys an object of that type must have.
const interfaces = new Map();

/** Instance members of `class ${className}` in index.d.ts: name → { kind, type }. */
async function declaredMembers(className) {
  const path = new URL('../../pkg-template/index.d.ts', import.meta.url);
  const source = ts.createSourceFile('index.d.ts', await readFile(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const members = new Map();
  ts.forEachChild(source, (node) => {
    if (ts.isInterfaceDeclaration(node)) {
      interfaces.set(node.name.text, node.members.filter((m) => !m.questionToken).map((m) => m.name.getText(source)));
    }
    if (!ts.isClassDeclaration(node) || node.name?.text !== className) return;
    for (const member of node.members) {
      const isStatic = member.modifiers?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
      if (isStatic || ts.isConstructorDeclaration(member)) continue;
      const kind = ts.isMethodDeclaration(member) ? 'method' : 'property';
      members.set(member.name.getText(source), { kind, type: member.type?.getText(source) ?? '' });
    }
  });
  assert.ok(members.size > 8, `found ${members.size} members of ${className} in index.d.ts`);
  return members;
}

/** Whether `value` (as described by the page) fits the declared TypeScript `type`. */
function fits(value, type) {
  return type.split(/\s*\|\s*(?![^{]*})/).some((alternative) => {
    const t = alternative.trim();
    if (t === 'null') return value.isNull;
    if (t === 'number' || t === 'string' || t === 'boolean') return value.typeof === t;
    if (/^'[^']*'$/.test(t)) return value.typeof === 'string' && value.string === t.slice(1, -1);
    if (t === 'Record<string, string>') return value.plainObject && value.valueTypes.every((v) => v === 'string');
    if (interfaces.has(t)) return value.plainObject && interfaces.get(t).every((k) => value.keys.includes(k));
    if (t.startsWith('{')) {
      const keys = [...t.matchAll(/(\w+)\??:/g)].map((m) => m[1]);
      return value.plainObject && keys.every((k) => value.keys.includes(k));
    }
    throw new Error(`the checker does not know the type ${t}`);
  });
}

function checkAgainst(declared, objects, what) {
  for (const [mode, members] of Object.entries(objects)) {
    assert.deepEqual(Object.keys(members).sort(), [...declared.keys()].sort(), `${mode} ${what} members vs index.d.ts`);
    for (const [name, { kind, type }] of declared) {
      const value = members[name];
      if (kind === 'method') {
        assert.equal(value.typeof, 'function', `${mode} ${what}: ${name} is a method`);
      } else {
        assert.ok(fits(value, type), `${mode} ${what}: ${name} is ${JSON.stringify(value)}, declared ${type}`);
      }
    }
  }
}

// The page's description of each model object's public members, in page, worker and pool mode.
async function describeModels(className, path, use) {
  return harness.page.evaluate(
    async ({ className, path, use }) => {
      const pkg = await import('/pkg/index.js');
      const describe = (value) => ({
        typeof: typeof value,
        isNull: value === null,
        string: typeof value === 'string' ? value : null,
        plainObject: value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype,
        keys: value && typeof value === 'object' ? Object.keys(value) : [],
        valueTypes: value && typeof value === 'object' ? Object.values(value).map((v) => typeof v) : [],
      });
      const members = (object) => {
        const names = new Set();
        for (let o = object; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
          for (const name of Object.getOwnPropertyNames(o)) if (name !== 'constructor' && !name.startsWith('_')) names.add(name);
        }
        return Object.fromEntries([...names].map((name) => [name, describe(object[name])]));
      };
      const out = {};
      const modes = { page: { threads: 1 }, worker: { worker: true, threads: 1 }, pool: { threads: 2 } };
      for (const [mode, options] of Object.entries(modes)) {
        const model = await pkg[className].load(path, { ...options, backend: 'cpu', cache: false });
        // A call first: state travels with each answer.
        if (use === 'encode') await model.encode('state travels with each answer');
        else await model.score([['state travels', 'with each answer']]);
        out[mode] = members(model);
        await model.dispose();
      }
      return out;
    },
    { className, path, use },
  );
}

test('index.d.ts declares exactly the members of the page, worker and worker-pool models, with true types', async () => {
  const declared = await declaredMembers('Embedder');
  const objects = await describeModels('Embedder', TINY, 'encode');
  checkAgainst(declared, objects, 'Embedder');
  assert.equal(objects.page.prompts.keys.includes('query'), true, 'prompts.query is there, as the record type promises');
  assert.deepEqual(harness.errors, []);
});

test('index.d.ts declares exactly the members of the page, worker and worker-pool rerankers, with true types', async () => {
  const declared = await declaredMembers('Reranker');
  const objects = await describeModels('Reranker', '/tests/fixtures/tiny/rerankers/bert-3label-st6/', 'score');
  checkAgainst(declared, objects, 'Reranker');
  assert.equal(objects.pool.threads.typeof, 'number');
  assert.deepEqual(harness.errors, []);
});
