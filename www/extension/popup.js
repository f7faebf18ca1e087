// The extension's popup runs the engine itself for the current page (no service worker, so no
// import() restriction), with the model bundled in the extension in q8 (a quarter of the f32
// download): no network request, no remote code. The manifest's COOP/COEP keys make its pages
// cross-origin isolated, so two threads share one engine's memory. Pages visited earlier are
// searched in the background index (offscreen.js), which indexes them when the user opts in.
import { Embedder } from './webembed/index.js';

const $ = (id) => document.getElementById(id);

// The page to search: the active tab; when this popup is open in a tab of its own (as when
// debugging), the most recently used other tab of the window.
async function targetTab() {
  const self = await chrome.tabs.getCurrent();
  if (!self) return (await chrome.tabs.query({ active: true, currentWindow: true }))[0];
  const others = (await chrome.tabs.query({ windowId: self.windowId })).filter((tab) => tab.id !== self.id);
  return others.sort((a, b) => (b.lastAccessed ?? 0) - (a.lastAccessed ?? 0))[0];
}

// Asks the background index (started by the service worker if it is not running).
async function background(message) {
  await chrome.runtime.sendMessage({ type: 'webembed:start-background' });
  const answer = await chrome.runtime.sendMessage({ target: 'offscreen', ...message });
  if (answer?.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
  return answer;
}

async function searchHistory(query) {
  const { hits, size, mode } = await background({ type: 'search', query });
  $('history-status').textContent = `(${size} pages; ${mode})`;
  $('history').replaceChildren(...hits.map(({ title, url, text, semanticScore, highlights }) => {
    const item = document.createElement('li');
    item.innerHTML = '<span class="score"></span><a class="page" target="_blank"></a><span class="text"></span>';
    // The cosine: hybrid's fused score has no scale a reader knows.
    item.querySelector('.score').textContent = semanticScore.toFixed(3);
    Object.assign(item.querySelector('.page'), { textContent: title || url, href: url });
    // The first 240 characters, the query's terms marked.
    const shown = text.slice(0, 240);
    const body = item.querySelector('.text');
    let at = 0;
    for (const { start, end } of highlights.filter((h) => h.end <= shown.length)) {
      body.append(shown.slice(at, start), Object.assign(document.createElement('mark'), { textContent: shown.slice(start, end) }));
      at = end;
    }
    body.append(shown.slice(at), text.length > shown.length ? '…' : '');
    return item;
  }));
}

async function wireHistory() {
  const { indexing } = await chrome.storage.local.get('indexing');
  $('remember').checked = Boolean(indexing);
  $('remember').addEventListener('change', () => chrome.storage.local.set({ indexing: $('remember').checked }));
}

async function main() {
  await wireHistory();
  const tab = await targetTab();
  const paragraphs = await chrome.tabs.sendMessage(tab.id, { type: 'webembed:paragraphs' });
  const model = await Embedder.load(chrome.runtime.getURL('model/'), { cache: false, dtype: 'q8', threads: 2 });
  const vectors = await model.encode(paragraphs, { promptName: model.prompts?.passage ? 'passage' : undefined });
  $('status').textContent = `${paragraphs.length} paragraphs indexed (${model.backend}, ${model.dtype}, ${model.simd}, ${model.parallelism} ×${model.threads})`;
  $('query').disabled = false;
  $('query').addEventListener('change', async () => {
    const [query] = await model.encode($('query').value, { promptName: model.prompts?.query ? 'query' : undefined });
    const [scores] = model.similarity(query, vectors);
    const ranked = paragraphs.map((text, i) => ({ text, score: scores[i] })).sort((a, b) => b.score - a.score).slice(0, 5);
    $('results').replaceChildren(...ranked.map(({ text, score }) => {
      const item = document.createElement('li');
      item.innerHTML = '<span class="score"></span><span class="text"></span>';
      item.querySelector('.score').textContent = score.toFixed(3);
      item.querySelector('.text').textContent = text;
      return item;
    }));
    await searchHistory($('query').value).catch((error) => {
      $('history-status').textContent = `(${error.code ?? 'Error'}: ${error.message})`;
    });
  });
  document.body.dataset.ready = 'true';
}

main().catch((error) => {
  $('status').textContent = `${error.code ?? 'Error'}: ${error.message}`;
});
