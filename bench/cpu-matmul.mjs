// Benchmark (prints figures; not a test): one CPU matmul of the encoder's shapes, f32 against q8
// (input rotation and quantization included), in both wasm binaries, in headless Chromium.
//
//   node bench/cpu-matmul.mjs
//
// Needs pkg/ built; reads nothing outside the repository.

import { openBrowser } from '../tests/e2e/harness.mjs';

const harness = await openBrowser();
harness.page.setDefaultTimeout(0);
const lines = await harness.page.evaluate(async () => {
  const { newInstance } = await import('/pkg/engine/instance.js');
  const out = [];
  for (const simd of ['relaxed-simd', 'simd128']) {
    const glue = await newInstance(simd, null);
    // 32 texts × 128 tokens through all-MiniLM-L6-v2's QKV, FFN-in and FFN-out layers.
    for (const [m, n, k] of [[4096, 1152, 384], [4096, 1536, 384], [4096, 384, 1536]]) {
      const f32 = glue.benchCpuMatmul(m, n, k, false);
      const q8 = glue.benchCpuMatmul(m, n, k, true);
      const rate = (seconds) => ((2 * m * n * k) / seconds / 1e9).toFixed(1);
      out.push(`${simd.padEnd(12)} ${m}×${n}×${k}: f32 ${rate(f32)} GFLOP/s (${(f32 * 1000).toFixed(0)} ms), q8 ${rate(q8)} GOP/s (${(q8 * 1000).toFixed(0)} ms), q8/f32 speed ${(f32 / q8).toFixed(2)}`);
    }
  }
  return out;
});
console.log(`browser: headless Chromium, one thread\n${lines.join('\n')}`);
await harness.close();
