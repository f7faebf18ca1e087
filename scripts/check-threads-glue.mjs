// Checks that the shared-memory build's glue matches the plain one: the same exports, plus the
// thread pool's ThreadStarter and runThread, and that it instantiates on shared memory. A build
// whose glue drifted (a cfg that hid an export, a wasm-bindgen change) fails here, not in a page.
//
//   node scripts/check-threads-glue.mjs pkg/webembed_glue.js pkg/webembed_threads_glue.js

import { readFileSync } from 'node:fs';

const [plainPath, threadsPath] = process.argv.slice(2);
const exportsOf = async (path) => Object.keys((await import(new URL(path, `file://${process.cwd()}/`).href)).createGlue()).sort();
const plain = await exportsOf(plainPath);
const threads = await exportsOf(threadsPath);
const added = threads.filter((name) => !plain.includes(name));
const missing = plain.filter((name) => !threads.includes(name));
const expectedAdded = ['ThreadStarter', 'runThread', 'stopThreads'];
const problems = [];
if (missing.length) problems.push(`the threaded glue lacks ${missing.join(', ')}`);
if (added.join() !== expectedAdded.join()) problems.push(`the threaded glue adds ${added.join(', ') || 'nothing'}; expected ${expectedAdded.join(', ')}`);
if (!/shared:\s*true/.test(readFileSync(threadsPath, 'utf8'))) problems.push('the threaded glue does not create shared memory');
if (problems.length) {
  console.error(`${threadsPath}: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`${threadsPath}: the ${plain.length} exports of the plain glue, plus ${added.join(' and ')}, on shared memory`);
