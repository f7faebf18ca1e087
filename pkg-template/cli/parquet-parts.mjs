// `webembed index --parquet`: documents and their vectors from the Parquet parts a distributed job
// writes (Ray Data, Spark, Dask, pandas: a folder of part files, or a glob of them). Read part by
// part and row group by row group, so memory holds one row group of rows beside the vectors kept;
// every claim a part makes (types, row counts, dimensions, values) is checked against what it
// holds, and each bad part is an InputError naming the part, the row group or row, and why.

import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';

import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

import { chunkJoiner, InputError, listInputs } from './inputs.mjs';
import { MAX_TITLE_UNITS } from '../search/records.js';
import { concat } from '../search/rows.js';

/** The columns read, by role: the defaults are what the Ray example (examples/cluster/) writes. */
export const DEFAULT_COLUMNS = Object.freeze({ id: 'id', vector: 'vector', text: 'text', url: 'url', title: 'title', metadata: 'metadata' });
const OPTIONAL = ['text', 'url', 'title', 'metadata'];

/** The part files of `spec`: a folder (walked; files not ending .parquet, `_SUCCESS`, `.crc` and hidden ones skipped), a file, or a glob. */
export async function listParts(spec) {
  if (/[*?]/.test(spec)) return (await listGlob(spec)).filter((file) => extname(file).toLowerCase() === '.parquet');
  const path = resolve(spec);
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new InputError(`--parquet ${spec}: cannot read it (${error.code ?? error.message})`);
  }
  if (!info.isDirectory()) return [path];
  const parts = [];
  const walk = async (folder) => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      // Writers keep their bookkeeping in _-prefixed and hidden files (_SUCCESS, _metadata, .crc).
      if (entry.name.startsWith('.') || entry.name.startsWith('_')) continue;
      const file = join(folder, entry.name);
      // A symlinked part counts as the file it names.
      const kind = entry.isSymbolicLink() ? await stat(file).catch(() => null) : entry;
      if (kind?.isDirectory()) await walk(file);
      else if (kind?.isFile() && extname(entry.name).toLowerCase() === '.parquet') parts.push(file);
    }
  };
  await walk(path);
  return parts.sort();
}

async function listGlob(spec) {
  // listInputs walks a glob whatever the files' extensions.
  return (await listInputs([spec])).map(({ file }) => file);
}

/**
 * Every row of every part, in part order: `{ documents, vectors, rows }` as fromVectors gives them
 * (a document's chunks on consecutive rows, its text the chunks' texts joined). `columns` maps
 * each role to a column name; `dimension` is the model's. With `spill` (row-files.mjs's
 * spillRows) each row group's vectors are appended to it as they are read, and `vectors` is null;
 * `documents` (`{ emit, placeOf }`, as chunkJoiner takes them) sends the documents elsewhere too.
 */
export async function readParts(parts, { columns = DEFAULT_COLUMNS, dimension, onPart = () => {}, spill = null, documents = {} }) {
  if (parts.length === 0) throw new InputError('--parquet: no .parquet parts found');
  const vectorBlocks = [];
  const joiner = chunkJoiner('rows', documents);
  let present = null;
  let rows = 0;
  for (const part of parts) {
    const name = relative(process.cwd(), part) || part;
    const file = await openPart(part, name);
    const metadata = await readFooter(file, name);
    const roles = checkSchema(metadata, columns, name);
    present ??= roles;
    for (const role of OPTIONAL) {
      if (present[role] !== roles[role]) throw new InputError(`${name}: ${roles[role] ? 'has' : 'lacks'} the ${role} column ${columns[role]}, unlike ${relative(process.cwd(), parts[0]) || parts[0]}: every part must have the same columns`);
    }
    let groupStart = 0;
    for (const [group, rowGroup] of metadata.row_groups.entries()) {
      const claimed = Number(rowGroup.num_rows);
      const data = await readRowGroup(file, metadata, groupStart, claimed, Object.entries(roles).filter(([, has]) => has).map(([role]) => columns[role]), name, group);
      const vectors = new Float32Array(claimed * dimension);
      for (let r = 0; r < claimed; r++) {
        const where = `${name}: row ${groupStart + r}`;
        const vector = data[columns.vector][r];
        if (!vector || typeof vector.length !== 'number') throw new InputError(`${where}: ${columns.vector} holds no vector`);
        if (vector.length !== dimension) throw new InputError(`${where}: ${columns.vector} has ${vector.length} values; the model gives ${dimension}`);
        for (let d = 0; d < dimension; d++) {
          const value = vector[d];
          if (typeof value !== 'number' || !Number.isFinite(value)) throw new InputError(`${where}: ${columns.vector} holds ${typeof value === 'number' ? value : typeof value} at ${d} (every value must be a finite number)`);
          vectors[r * dimension + d] = value;
        }
        joiner.add(recordOf(data, r, roles, columns, where), where);
      }
      if (spill) spill.append(vectors);
      else vectorBlocks.push(vectors);
      groupStart += claimed;
      rows += claimed;
    }
    if (groupStart !== Number(metadata.num_rows)) throw new InputError(`${name}: its footer claims ${metadata.num_rows} rows; its row groups hold ${groupStart}`);
    onPart({ part: name, rows: groupStart });
  }
  return { documents: joiner.finish(), vectors: spill ? null : concat(Float32Array, vectorBlocks), rows };
}

