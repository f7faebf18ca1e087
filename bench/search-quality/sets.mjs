// The development and held-out sets that webembed's search defaults are chosen on: known-item
// queries over several corpora of other shapes, each made here from files a Debian machine
// installs (python3.11-doc, postgresql-doc, debian-handbook), the crates' READMEs cargo fetched
// for this repository, and the small collections written beside this file. Each corpus is a
// list of documents `{ id, text, title }` as an application would add them (its sections, a
// title field of page title, heading chain and path) and queries `{ id, text, kind, answer,
// half }`, `half` 'dev' or 'held-out' by a hash of the query's id.
//
// The answer's own heading is left out of its text and title where the query is that heading
// (a question of the FAQ, a section's name): what is left is what a search must find it by.
//
// Deterministic: the same files give the same sets.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';

import { htmlSections } from '../../pkg/cli/html-sections.mjs';
import { markdownSections, restSections, titleField, CHAIN, PATH_JOINER } from '../../pkg/cli/text-sections.mjs';

const PYTHON_HTML = '/usr/share/doc/python3.11/html';
const POSTGRES_HTML = '/usr/share/doc/postgresql-doc-15/html';
const HANDBOOK_HTML = '/usr/share/doc/debian-handbook/html/en-US';
/** Queries of each kind a corpus keeps at most (before the halves are split). */
const QUERIES_PER_KIND = 160;

export function half(id) {
  return createHash('sha256').update(id).digest()[0] % 2 === 0 ? 'dev' : 'held-out';
}

/** Every corpus whose files are here: `[{ name, form, documents, queries }]`; missing ones are named in `missing`. */
export function makeSets({ only } = {}) {
  const makers = {
    'python-html': pythonHtml,
    'python-rst': pythonRst,
    'python-rst-cli': pythonRstCli,
    'postgres-html': () => headingSet('postgres-html', POSTGRES_HTML, 'HTML (PostgreSQL 15 manual)', (file) => /^(functions|sql-|datatype|ddl|queries|indexes|mvcc|backup|runtime-config)/.test(file)),
    'handbook-html': () => headingSet('handbook-html', HANDBOOK_HTML, 'HTML (Debian Administrator\'s Handbook, en-US)', () => true),
    'markdown-readmes': markdownReadmes,
    'small-collections': smallCollections,
  };
  const sets = [];
  const missing = [];
  for (const [name, make] of Object.entries(makers)) {
    if (only && !only.includes(name)) continue;
    const set = make();
    if (set.missing) missing.push(`${name}: ${set.missing}`);
    else sets.push(set);
  }
  return { sets, missing };
}

function files(root, test) {
  const out = [];
  const walk = (folder) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (test(relative(root, path))) out.push(relative(root, path));
    }
  };
  walk(root);
  return out;
}

/** Python's pages the sets use: the FAQ, and every fifth library page (a fixed sample). */
function pythonPages(extension) {
  const root = extension === '.html' ? PYTHON_HTML : join(PYTHON_HTML, '_sources');
  const all = files(root, (path) => path.endsWith(extension) && (path.startsWith('faq/') || path.startsWith('library/')));
  const library = all.filter((path) => path.startsWith('library/'));
  return { root, pages: [...all.filter((path) => path.startsWith('faq/')), ...library.filter((_, i) => i % 5 === 0)] };
}

/** A document whose own heading is its query: heading left out of its text and its title field. */
function withoutHeading(doc, heading) {
  const lines = doc.text.split('\n');
  const text = lines[0].trim() === heading ? lines.slice(1).join('\n').trim() : doc.text;
  const [names, path] = splitTitle(doc.title);
  return { ...doc, text, title: titleField(names[0], names.slice(1).filter((n) => n !== heading), path) };
}

function splitTitle(title) {
  const at = title.lastIndexOf(PATH_JOINER);
  return [title.slice(0, at).split(CHAIN), title.slice(at + PATH_JOINER.length)];
}

function pick(list, count, seed) {
  const keyed = list.map((item) => [createHash('sha256').update(`${seed}:${item.id}`).digest('hex'), item]);
  return keyed.sort(([a], [b]) => (a < b ? -1 : 1)).slice(0, count).map(([, item]) => item);
}

function finish(name, form, documents, queries) {
  const ids = new Set(documents.map((doc) => doc.id));
  const kept = queries.filter((q) => ids.has(q.answer));
  return { name, form, documents, queries: kept.map((q) => ({ ...q, half: half(`${name}:${q.id}`) })) };
}

function isQuestion(heading) {
  return /\?$/.test(heading) && heading.split(/\s+/).length >= 4;
}

