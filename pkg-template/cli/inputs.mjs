// What `webembed index` reads (Node only): documents from folders, globs, .md/.rst/.txt/.html
// files and JSONL, and NumPy .npy vectors (vector-files.mjs; Parquet in parquet-parts.mjs). Each
// bad input is an Error naming the file and why.

import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';

import { idSet } from './document-files.mjs';
import { htmlSections } from './html-sections.mjs';
import { markdownSections, restSections, titleField } from './text-sections.mjs';
import { MAX_TITLE_UNITS } from '../search/records.js';

const TEXT_EXTENSIONS = new Set(['.md', '.markdown', '.txt', '.rst', '.rest', '.html', '.htm', '.jsonl']);

export class InputError extends Error {}

/** Every input file under `inputs` (files, folders walked recursively, or globs with * and **), sorted. */
export async function listInputs(inputs) {
  const found = new Map();
  for (const input of inputs) {
    if (/[*?]/.test(input)) {
      const { root, pattern } = globParts(input);
      for (const file of await walk(root)) if (pattern.test(relative(root, file).split(sep).join('/'))) found.set(file, root);
      continue;
    }
    const path = resolve(input);
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new InputError(`${input}: cannot read it (${error.code ?? error.message})`);
    }
    if (info.isDirectory()) {
      for (const file of await walk(path)) if (TEXT_EXTENSIONS.has(extname(file).toLowerCase())) found.set(file, path);
    } else {
      if (!TEXT_EXTENSIONS.has(extname(path).toLowerCase())) throw new InputError(`${input}: webembed indexes .md, .txt, .html and .jsonl files, not ${extname(path) || 'files without an extension'}`);
      found.set(path, resolve(path, '..'));
    }
  }
  return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([file, root]) => ({ file, root }));
}

function globParts(input) {
  const parts = input.split('/');
  const fixed = [];
  while (parts.length > 1 && !/[*?]/.test(parts[0])) fixed.push(parts.shift());
  const source = parts.join('/').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '(?:.*/)?');
  return { root: resolve(fixed.join('/') || '.'), pattern: new RegExp(`^${source}$`) };
}

async function walk(folder) {
  const files = [];
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new InputError(`${folder}: cannot read it (${error.code ?? error.message})`);
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** A document's most characters (UTF-16 units) before it is split into parts: half what an index takes. */
export const PART_UNITS = 2 ** 23;

/**
 * The documents of one input file: `[{ id, text, title, metadata, url }]`: an HTML, Markdown or
 * reStructuredText file's sections (html-sections.mjs, text-sections.mjs), a text file whole. A file that is not text (a
 * NUL byte, or mostly bytes that are not UTF-8) is skipped with a warning naming it; a text
 * longer than PART_UNITS is split at line breaks into parts (`file#part-2`, …), with a warning.
 */
export async function readDocuments({ file, root }, { warn = (line) => console.warn(line) } = {}) {
  let bytes;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new InputError(`${file}: cannot read it (${error.code ?? error.message})`);
  }
  const notText = binaryReason(bytes);
  if (notText) {
    warn(`webembed: skipped ${file}: it is not text (${notText})`);
    return [];
  }
  const text = new TextDecoder().decode(bytes);
  const path = relative(root, file).split(sep).join('/');
  const extension = extname(file).toLowerCase();
  if (extension === '.jsonl') return parseJsonl(text, file, { requireText: true });
  if (extension === '.html' || extension === '.htm') return htmlSections(text, path);
  let documents;
  if (extension === '.md' || extension === '.markdown') documents = markdownSections(text, path);
  else if (extension === '.rst' || extension === '.rest' || /\.rst\.txt$/i.test(file)) documents = restSections(text, path);
  else {
    const title = text.split('\n').find((line) => line.trim())?.trim().slice(0, 200) ?? path;
    documents = [{ id: path, text, title: titleField(title, [], path), metadata: { title }, url: path }];
  }
  // A text past PART_UNITS is split at line breaks into parts, each a document of its own.
  const out = [];
  for (const doc of documents) {
    const parts = splitLong(doc.text);
    if (parts.length > 1) warn(`webembed: ${file}${doc.id === path ? '' : ` (${doc.id})`} holds ${doc.text.length} characters: indexed as ${parts.length} documents of at most ${PART_UNITS} (${doc.id}${doc.id.includes('#') ? '-' : '#'}part-2, …)`);
    parts.forEach((part, i) => out.push({ ...doc, id: i === 0 ? doc.id : `${doc.id}${doc.id.includes('#') ? '-' : '#'}part-${i + 1}`, text: part }));
  }
  return out;
}

/** Why `bytes` are not a text file (null when they are): a NUL, or over 10% of the start not UTF-8. */
function binaryReason(bytes) {
  const head = bytes.subarray(0, 64 * 1024);
  if (head.includes(0)) return 'it holds NUL bytes';
  const decoded = new TextDecoder().decode(head);
  let replaced = 0;
  for (const c of decoded) if (c === '\ufffd') replaced++;
  return replaced > decoded.length / 10 ? `${replaced} of its first ${decoded.length} characters are not UTF-8` : null;
}

/** `text` cut into parts of at most PART_UNITS, each ending at a line break where one is near. */
function splitLong(text) {
  const parts = [];
  let start = 0;
  while (text.length - start > PART_UNITS) {
    let end = start + PART_UNITS;
    const newline = text.lastIndexOf('\n', end);
    if (newline > start + PART_UNITS / 2) end = newline + 1;
    parts.push(text.slice(start, end));
    start = end;
  }
  parts.push(text.slice(start));
  return parts;
}

