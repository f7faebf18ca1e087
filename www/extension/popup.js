// The extension's popup runs the engine itself (no service worker, so no import() restriction),
// with the model bundled in the extension in q8 (a quarter of the f32 download): no network
// request, no remote code. The manifest's COOP/COEP keys make its pages cross-origin isolated,
// so two threads share one engine's memory.
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

async function main() {
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
  });
  document.body.dataset.ready = 'true';
}

main().catch((error) => {
  $('status').textContent = `${error.code ?? 'Error'}: ${error.message}`;
});
