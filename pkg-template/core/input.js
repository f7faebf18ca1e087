// Checks of what callers pass to encode() and tokenize(): each bad value is an E_INPUT that says
// which argument is wrong. Pure functions, shared by the page and worker models.

import { WebembedError } from './errors.js';

function describe(value) {
  return value === null ? 'null' : typeof value;
}

/** The most texts one encode() call takes: its vectors alone are then ~1.5 GB at 384 dimensions. */
export const MAX_TEXTS_PER_CALL = 2 ** 20;

/** The most batchSize accepted: larger batches only cost memory (results do not depend on it). */
export const MAX_BATCH_SIZE = 4096;

/**
 * UTF-16 units of a text that can matter to a model reading `maxSeqLength` tokens: the engine
 * tokenizes at most maxSeqLength × 512 UTF-8 bytes (tokenize.rs, TEXT_BYTES_PER_TOKEN), and a
 * unit is at least one byte, so cutting here changes no result and keeps a 20 MB string out of
 * wasm memory (which never shrinks).
 */
export function maxTextUnits(maxSeqLength) {
  return Math.max(1, maxSeqLength) * 512;
}

/**
 * One text or an array of texts → an array of well-formed strings, each cut to `maxUnits`.
 * `call` and `item(i)` name the caller and the i-th text in errors (a Reranker's are pairs' sides).
 */
export function normalizeTexts(texts, maxUnits = Infinity, { call = 'encode()', item = (i) => `texts[${i}]` } = {}) {
  if (typeof texts === 'string') return [prepareText(texts, maxUnits)];
  if (!Array.isArray(texts)) {
    throw new WebembedError('E_INPUT', `${call} takes a string or an array of strings; got ${describe(texts)}`);
  }
  if (texts.length > MAX_TEXTS_PER_CALL) {
    throw new WebembedError('E_INPUT', `${call} takes at most ${MAX_TEXTS_PER_CALL} texts per call; got ${texts.length}: split them into several calls`);
  }
  // A plain loop, not map(): map skips the holes of a sparse array.
  const out = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i];
    if (typeof text !== 'string') {
      throw new WebembedError('E_INPUT', `${item(i)} is ${i in texts ? describe(text) : 'missing (a hole in a sparse array)'}; every text must be a string`);
    }
    out[i] = prepareText(text, maxUnits);
  }
  return out;
}

function prepareText(text, maxUnits) {
  let cut = text;
  if (text.length > maxUnits) {
    const end = isHighSurrogate(text.charCodeAt(maxUnits - 1)) ? maxUnits - 1 : maxUnits;
    cut = text.slice(0, end);
  }
  // Lone surrogates cannot be UTF-8; they become U+FFFD, as TextEncoder does.
  return typeof cut.toWellFormed === 'function' ? cut.toWellFormed() : cut;
}

function isHighSurrogate(code) {
  return code >= 0xd800 && code <= 0xdbff;
}

/** `{ promptName, prompt }` → `[promptName, prompt]`, each a string or undefined (a prompt cut as texts are). */
export function checkPromptOptions({ promptName, prompt } = {}, maxUnits = Infinity) {
  if (promptName !== undefined && promptName !== null && typeof promptName !== 'string') {
    throw new WebembedError('E_INPUT', `promptName must be a string; got ${typeof promptName}`);
  }
  if (prompt !== undefined && prompt !== null && typeof prompt !== 'string') {
    throw new WebembedError('E_INPUT', `prompt must be a string; got ${typeof prompt}`);
  }
  return [promptName ?? undefined, typeof prompt === 'string' ? prepareText(prompt, maxUnits) : undefined];
}

/** `options.batchSize`, default 32 (sentence-transformers' default). */
export function checkBatchSize(batchSize = 32) {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new WebembedError('E_INPUT', `batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}; got ${batchSize}`);
  }
  return batchSize;
}

/** `text` for tokenize(), cut as encode() cuts texts. */
export function checkText(text, maxUnits = Infinity) {
  if (typeof text !== 'string') {
    throw new WebembedError('E_INPUT', `tokenize() takes a string; got ${describe(text)}`);
  }
  return prepareText(text, maxUnits);
}

