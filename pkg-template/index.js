// webembed: sentence embeddings in the browser, as sentence-transformers computes them.
// The public façade: what the package exports, and nothing else (the layout: README.md).

export { WebembedError } from './core/errors.js';
export { OPFSCache } from './loading/cache.js';
export { SearchIndex } from './search/browser-index.js';
export { Embedder, _checkKernelsForTest } from './model/embedder.js';
export { Reranker } from './model/reranker.js';
