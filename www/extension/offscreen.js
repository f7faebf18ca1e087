// The background engine: the bundled model in q8 and the index of visited pages (IndexedDB of the
// extension's origin), answering the service worker (pages to index) and the popup (queries).

import { Embedder } from './webembed/index.js';

let started = null;

function start() {
  started ??= (async () => {
    const model = await Embedder.load(chrome.runtime.getURL('model/'), { cache: false, dtype: 'q8', threads: 2 });
    const index = await model.openIndex('visited-pages');
    return { model, index };
  })();
  return started;
}

async function handle(message) {
  const { model, index } = await start();
  const mode = `${model.backend}, ${model.dtype}, ${model.parallelism} ×${model.threads}`;
  if (message.type === 'index-page') {
    // A page visited again replaces its earlier copy (the URL is the id).
    await index.add([{ id: message.url, text: message.text, metadata: { title: message.title, url: message.url, visited: Date.now() } }]);
  } else if (message.type === 'search') {
    // Hybrid: names, codes and rare words found by keywords, paraphrases by meaning.
    const hits = await index.search(message.query, { k: 5, mode: 'hybrid' });
    return {
      size: index.size,
      mode,
      hits: hits.map(({ score, semanticScore, text, highlights, metadata }) => ({ score, semanticScore, text, highlights, title: metadata.title, url: metadata.url })),
    };
  }
  return { size: index.size, mode };
}

chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.target !== 'offscreen') return false;
  handle(message).then(reply, (error) => reply({ error: { code: error?.code ?? 'E_INTERNAL', message: String(error?.message ?? error) } }));
  return true;
});