/** encode()'s arguments, checked and cut for a model of `maxSeqLength` and `dimension`: { list, promptName, prompt, batchSize, truncateDim }. */
export function checkEncodeArgs(texts, options, maxSeqLength, dimension = Infinity) {
  const maxUnits = maxTextUnits(maxSeqLength);
  const list = normalizeTexts(texts, maxUnits);
  const [promptName, prompt] = checkPromptOptions(options ?? {}, maxUnits);
  return { list, promptName, prompt, batchSize: checkBatchSize(options?.batchSize), truncateDim: checkTruncateDim(options?.truncateDim, dimension) };
}

/**
 * `truncateDim` (Matryoshka): undefined, or an integer from 1 to the model's `dimension`. Vectors
 * are cut to it after every module of the model, Normalize included, as sentence-transformers'
 * `truncate_dim` cuts them (a cut vector of a normalizing model has a norm below 1).
 */
export function checkTruncateDim(truncateDim, dimension = Infinity) {
  if (truncateDim === undefined || truncateDim === null) return undefined;
  if (!Number.isInteger(truncateDim) || truncateDim < 1 || truncateDim > dimension) {
    const most = Number.isFinite(dimension) ? `this model's dimension ${dimension}` : 'the model\'s dimension';
    throw new WebembedError('E_INPUT', `truncateDim must be an integer from 1 to ${most}; got ${describe(truncateDim)}`);
  }
  return truncateDim;
}

/** `vectors` cut to their first `truncateDim` values (all of them when undefined). */
export function truncateVectors(vectors, truncateDim) {
  return truncateDim === undefined ? vectors : vectors.map((vector) => vector.slice(0, truncateDim));
}

/** tokenize()'s arguments, checked and cut for a model of `maxSeqLength`: { text, promptName, prompt }. */
export function checkTokenizeArgs(text, options, maxSeqLength) {
  const maxUnits = maxTextUnits(maxSeqLength);
  const cut = checkText(text, maxUnits);
  const [promptName, prompt] = checkPromptOptions(options ?? {}, maxUnits);
  return { text: cut, promptName, prompt };
}

/** The indices of `list`, longest text first, as sentence-transformers orders texts into batches. */
export function longestFirst(list) {
  return list.map((_, i) => i).sort((a, b) => list[b].length - list[a].length);
}

/** The longest document chunks() and a search index take: 16 Mi UTF-16 units (a long book). */
export const MAX_DOCUMENT_UNITS = 2 ** 24;

/** Tokens consecutive chunks share by default (whole sentences, see crate/src/search/chunk.rs). */
export const DEFAULT_OVERLAP_TOKENS = 32;

/**
 * Tokens per chunk an index takes when none is asked: the model's window, at most 512. A
 * long-context model (ModernBERT, Gemma3, Qwen3) or a static one reads far more than a passage
 * worth finding, and one vector for 8 000 tokens says little about any of them.
 */
export function defaultChunkTokens(maxSeqLength) {
  return Math.min(maxSeqLength, 512);
}

/** chunks()' arguments: { text, promptName, prompt, maxTokens, overlapTokens }; the text is never cut. */
export function checkChunkArgs(text, options, maxSeqLength) {
  if (typeof text !== 'string') throw new WebembedError('E_INPUT', `chunks() takes a string; got ${describe(text)}`);
  if (text.length > MAX_DOCUMENT_UNITS) {
    throw new WebembedError('E_INPUT', `a document may hold at most ${MAX_DOCUMENT_UNITS} UTF-16 units; this one holds ${text.length}: split it`);
  }
  const [promptName, prompt] = checkPromptOptions(options ?? {}, maxTextUnits(maxSeqLength));
  const { maxTokens = maxSeqLength, overlapTokens = DEFAULT_OVERLAP_TOKENS } = options ?? {};
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > maxSeqLength) {
    throw new WebembedError('E_INPUT', `maxTokens must be an integer from 1 to the model's maxSeqLength (${maxSeqLength}); got ${maxTokens}`);
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens) {
    throw new WebembedError('E_INPUT', `overlapTokens must be an integer from 0 to maxTokens - 1; got ${overlapTokens}`);
  }
  // Same length: a lone surrogate becomes one U+FFFD, so spans still index the caller's string.
  const wellFormed = typeof text.toWellFormed === 'function' ? text.toWellFormed() : text;
  return { text: wellFormed, promptName, prompt, maxTokens, overlapTokens };
}

/** `[start, end, …]` from the engine → `[{ start, end }]`. */
export function spansFromFlat(flat) {
  const spans = [];
  for (let i = 0; i + 1 < flat.length; i += 2) spans.push({ start: flat[i], end: flat[i + 1] });
  return spans;
}
