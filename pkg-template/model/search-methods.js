// The search methods every model class has (the page's Embedder, the worker and pool models
// alike): each needs only the model's public encode/chunks and its facts, so one definition
// serves the three.

import { evaluate } from '../search/evaluate.js';
import { importIndex, openIndex } from '../search/browser-index.js';
import { loadIndex } from '../shipped/reader.js';

/**
 * Gives a model class (the page, worker and pool models alike) openIndex, importIndex and
 * evaluate: each only needs the model's public encode/chunks and its facts.
 */
export function addSearchMethods(ModelClass) {
  const methods = {
    /** Opens (or creates) the persistent search index `name` for this model. */
    openIndex(name, options) {
      return openIndex(this, name, options);
    },
    /** Stores an index made by `index.export()` as `options.name` (default: its own name) and opens it. */
    importIndex(buffer, options) {
      return importIndex(this, buffer, options);
    },
    /** Opens a shipped index (a folder `npx webembed index` wrote, on any static host), read-only. */
    loadIndex(url, options) {
      return loadIndex(this, url, options);
    },
    /** sentence-transformers' InformationRetrievalEvaluator metrics for this model (see evaluate.js). */
    evaluate(data, options) {
      return evaluate(this, data, options);
    },
  };
  // Non-enumerable, as a class's own methods are.
  for (const [name, method] of Object.entries(methods)) {
    Object.defineProperty(ModelClass.prototype, name, { value: method, writable: true, configurable: true });
  }
}