function pythonHtml() {
  if (!existsSync(join(PYTHON_HTML, 'faq'))) return { missing: `${PYTHON_HTML} is absent (apt-get install python3.11-doc)` };
  const { root, pages } = pythonPages('.html');
  let documents = pages.flatMap((page) => htmlSections(readFileSync(join(root, page), 'utf8'), page));
  const questions = [];
  documents = documents.map((doc) => {
    const heading = doc.metadata.section;
    if (doc.id.startsWith('faq/') && isQuestion(heading)) {
      questions.push({ id: doc.id, text: heading, kind: 'question', answer: doc.id });
      return withoutHeading(doc, heading);
    }
    return doc;
  });
  // A definition's section is named by its anchor: `os.path.realpath`.
  const names = documents.filter((doc) => /^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$/.test(doc.metadata.section) && doc.id.endsWith(`#${doc.metadata.section}`));
  const identifiers = names.map((doc) => ({ id: doc.id, text: doc.metadata.section, kind: 'identifier', answer: doc.id }));
  return finish('python-html', 'HTML (Python 3.11 docs: FAQ and a fifth of the library)', documents, [...pick(questions, QUERIES_PER_KIND, 'q'), ...pick(identifiers, QUERIES_PER_KIND, 'i')]);
}

/**
 * The same pages as their reStructuredText sources, cut plainly (at headings only, as a script
 * of one's own would: the text as written, markup and all; a title field of the heading chain and
 * path). A definition (`.. function:: a2b_hex(hexstr)`) is found by its qualified name in the
 * section that holds it, whose text never spells the module.
 */
function pythonRst() {
  if (!existsSync(join(PYTHON_HTML, '_sources', 'faq'))) return { missing: `${PYTHON_HTML}/_sources is absent (apt-get install python3.11-doc)` };
  const { root, pages } = pythonPages('.rst.txt');
  const documents = [];
  const queries = [];
  const seenNames = new Map();
  for (const page of pages) {
    const sections = plainRestSections(readFileSync(join(root, page), 'utf8'));
    const pageTitle = sections.find((s) => s.heading)?.heading ?? page;
    sections.forEach((section, i) => {
      const id = `${page}#${i}`;
      const question = page.startsWith('faq/') && section.heading && isQuestion(section.heading);
      const chain = question ? section.chain.slice(0, -1) : section.chain;
      const text = question ? section.lines.slice(1).join('\n').trim() : section.lines.join('\n').trim();
      if (!text) return;
      documents.push({ id, text, title: titleField(pageTitle, chain, page) });
      if (question) queries.push({ id, text: section.heading, kind: 'question', answer: id });
      for (const name of section.definitions) seenNames.set(name, seenNames.has(name) ? null : id);
    });
  }
  const identifiers = [...seenNames].filter(([name, id]) => id && name.includes('.')).map(([name, id]) => ({ id: `${id}:${name}`, text: name, kind: 'identifier', answer: id }));
  return finish('python-rst', 'reStructuredText sources of the same pages, cut at headings', documents, [...pick(queries, QUERIES_PER_KIND, 'q'), ...pick(identifiers, QUERIES_PER_KIND, 'i')]);
}

/** The sources as `webembed index` reads them (text-sections.mjs): definitions their own sections. */
function pythonRstCli() {
  if (!existsSync(join(PYTHON_HTML, '_sources', 'faq'))) return { missing: `${PYTHON_HTML}/_sources is absent (apt-get install python3.11-doc)` };
  const { root, pages } = pythonPages('.rst.txt');
  const questions = [];
  const documents = pages.flatMap((page) => restSections(readFileSync(join(root, page), 'utf8'), page)).map((doc) => {
    const heading = doc.metadata.section;
    if (doc.id.startsWith('faq/') && isQuestion(heading)) {
      questions.push({ id: doc.id, text: heading, kind: 'question', answer: doc.id });
      return withoutHeading(doc, heading);
    }
    return doc;
  });
  const identifiers = documents.filter((doc) => doc.id.includes('#') && /^[A-Za-z_]\w*(\.\w+)+$/.test(doc.metadata.section)).map((doc) => ({ id: doc.id, text: doc.metadata.section, kind: 'identifier', answer: doc.id }));
  return finish('python-rst-cli', 'the same sources as webembed index cuts them (definitions apart, qualified names in the title)', documents, [...pick(questions, QUERIES_PER_KIND, 'q'), ...pick(identifiers, QUERIES_PER_KIND, 'i')]);
}

