#!/usr/bin/env node
// webembed's command line (Node.js):
//
//   npx webembed quantize <model-folder> [--out <folder>]
//   npx webembed index <inputs…> --model <folder | hub id> --out <folder>   (cli-index.mjs: a shipped index)
//
// writes model.q8.safetensors (webembed's q8: int8 matrices, see the package README) with the
// same engine that quantizes at load, prints its size and sha256, and checks it against the f32
// model on built-in sentences before it reports success. Without --out the file goes beside the
// f32 weights; with --out, <folder> becomes a complete folder to host (configs, tokenizer and
// the q8 weights only). A file that fails the check is removed.

import { createHash } from 'node:crypto';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { openCache } from '../loading/cache.js';
import { asWebembedError } from '../core/errors.js';
import { createSession, fetchConfigFiles, fetchWeights } from '../loading/hub.js';
import { Embedder } from '../model/embedder.js';
import { newInstance, pickSimd } from '../engine/instance.js';
import { streamInto } from '../loading/safetensors.js';
import { similarity } from '../core/similarity.js';

/** Sentences the check embeds with both models: short and long, several scripts. */
const CHECK_SENTENCES = [
  'How do I reset my password?',
  'The quick brown fox jumps over the lazy dog.',
  'Semantic search finds passages by meaning rather than by matching words.',
  'Die Katze schläft auf dem warmen Sofa, während draußen der Regen fällt.',
  'El aprendizaje automático permite a las computadoras aprender de los datos.',
  '東京は日本の首都であり、世界最大の都市圏の一つです。',
  'A license grants the right to use, copy and modify the software, provided this notice is kept in every copy. '.repeat(4),
  'ok',
];
/** The cosine every check sentence must keep to the f32 model. */
const MIN_COSINE = 0.995;

const USAGE = 'usage: webembed quantize <model-folder> [--out <folder>]\n       webembed index <inputs…> --model <folder | hub id> --out <folder>   (webembed index --help for more)';

function usage(message) {
  if (message) console.error(`webembed: ${message}`);
  console.error(USAGE);
  process.exit(2);
}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  if (command !== 'quantize') usage(command ? `unknown command ${JSON.stringify(command)}` : 'no command');
  let folder;
  let out;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--out') out = rest[++i] ?? usage('--out needs a folder');
    else if (!folder) folder = rest[i];
    else usage(`unexpected argument ${JSON.stringify(rest[i])}`);
  }
  if (!folder) usage('no model folder');
  return { folder: resolve(folder), out: resolve(out ?? folder) };
}

/** The folder's float weights, quantized by the engine as they stream in: the q8 file's bytes and the files read. */
async function quantize(folder) {
  const glue = await newInstance(pickSimd('auto'), await openCache(false));
  const session = createSession(pathToFileURL(`${folder}/`).href, { cache: false });
  const loader = new glue.ModelLoader('q8');
  const copied = [];
  try {
    const config = await fetchConfigFiles(session, glue);
    for (const [name, bytes] of config) {
      loader.addFile(name, bytes);
      copied.push(name);
    }
    loader.checkSpec();
    const weightFiles = [];
    let floatBytes = 0;
    await fetchWeights(session, glue, (name, bytes, kind) => {
      weightFiles.push(name);
      floatBytes += bytes.byteLength;
      return kind === 'safetensors' ? streamInto(loader, bytes, name) : loader.addFile(name, bytes);
    }, 'f32', config);
    return { bytes: loader.exportQ8(), q8File: glue.q8WeightFile(), configs: copied, weightFiles, floatBytes };
  } catch (error) {
    throw asWebembedError(error);
  } finally {
    loader.free();
  }
}

/** The worst cosine over the check sentences between the f32 model and the q8 one. */
async function check(folder, out) {
  const options = { backend: 'cpu', cache: false };
  const f32 = await Embedder.load(folder, { ...options, dtype: 'f32' });
  const q8 = await Embedder.load(out, { ...options, dtype: 'q8' });
  try {
    if (q8.dtype !== 'q8') throw new Error(`the q8 model runs as ${q8.dtype}`);
    const [expected, got] = [await f32.encode(CHECK_SENTENCES), await q8.encode(CHECK_SENTENCES)];
    return Math.min(...expected.map((v, i) => similarity(v, got[i])[0][0]));
  } finally {
    await f32.dispose();
    await q8.dispose();
  }
}

async function main() {
  const { folder, out } = parseArgs(process.argv.slice(2));
  const { bytes, q8File, configs, weightFiles, floatBytes } = await quantize(folder);
  const target = join(out, q8File);
  if (out !== folder) {
    for (const name of configs) {
      await mkdir(dirname(join(out, name)), { recursive: true });
      await copyFile(join(folder, name), join(out, name));
    }
  }
  await mkdir(out, { recursive: true });
  await writeFile(target, bytes);
  const sha256 = createHash('sha256').update(bytes).digest();
  const from = weightFiles.length > 1 ? `${weightFiles.length} shards` : weightFiles[0];
  console.log(`${target}: ${(bytes.byteLength / 1e6).toFixed(1)} MB, ${(bytes.byteLength / floatBytes).toFixed(3)} of ${from} (${(floatBytes / 1e6).toFixed(1)} MB)`);
  console.log(`sha256 ${sha256.toString('hex')}  (integrity: 'sha256-${sha256.toString('base64')}')`);
  let worst;
  try {
    worst = await check(folder, out);
  } catch (error) {
    await rm(target, { force: true });
    throw error;
  }
  console.log(`check: ${CHECK_SENTENCES.length} sentences, worst cosine ${worst.toFixed(6)} to the f32 model (needs >= ${MIN_COSINE})`);
  if (!(worst >= MIN_COSINE)) {
    await rm(target, { force: true });
    console.error(`webembed: the q8 model strays from the f32 one (cosine ${worst}); ${target} was removed`);
    process.exit(1);
  }
  console.log('ok');
}

const [command, ...rest] = process.argv.slice(2);
if (command === '--help' || command === '-h' || command === 'help' || (command === 'quantize' && (rest.includes('--help') || rest.includes('-h')))) {
  console.log(USAGE);
  process.exit(0);
}
const run = command === 'index' ? import('./index-command.mjs').then(({ indexCommand }) => indexCommand(rest)) : main();
run.catch((error) => {
  console.error(`webembed: ${error?.code ? `${error.code}: ` : ''}${error?.message ?? error}`);
  process.exit(1);
});
