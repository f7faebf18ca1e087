// Benchmark (prints figures; not a test): two builds of the package side by side in one Node
// process, e.g. a checkout before a change and after it: all-MiniLM-L6-v2 (and optionally any
// folder) on one thread, f32 and q8, rounds interleaved so both see the same machine.
//
//   node bench/compare-packages.mjs <old pkg/> <new pkg/> [--model models/all-MiniLM-L6-v2] [--passages 128] [--rounds 3]
//
// Needs ../shared/bench/corpus.json.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { model: { type: 'string', default: 'models/all-MiniLM-L6-v2' }, passages: { type: 'string', default: '128' }, rounds: { type: 'string', default: '3' } },
});
if (positionals.length !== 2) {
  console.error('usage: node bench/compare-packages.mjs <old pkg/> <new pkg/> [--model <folder>] [--passages N] [--rounds N]');
  process.exit(2);
}
const corpus = JSON.parse(await readFile(new URL('../../shared/bench/corpus.json', import.meta.url), 'utf8').catch(() => {
  console.error('bench: ../shared/bench/corpus.json is absent; this benchmark needs ../shared beside the repository');
  process.exit(1);
})).slice(0, Number(values.passages));
const builds = await Promise.all(positionals.map(async (dir) => ({ dir, module: await import(resolve(dir, 'index.js')) })));
const folder = resolve(values.model);
for (const dtype of ['f32', 'q8']) {
  const models = await Promise.all(builds.map(({ module }) => module.Embedder.load(folder, { dtype, threads: 1, backend: 'cpu', cache: false })));
  const seconds = models.map(() => []);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [i, model] of models.entries()) {
      const start = performance.now();
      await model.encode(corpus, { batchSize: 32 });
      seconds[i].push((performance.now() - start) / 1000);
    }
  }
  const best = seconds.map((list) => Math.min(...list));
  console.log(`${dtype}: ${builds.map((b, i) => `${b.dir} ${(corpus.length / best[i]).toFixed(1)} texts/s`).join('; ')}; new/old ${(best[0] / best[1]).toFixed(3)}× (best of ${values.rounds}, ${corpus.length} passages, Node ${process.version}, 1 thread)`);
  await Promise.all(models.map((m) => m.dispose()));
}
