// Runs in every page: answers the popup with the page's paragraphs, and, once the user opted in
// (the popup's checkbox), hands the page's text to the background index. Plain script, no imports.
chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.type !== 'webembed:paragraphs') return false;
  const paragraphs = [...document.querySelectorAll('p, li, blockquote, h1, h2, h3')]
    .map((element) => element.innerText.trim())
    .filter((text) => text.length >= 20);
  reply([...new Set(paragraphs)].slice(0, 500));
  return false;
});

chrome.storage.local.get('indexing').then(({ indexing }) => {
  if (!indexing || !document.body) return;
  const text = document.body.innerText.trim().slice(0, 200_000);
  if (text.length >= 20) chrome.runtime.sendMessage({ type: 'webembed:visited', url: location.href, title: document.title, text });
});
