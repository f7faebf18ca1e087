// The test command must pass on a clone with nothing beside it: no test may read ../shared (the
// benchmarks' optional data) or any other path outside the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const TEST_DIRS = ['tests/e2e', 'tests/node', 'tests/vite-app', 'crate/tests', 'scripts/test.sh'];
// `/shared/` is where scripts/serve.mjs exposes ../shared; `../../shared` or `../shared` reach it on disk.
const OUTSIDE = [/['"`(]\/shared\//, /\.\.\/(\.\.\/)*shared\b/, /['"`]\/work\//, /\.\.\/\.\.\/\.\.\//];

function files(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path).flatMap((name) => (name === 'node_modules' ? [] : files(join(path, name))));
}

test('no test reads outside the repository', () => {
  const offenders = [];
  for (const dir of TEST_DIRS) {
    for (const file of files(join(ROOT, dir))) {
      if (file.endsWith('self-contained.test.mjs') || !/\.(mjs|js|rs|sh|html)$/.test(file)) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (OUTSIDE.some((pattern) => pattern.test(line))) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(offenders, [], `tests must not read outside the repository:\n${offenders.join('\n')}`);
});

test('the check finds a read of ../shared', () => {
  const line = "const corpus = await (await fetch('/shared/bench/corpus.json')).json();";
  assert.ok(OUTSIDE.some((pattern) => pattern.test(line)));
});
