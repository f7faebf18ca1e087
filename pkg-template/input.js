// Checks of what callers pass to encode() and tokenize(): each bad value is an E_INPUT that says
// which argument is wrong. Pure functions, shared by the page and worker models.

import { WebembedError } from './errors.js';

function describe(value) {
  return value === null ? 'null' : typeof value;
}

/** One text or an array of texts → an array of well-formed strings. */
export function normalizeTexts(texts) {
  if (typeof texts === 'string') return [texts];
  if (!Array.isArray(texts)) {
    throw new WebembedError('E_INPUT', `encode() takes a string or an array of strings; got ${describe(texts)}`);
  }
  return texts.map((text, i) => {
    if (typeof text !== 'string') {
      throw new WebembedError('E_INPUT', `texts[${i}] is ${describe(text)}; every text must be a string`);
    }
    // Lone surrogates cannot be UTF-8; they become U+FFFD, as TextEncoder does.
    return typeof text.toWellFormed === 'function' ? text.toWellFormed() : text;
  });
}

/** `{ promptName, prompt }` → `[promptName, prompt]`, each a string or undefined. */
export function checkPromptOptions({ promptName, prompt } = {}) {
  if (promptName !== undefined && promptName !== null && typeof promptName !== 'string') {
    throw new WebembedError('E_INPUT', `promptName must be a string; got ${typeof promptName}`);
  }
  if (prompt !== undefined && prompt !== null && typeof prompt !== 'string') {
    throw new WebembedError('E_INPUT', `prompt must be a string; got ${typeof prompt}`);
  }
  return [promptName ?? undefined, prompt ?? undefined];
}

/** `options.batchSize`, default 32 (sentence-transformers' default). */
export function checkBatchSize(batchSize = 32) {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new WebembedError('E_INPUT', `batchSize must be a positive integer; got ${batchSize}`);
  }
  return batchSize;
}

/** `text` for tokenize(). */
export function checkText(text) {
  if (typeof text !== 'string') {
    throw new WebembedError('E_INPUT', `tokenize() takes a string; got ${describe(text)}`);
  }
  return text;
}