/** reStructuredText cut at headings only: `[{ heading, chain, lines, definitions }]`. */
function plainRestSections(source) {
  const lines = source.split('\n');
  const adornment = /^([=\-`:'"~^_*+#<>])\1{2,}\s*$/;
  const styles = [];
  const sections = [{ heading: null, chain: [], lines: [], definitions: [] }];
  const chain = [];
  let module = null;
  const classes = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() && !/^\s/.test(line) && !adornment.test(line) && adornment.test(lines[i + 1] ?? '')) {
      const overlined = adornment.test(lines[i - 1] ?? '');
      const style = `${overlined ? 'o' : 'u'}${lines[i + 1].trim()[0]}`;
      if (!styles.includes(style)) styles.push(style);
      const level = styles.indexOf(style);
      if (overlined) sections[sections.length - 1].lines.pop();
      chain.length = level;
      chain[level] = line.trim();
      sections.push({ heading: line.trim(), chain: [...chain], lines: [line.trim()], definitions: [] });
      i++;
      continue;
    }
    const module_ = line.match(/^\.\. (?:current)?module:: ([\w.]+)/);
    if (module_) module = module_[1];
    const definition = line.match(/^(\s*)\.\. (?:py:)?(function|class|method|classmethod|staticmethod|attribute|data|exception|decorator)::\s*([\w.]+)/);
    if (definition) {
      const indent = definition[1].length;
      while (classes.length && classes[classes.length - 1].indent >= indent) classes.pop();
      const owner = classes.length ? classes[classes.length - 1].name : module;
      const name = owner && !definition[3].startsWith(`${owner}.`) && !(module && definition[3].startsWith(`${module}.`)) ? `${owner}.${definition[3]}` : definition[3];
      sections[sections.length - 1].definitions.push(name);
      if (definition[2] === 'class' || definition[2] === 'exception') classes.push({ indent, name });
    }
    sections[sections.length - 1].lines.push(line);
  }
  return sections;
}

/** Sections named by headings of at least three words that no other section shares: the heading is the query. */
function headingSet(name, root, form, keepFile) {
  if (!existsSync(root)) return { missing: `${root} is absent` };
  const pages = files(root, (path) => path.endsWith('.html') && keepFile(path));
  let documents = pages.flatMap((page) => htmlSections(readFileSync(join(root, page), 'utf8'), page));
  return headingQueries(name, form, documents);
}

function headingQueries(name, form, documents) {
  const headingOf = (doc) => doc.metadata.section.replace(/^(?:[A-Z]\.|\d+\.)(?:\d+\.)*\s*/, '').trim();
  const counts = new Map();
  for (const doc of documents) counts.set(headingOf(doc).toLowerCase(), (counts.get(headingOf(doc).toLowerCase()) ?? 0) + 1);
  const queries = [];
  documents = documents.map((doc) => {
    const heading = headingOf(doc);
    // The first section of a page is named by the page's title too: not a fair query.
    const first = !doc.id.includes('#') || doc.metadata.section === doc.metadata.title;
    if (first || heading.split(/\s+/).length < 3 || counts.get(heading.toLowerCase()) > 1) return doc;
    const stripped = withoutHeading(doc, doc.metadata.section);
    if (stripped.text.length < 80) return doc;
    queries.push({ id: doc.id, text: heading, kind: 'heading', answer: doc.id });
    return stripped;
  });
  return finish(name, form, documents, pick(queries, 2 * QUERIES_PER_KIND, 'h'));
}

/** The READMEs of the crates cargo fetched for this workspace, as Markdown notes cut at headings. */
function markdownReadmes() {
  const registry = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'registry', 'src');
  if (!existsSync(registry)) return { missing: `${registry} is absent (cargo fetch)` };
  const lock = readFileSync(new URL('../../Cargo.lock', import.meta.url), 'utf8');
  const wanted = new Set([...lock.matchAll(/name = "([^"]+)"\nversion = "([^"]+)"/g)].map(([, n, v]) => `${n}-${v}`));
  const documents = [];
  for (const index of readdirSync(registry).sort()) {
    for (const crate of readdirSync(join(registry, index)).sort()) {
      if (!wanted.has(crate)) continue;
      wanted.delete(crate);
      const readme = readdirSync(join(registry, index, crate)).find((f) => /^readme\.md$/i.test(f));
      if (readme) documents.push(...markdownSections(readFileSync(join(registry, index, crate, readme), 'utf8'), `${crate}/${readme}`));
    }
  }
  return headingQueries('markdown-readmes', 'Markdown (the READMEs of the crates in Cargo.lock)', documents);
}

/** Each small collection is its own corpus of ~15 sentences (its queries paraphrase one). */
function smallCollections() {
  const { collections } = JSON.parse(readFileSync(new URL('./small-collections.json', import.meta.url), 'utf8'));
  let n = 0;
  return {
    name: 'small-collections',
    form: `${collections.length} collections of 15 short sentences, each searched alone`,
    collections: collections.map((c) => ({
      name: c.name,
      documents: c.sentences.map((text, i) => ({ id: `${c.name}-${i}`, text, title: null })),
      queries: c.queries.map((q, i) => ({ id: `${c.name}-q${i}`, text: q.text, kind: 'paraphrase', answer: `${c.name}-${q.answer}`, half: n++ % 2 === 0 ? 'dev' : 'held-out' })),
    })),
  };
}
