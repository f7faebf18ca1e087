// Markdown and reStructuredText files cut at their headings, as HTML pages are (html-sections.mjs):
// one document per section, its text from its heading to the next one, its title field the
// page's title, the heading chain down to it, and the file's path, so that what names a section
// (a page about `binascii`, a heading "Installation") counts on the keyword side even where its
// text never says it. reStructuredText written for Sphinx also cuts at each top-level definition
// (`.. function:: a2b_hex(hexstr)`), whose id is its qualified name (`binascii.a2b_hex`, as
// Sphinx's anchor) and whose title field holds it: the text of such a section never spells it.

import { MAX_TITLE_UNITS } from '../search/records.js';

/** Where a section's title field joins its parts: page › headings · path. */
export const CHAIN = ' › ';
export const PATH_JOINER = ' · ';

/** A title field as documents carry it: `page › h2 › h3 · path` (a part the page title repeats is left out). */
export function titleField(pageTitle, chain, path) {
  const parts = [pageTitle];
  for (const heading of chain) if (heading && !parts.some((part) => part.includes(heading))) parts.push(heading);
  const field = `${parts.filter(Boolean).join(CHAIN)}${PATH_JOINER}${path}`;
  // An index takes a title field of at most MAX_TITLE_UNITS: a long chain of names is cut, the path kept.
  return field.length <= MAX_TITLE_UNITS ? field : `${field.slice(0, Math.max(0, MAX_TITLE_UNITS - path.length - PATH_JOINER.length - 1))}…${PATH_JOINER}${path}`.slice(0, MAX_TITLE_UNITS);
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading) {
  return heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
}

/** Unique anchors within one file: a repeated one gets `-1`, `-2`, … as GitHub and docutils do. */
function anchors() {
  const seen = new Map();
  return (base) => {
    const at = seen.get(base) ?? 0;
    seen.set(base, at + 1);
    return at === 0 ? base : `${base}-${at}`;
  };
}

