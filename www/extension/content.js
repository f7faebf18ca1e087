// Runs in every page: answers the popup with the page's paragraphs. Plain script, no imports.
chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.type !== 'webembed:paragraphs') return false;
  const paragraphs = [...document.querySelectorAll('p, li, blockquote, h1, h2, h3')]
    .map((element) => element.innerText.trim())
    .filter((text) => text.length >= 20);
  reply([...new Set(paragraphs)].slice(0, 500));
  return false;
});