async function openPart(part, name) {
  try {
    return await asyncBufferFromFile(part);
  } catch (error) {
    throw new InputError(`${name}: cannot read it (${error.code ?? error.message})`);
  }
}

async function readFooter(file, name) {
  try {
    return await parquetMetadataAsync(file);
  } catch (error) {
    throw new InputError(`${name}: not a Parquet file, or truncated (${error.message})`);
  }
}

/** Which roles a part has, after checking each column's type: the vector a list of float or double, the rest strings. */
function checkSchema(metadata, columns, name) {
  const top = topColumns(metadata);
  const listing = () => [...top.keys()].join(', ');
  for (const role of ['id', 'vector']) {
    if (!top.has(columns[role])) throw new InputError(`${name}: no ${role} column ${JSON.stringify(columns[role])} (columns: ${listing()}); name it with --${role}-column`);
  }
  const vector = top.get(columns.vector);
  const leaf = listLeaf(vector);
  if (!leaf) throw new InputError(`${name}: column ${columns.vector} is ${describe(vector)}, not a list of float or double`);
  if (leaf.type !== 'FLOAT' && leaf.type !== 'DOUBLE') throw new InputError(`${name}: column ${columns.vector} is a list of ${leaf.type}, not of float or double`);
  const id = top.get(columns.id);
  if (id.children.length > 0 || !['BYTE_ARRAY', 'INT32', 'INT64'].includes(id.element.type)) throw new InputError(`${name}: column ${columns.id} is ${describe(id)}; ids are strings or integers`);
  const roles = { id: true, vector: true };
  for (const role of OPTIONAL) {
    const node = top.get(columns[role]);
    roles[role] = Boolean(node);
    if (node && (node.children.length > 0 || node.element.type !== 'BYTE_ARRAY') && role !== 'metadata') throw new InputError(`${name}: column ${columns[role]} is ${describe(node)}, not a string`);
  }
  return roles;
}

function topColumns(metadata) {
  return new Map(parquetSchema(metadata).children.map((node) => [node.element.name, node]));
}

/** The float leaf of a list column: three-level LIST (any child names), legacy two-level, or a bare repeated field; else null. */
function listLeaf(node) {
  if (node.children.length === 0) return node.element.repetition_type === 'REPEATED' ? node.element : null;
  const [repeated] = node.children;
  if (node.children.length !== 1 || repeated.element.repetition_type !== 'REPEATED') return null;
  if (repeated.children.length === 0) return repeated.element;
  const [leaf] = repeated.children;
  return repeated.children.length === 1 && leaf.children.length === 0 ? leaf.element : null;
}

function describe(node) {
  if (node.children.length > 0) return `a group (${node.element.converted_type ?? node.element.logical_type?.type ?? 'struct'})`;
  return node.element.logical_type?.type ?? node.element.converted_type ?? node.element.type;
}

/**
 * One row group's columns, each an array of its rows. Decoded through hyparquet's column chunks
 * (onChunk), never its row assembly, which sizes arrays by the rows a footer claims: a part claiming
 * 10^9 rows over a few kilobytes is refused here without allocating for them.
 */