/** Sections `{ heading, level, anchor, lines }` as documents `{ id, text, title, metadata, url }`. */
function documentsOf(sections, pageTitle, path) {
  const chain = [];
  const out = [];
  sections.forEach(({ heading, level, anchor, lines, names }) => {
    while (chain.length && chain[chain.length - 1].level >= level) chain.pop();
    if (heading) chain.push({ level, heading });
    const text = lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
    // A heading with nothing under it before the next one names its subsections, which carry it.
    if (!text || text === heading) return;
    // A file's first section is the page itself: its id is the file's path.
    const url = anchor && out.length > 0 ? `${path}#${anchor}` : path;
    const headings = chain.map((entry) => entry.heading);
    const field = titleField(pageTitle, names?.length ? [...headings, ...names] : headings, path);
    out.push({ id: url, text, title: field, metadata: { title: pageTitle, section: heading ?? pageTitle }, url });
  });
  return out;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;

/** A Markdown file's sections (ATX `#` and setext headings; none inside fenced code). */
export function markdownSections(source, path) {
  let lines = source.replace(/\r\n?/g, '\n').split('\n');
  let pageTitle = null;
  // Front matter: its title names the page; the rest is not text to search.
  if (lines[0] === '---') {
    const end = lines.indexOf('---', 1);
    if (end > 0) {
      pageTitle = lines.slice(1, end).map((line) => line.match(/^title:\s*["']?(.*?)["']?\s*$/)?.[1]).find(Boolean) ?? null;
      lines = lines.slice(end + 1);
    }
  }
  const anchor = anchors();
  const sections = [{ heading: null, level: 0, anchor: null, lines: [] }];
  let fence = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fenced = line.match(FENCE);
    if (fence) {
      if (fenced && fenced[1][0] === fence[0] && fenced[1].length >= fence.length) fence = null;
      sections[sections.length - 1].lines.push(line);
      continue;
    }
    if (fenced) fence = fenced[1];
    const atx = !fenced && line.match(/^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/);
    const setext = !fenced && !atx && line.trim() && /^\s{0,3}(=+|-+)\s*$/.test(lines[i + 1] ?? '') && !/^\s{0,3}([-*_]\s*){3,}$/.test(line) && !/^\s*([-*+]|\d+[.)])\s/.test(line);
    if (atx || setext) {
      const heading = inlineText(atx ? atx[2] : line.trim());
      const level = atx ? atx[1].length : lines[i + 1].trim()[0] === '=' ? 1 : 2;
      if (level === 1 && !pageTitle) pageTitle = heading;
      sections.push({ heading, level, anchor: anchor(slug(heading)), lines: [heading] });
      if (setext) i++;
      continue;
    }
    sections[sections.length - 1].lines.push(line);
  }
  return documentsOf(sections, pageTitle ?? path, path);
}

/** Markdown inline markup as the words it shows: links' and images' text, code and emphasis unmarked. */
function inlineText(text) {
  return text.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*_]+([^`*_]+)[`*_]+/g, '$1').trim();
}

/** Characters an underline (or overline) of a reStructuredText heading is drawn with. */
const ADORNMENT = /^([!-/:-@[-`{-~])\1*\s*$/;
/** Sphinx's Python domain: the directives that define a name. */
const DEFINITION = /^(\s*)\.\. (?:py:)?(function|class|method|classmethod|staticmethod|attribute|data|exception|decorator|decoratormethod|property|coroutinefunction|coroutinemethod|abstractmethod|module|currentmodule)::\s*(.*)$/;
/** Directives whose block is markup, not text: left out with their options. */
const HIDDEN = /^(\s*)\.\. (?:index|toctree|sectionauthor|moduleauthor|highlight|testsetup|testcleanup|only|raw|include|image|figure|_[^:]*):/;

/**
 * A reStructuredText file's sections: headings (an underline, or an over- and underline, of one
 * punctuation character; levels in the order the file first uses each style), and Sphinx's
 * top-level definitions, each its own section until the text returns to the left margin.
 * Roles (`:func:`os.path.join``) and inline literals read as their text.
 */
export function restSections(source, path) {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const styles = [];
  const levelOf = (style) => {
    if (!styles.includes(style)) styles.push(style);
    return styles.indexOf(style) + 1;
  };
  const anchor = anchors();
  const sections = [{ heading: null, level: 0, anchor: null, lines: [] }];
  let pageTitle = null;
  let module = null;
  let definition = null; // { level, classes: [{ indent, name }] } while a top-level definition's block is open
  let hidden = null; // the indent of a hidden directive whose block is being skipped
  let options = false; // just after a directive's line, where its options are
  const current = () => sections[sections.length - 1];
  const headingAt = (i) => {
    const [above, line, below] = [lines[i - 1], lines[i], lines[i + 1]];
    if (!line?.trim() || /^\s/.test(line) || ADORNMENT.test(line)) return null;
    if (below === undefined || !ADORNMENT.test(below) || below.trim().length < Math.min(line.trim().length, 3)) return null;
    const overlined = above !== undefined && ADORNMENT.test(above) && above.trim()[0] === below.trim()[0];
    return { text: line.trim(), style: `${overlined ? 'o' : 'u'}${below.trim()[0]}`, overlined };
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const indent = line.match(/^\s*/)[0].length;
    if (hidden !== null) {
      if (!line.trim() || indent > hidden) continue;
      hidden = null;
    }
    const heading = headingAt(i);
    if (heading) {
      if (heading.overlined) current().lines.pop();
      const text = inlineRest(heading.text);
      const level = levelOf(heading.style);
      if (!pageTitle) pageTitle = text;
      definition = null;
      sections.push({ heading: text, level, anchor: anchor(slug(text)), lines: [text] });
      i++;
      continue;
    }
    if (definition && line.trim() && indent === 0) definition = null;
    if (HIDDEN.test(line)) {
      hidden = indent;
      continue;
    }
    const directive = line.match(DEFINITION);
    if (directive) {
      const [, space, kind, rest] = directive;
      const name = rest.match(/^[\w.]+/)?.[0] ?? '';
      if (kind === 'module' || kind === 'currentmodule') {
        module = name && name !== 'None' ? name : null;
        hidden = indent;
        continue;
      }
      const qualified = qualify(name, module, definition?.classes.filter((c) => c.indent < space.length) ?? []);
      if (space.length === 0) {
        // A top-level definition: its own section, under the heading it sits in.
        const around = sections.findLast((s) => !s.definition);
        definition = { level: around.level + 1, classes: [] };
        sections.push({ heading: qualified, level: definition.level, anchor: anchor(qualified), lines: [], names: [qualified], definition: true });
      } else if (definition) {
        current().names.push(qualified);
      }
      if (definition && (kind === 'class' || kind === 'exception')) definition.classes.push({ indent: space.length, name: qualified });
      current().lines.push(`${space}${qualified}${rest.slice(name.length)}`);
      options = true;
      continue;
    }
    // Any other directive reads as its name and arguments (`note:`, `versionchanged: 3.3`).
    const other = line.match(/^(\s*)\.\. ([\w:-]+)::\s*(.*)$/);
    if (other) {
      current().lines.push(`${other[1]}${other[2].replace(/^\w+:/, '')}: ${inlineRest(other[3])}`.trimEnd());
      options = true;
      continue;
    }
    // A file's own fields (`:tocdepth: 2`) before its title are not text.
    if (!pageTitle && /^:[\w-]+:(\s|$)/.test(line)) continue;
    // A directive's options (`:noindex:`, `:synopsis: …`) run from its line to the first blank one.
    if (options && line.trim() && /^\s+:[\w-]+:(\s|$)/.test(line)) continue;
    options = false;
    current().lines.push(inlineRest(line));
  }
  return documentsOf(sections, pageTitle ?? path, path);
}

/** `name` qualified by the module and the classes around it (`decode` in `json.JSONDecoder`). */
function qualify(name, module, classes) {
  const owner = classes.length ? classes[classes.length - 1].name : module;
  if (!owner || name.startsWith(`${owner}.`) || (module && name.startsWith(`${module}.`))) return name;
  return `${owner}.${name}`;
}

/** reStructuredText inline markup as the words it shows: roles, literals, emphasis, references. */
function inlineRest(text) {
  return text
    .replace(/:[\w:.+-]+:`([^`<]*?)\s*(?:<[^`>]*>)?`/g, (_, shown) => shown.replace(/^[~!]/, ''))
    .replace(/``([^`]+)``/g, '$1')
    .replace(/`([^`<]+?)\s*(?:<[^`>]*>)?`_{1,2}/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|\W)\*([^*\s][^*]*)\*(?=\W|$)/g, '$1$2')
    .replace(/\|([^|\s][^|]*)\|/g, '$1');
}
