// Benchmark helper (prints figures; not a test): where one CPU encode of 32 corpus passages spends
// its time, from Chromium's sampling profiler (self time per wasm/JS function, top entries).
//
//   node bench/profile-cpu.mjs [--dtype q8|f32] [--top 25]
//
// Needs ../shared/bench/corpus.json and pkg/ built.

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { openBrowser } from '../tests/e2e/harness.mjs';

const { values } = parseArgs({ options: { dtype: { type: 'string', default: 'q8' }, top: { type: 'string', default: '25' } } });
if (!existsSync(new URL('../../shared/bench/corpus.json', import.meta.url))) {
  console.error('bench: ../shared/bench/corpus.json is absent; this benchmark needs ../shared beside the repository');
  process.exit(1);
}
const harness = await openBrowser();
harness.page.setDefaultTimeout(0);
await harness.page.evaluate(async (dtype) => {
  const corpus = (await (await fetch('/shared/bench/corpus.json')).json()).slice(0, 32);
  const { Embedder } = await import('/pkg/index.js');
  window.model = await Embedder.load('/models/all-MiniLM-L6-v2/', { backend: 'cpu', dtype });
  window.corpus = corpus;
  await window.model.encode(corpus, { batchSize: 32 });
}, values.dtype);
const cdp = await harness.page.context().newCDPSession(harness.page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
await cdp.send('Profiler.start');
const ms = await harness.page.evaluate(async () => {
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) await window.model.encode(window.corpus, { batchSize: 32 });
  return (performance.now() - t0) / 3;
});
const { profile } = await cdp.send('Profiler.stop');
await harness.close();

const self = new Map();
const dt = profile.timeDeltas;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]);
  const name = node.callFrame.functionName || `(${node.callFrame.url.split('/').pop() || 'anonymous'})`;
  self.set(name, (self.get(name) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log(`one encode of 32 passages, ${values.dtype}: ${ms.toFixed(0)} ms (mean of 3); self time by function:`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${name.slice(0, 110)}`);
}