async function readRowGroup(file, metadata, groupStart, claimed, names, name, group) {
  // No prototype: a column may be named __proto__.
  const data = Object.create(null);
  for (const column of names) data[column] = [];
  try {
    await parquetRead({
      file, metadata, columns: names, rowStart: groupStart, rowEnd: groupStart + claimed, compressors,
      onChunk: ({ columnName, columnData }) => {
        const into = data[columnName];
        for (let i = 0; i < columnData.length; i++) into.push(columnData[i]);
      },
    });
  } catch (error) {
    throw new InputError(`${name}: row group ${group} cannot be read (${error.message}): truncated or damaged?`);
  }
  for (const column of names) {
    if (data[column].length !== claimed) throw new InputError(`${name}: row group ${group} claims ${claimed} rows; column ${column} holds ${data[column].length}`);
  }
  return data;
}

/** A row's document fields, checked: the id a string (integers become strings), text, url and title strings, metadata an object or its JSON. */
function recordOf(data, r, roles, columns, where) {
  let id = data[columns.id][r];
  if (typeof id === 'number' || typeof id === 'bigint') id = String(id);
  if (typeof id !== 'string' || id.length === 0) throw new InputError(`${where}: ${columns.id} is ${id === '' ? 'empty' : typeof id}; every row needs an id`);
  const string = (role) => {
    if (!roles[role]) return null;
    const value = data[columns[role]][r];
    if (value === null || value === undefined) return null;
    if (typeof value !== 'string') throw new InputError(`${where}: ${columns[role]} is ${typeof value}, not a string`);
    return value;
  };
  const title = string('title');
  if (title !== null && title.length > MAX_TITLE_UNITS) throw new InputError(`${where}: ${columns.title} has ${title.length} characters; a title (a page's title, headings and path) takes at most ${MAX_TITLE_UNITS}`);
  let metadata = roles.metadata ? data[columns.metadata][r] ?? null : null;
  if (typeof metadata === 'string') {
    try {
      metadata = JSON.parse(metadata);
    } catch (error) {
      throw new InputError(`${where}: ${columns.metadata} is not JSON (${error.message})`);
    }
  } else if (metadata !== null) metadata = plain(metadata);
  if (metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) throw new InputError(`${where}: ${columns.metadata} must be an object (or its JSON)`);
  // A text column's empty cell is an empty text; without the column, a document has no text.
  return { id, text: roles.text ? (string('text') ?? '') : null, url: string('url'), title: title || null, metadata };
}

/** A struct column's value as JSON can hold it (64-bit integers as numbers when exact, else strings). */
function plain(value) {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value, plain);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/**
 * `--vectors file.parquet`: one file's vector column (`column`, else the first list column) as
 * `{ rows, dimension, values }`, read row group by row group with the same checks as parts.
 */
export async function readParquetVectors(path, column) {
  const file = await openPart(path, path);
  const metadata = await readFooter(file, path);
  const top = topColumns(metadata);
  const name = column ?? [...top.values()].find((node) => listLeaf(node))?.element.name;
  if (!name || !top.has(name)) throw new InputError(`${path}: ${name ? `no column ${JSON.stringify(name)}` : 'no list column holds the vectors'} (columns: ${[...top.keys()].join(', ')}); name it with --column`);
  const leaf = listLeaf(top.get(name));
  if (!leaf) throw new InputError(`${path}: column ${name} is ${describe(top.get(name))}, not a list of float or double`);
  if (leaf.type !== 'FLOAT' && leaf.type !== 'DOUBLE') throw new InputError(`${path}: column ${name} holds ${leaf.type}, not float or double`);
  const blocks = [];
  let dimension = null;
  let rows = 0;
  for (const [group, rowGroup] of metadata.row_groups.entries()) {
    const claimed = Number(rowGroup.num_rows);
    const vectors = (await readRowGroup(file, metadata, rows, claimed, [name], path, group))[name];
    dimension ??= vectors[0]?.length ?? null;
    const block = new Float32Array(claimed * (dimension ?? 0));
    vectors.forEach((vector, r) => {
      if (!vector || vector.length !== dimension) throw new InputError(`${path}: row ${rows + r} of ${name} has ${vector?.length ?? 'no'} values; row 0 has ${dimension}`);
      for (let d = 0; d < dimension; d++) {
        const value = vector[d];
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new InputError(`${path}: row ${rows + r} holds ${typeof value === 'number' ? value : typeof value} (every value must be a finite number)`);
        block[r * dimension + d] = value;
      }
    });
    blocks.push(block);
    rows += claimed;
  }
  if (!dimension) throw new InputError(`${path}: column ${name} has no vectors`);
  return { rows, dimension, values: concat(Float32Array, blocks) };
}