/** JSONL lines `{ id, text, title?, metadata?, url? }`. */
export function parseJsonl(source, file, { requireText }) {
  const docs = [];
  source.split('\n').forEach((line, i) => {
    if (line.trim()) docs.push(parseJsonlLine(line, file, i + 1, { requireText }));
  });
  return docs;
}

/** One JSONL line (number `number` of `file`) as `{ id, text, title, metadata, url, line }`, checked. */
export function parseJsonlLine(line, file, number, { requireText }) {
  let record;
  try {
    record = JSON.parse(line);
  } catch (error) {
    throw new InputError(`${file}:${number}: not JSON (${error.message})`);
  }
  if (typeof record?.id !== 'string' || record.id.length === 0) throw new InputError(`${file}:${number}: id must be a non-empty string`);
  if (record.text !== undefined && typeof record.text !== 'string') throw new InputError(`${file}:${number}: text must be a string`);
  if (requireText && typeof record.text !== 'string') throw new InputError(`${file}:${number}: has no text`);
  if (record.url !== undefined && record.url !== null && typeof record.url !== 'string') throw new InputError(`${file}:${number}: url must be a string`);
  if (record.title !== undefined && record.title !== null && (typeof record.title !== 'string' || record.title.length > MAX_TITLE_UNITS)) {
    throw new InputError(`${file}:${number}: title must be a string of at most ${MAX_TITLE_UNITS} characters (a page's title, headings and path)`);
  }
  return { id: record.id, text: record.text ?? null, title: record.title || null, metadata: record.metadata ?? null, url: record.url ?? null, line: number };
}

/**
 * NumPy's format 1–3: a little-endian float32 or float64 matrix, C order. `fileBytes`: the whole
 * file's length when `bytes` is only its start (the rows are read elsewhere); then `values` is
 * null, and `descr` and `start` (where the rows begin) say how to read them.
 */
export function readNpy(bytes, file, { fileBytes } = {}) {
  if (bytes.length < 10 || bytes[0] !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new InputError(`${file}: not a NumPy .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = header.match(/'descr':\s*'([^']+)'/)?.[1];
  const fortran = header.match(/'fortran_order':\s*(True|False)/)?.[1];
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)?.[1]?.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!descr || !fortran || !shape) throw new InputError(`${file}: its .npy header cannot be read`);
  if (shape.length !== 2) throw new InputError(`${file}: shape (${shape.join(', ')}) is not (rows, dimension)`);
  if (fortran === 'True') throw new InputError(`${file}: Fortran-ordered arrays are not read; save with np.ascontiguousarray`);
  const [rows, dimension] = shape;
  const width = { '<f4': 4, '<f8': 8 }[descr];
  if (!width) throw new InputError(`${file}: dtype ${descr} is not float32 or float64 (little-endian)`);
  const data = (fileBytes ?? bytes.length) - start;
  if (data !== rows * dimension * width) throw new InputError(`${file}: holds ${data} bytes of data for shape (${rows}, ${dimension}) of ${descr}: truncated?`);
  if (fileBytes !== undefined) return { rows, dimension, descr, start, values: null };
  const values = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length);
  return { rows, dimension, values: width === 4 ? new Float32Array(values) : Float32Array.from(new Float64Array(values)) };
}

/**
 * Documents from records in order, a document's chunks on consecutive records with the same id
 * (JSONL lines beside --vectors, Parquet rows): `add({ id, text, title, metadata, url }, where)`,
 * then `finish()` gives the documents, each with its chunks' texts joined and their spans; a
 * document any of whose chunks has no text (null) has none (text null, empty spans). An id seen
 * again after other documents is an InputError naming both places. With `emit`, each finished
 * document goes to it instead of into the array, and `placeOf(number)` gives an emitted one back
 * (its id and `line`) for that error: millions of documents need not be held.
 */
export function chunkJoiner(unit, { emit = null, placeOf = null } = {}) {
  const documents = [];
  const ids = idSet();
  let current = null;
  let count = 0;
  const done = (doc) => {
    // Without text a document is its vectors alone: each chunk an empty span.
    if (!doc.hasText) [doc.text, doc.spans] = [null, doc.spans.map(() => 0)];
    delete doc.hasText;
    if (emit) emit(doc);
    else documents.push(doc);
  };
  return {
    add({ id, text, title, metadata, url }, where) {
      if (current && current.id === id) {
        const start = current.text.length + 1;
        current.text += `\n${text ?? ''}`;
        current.spans.push(start, current.text.length);
        current.hasText &&= text !== null;
        return;
      }
      const earlier = ids.add(id, count);
      if (earlier !== -1) {
        // Two hashes equal: the same id, unless (~10^-6 at 10^7 ids) two ids hash alike.
        const first = earlier === count - 1 ? current : emit ? placeOf(earlier) : documents[earlier];
        if (first.id === id) throw new InputError(`${where}: id ${JSON.stringify(id)} appears again (first at ${first.line}); a document's chunks go on consecutive ${unit}`);
      }
      if (current) done(current);
      current = { id, text: text ?? '', spans: [0, (text ?? '').length], title, metadata, url, line: where, hasText: text !== null };
      count++;
    },
    finish() {
      if (current) done(current);
      current = null;
      return documents;
    },
  };
}
