// What the side-by-side benchmarks need before they start: ../shared beside the repository (the
// corpus and transformers.js's ONNX export of all-MiniLM-L6-v2), and transformers.js itself.

import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const here = new URL('.', import.meta.url).pathname;

/** Stops the benchmark, saying what is absent, unless ../shared holds the corpus and the anchors; installs transformers.js. */
export function requireRival() {
  for (const needed of ['../../shared/bench/corpus.json', '../../shared/anchors/all-MiniLM-L6-v2-onnx/onnx/model_quantized.onnx']) {
    if (!existsSync(new URL(needed, import.meta.url))) {
      console.error(`bench: ${new URL(needed, import.meta.url).pathname} is absent; this benchmark needs ../shared beside the repository`);
      process.exit(1);
    }
  }
  if (!existsSync(`${here}node_modules/@huggingface/transformers`)) {
    // The rival's install scripts fetch a native onnxruntime, which these benches do not need.
    execSync('npm install --ignore-scripts --no-audit --no-fund', { cwd: here, stdio: 'inherit' });
  }
}
