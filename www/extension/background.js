// The extension's service worker: starts the offscreen document that runs the engine and the
// index (a service worker cannot: it may not import() the package or start workers), and hands
// it the pages the user visits once they opted in.

let creating = null;

async function ensureOffscreen() {
  if (await chrome.offscreen.hasDocument()) return;
  creating ??= chrome.offscreen
    .createDocument({ url: 'offscreen.html', reasons: ['WORKERS'], justification: 'runs the webembed engine and its search index in the background' })
    .finally(() => (creating = null));
  await creating;
}

chrome.runtime.onMessage.addListener((message, sender, reply) => {
  if (message?.type === 'webembed:visited' && sender.tab) {
    (async () => {
      const { indexing } = await chrome.storage.local.get('indexing');
      if (!indexing) return { skipped: 'indexing is off' };
      await ensureOffscreen();
      return chrome.runtime.sendMessage({ target: 'offscreen', type: 'index-page', url: message.url, title: message.title, text: message.text });
    })().then(reply, (error) => reply({ error: String(error?.message ?? error) }));
    return true;
  }
  if (message?.type === 'webembed:start-background') {
    ensureOffscreen().then(() => reply({ ok: true }), (error) => reply({ error: String(error?.message ?? error) }));
    return true;
  }
  return false;
});
