// An HTML page's main text cut at its headings and top-level definitions, each section a document
// with a title field (the page's <title>, the heading chain, the path) as Markdown and
// reStructuredText files get (text-sections.mjs).

import { parseDocument } from 'htmlparser2';

import { titleField } from './text-sections.mjs';

/** Elements whose text is page furniture, not content. */
const SKIPPED = new Set(['script', 'style', 'noscript', 'template', 'nav', 'header', 'footer', 'aside', 'form', 'button', 'svg', 'iframe']);
const BLOCKS = new Set(['p', 'div', 'section', 'article', 'main', 'li', 'ul', 'ol', 'dl', 'dt', 'dd', 'pre', 'table', 'tr', 'td', 'th', 'blockquote', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'figure', 'figcaption']);
const HEADING = /^h[1-6]$/;
/** Classes of page furniture: Sphinx's ¶ links, DocBook's navigation bars. */
const FURNITURE = /(^|\s)(headerlink|navheader|navfooter|docnav)(\s|$)/;

/**
 * An HTML page's main text cut at its headings and top-level definitions (an API reference's
 * `<dl><dt id="os.path.realpath">`): one document per section, its id and url
 * `page.html#anchor` (the heading's id, or its section's, or the definition's), metadata
 * { title, section }. Text after a definition goes back to the section around it.
 */
export function htmlSections(html, path) {
  const dom = parseDocument(html);
  // Every walk is iterative: a page nested 10^5 elements deep must not overflow the stack.
  const all = (root, test) => {
    const out = [];
    const stack = [...(root.children ?? [])].reverse();
    while (stack.length) {
      const node = stack.pop();
      if (node.type === 'tag' && test(node)) out.push(node);
      for (let i = (node.children?.length ?? 0) - 1; i >= 0; i--) stack.push(node.children[i]);
    }
    return out;
  };
  const title = textOf(all(dom, (n) => n.name === 'title')[0] ?? { children: [] }).replace(/\s+/g, ' ').trim() || path;
  const main = all(dom, (n) => n.name === 'main' || n.attribs?.role === 'main')[0] ?? all(dom, (n) => n.name === 'article')[0] ?? all(dom, (n) => n.name === 'body')[0] ?? dom;
  const sections = [];
  const open = (anchor, heading, level) => {
    const section = { anchor, heading, level, parts: [] };
    sections.push(section);
    return section;
  };
  let current = open(null, null, 0);
  // The level of the heading the walk is under (a definition sits one below it).
  let headingLevel = 0;
  let inDefinition = false;
  // The nearest id above a heading: Sphinx and most generators put it on the section.
  let openAnchor = null;
  // A stack of work: nodes to enter, and functions to run when a node's children are done.
  const stack = [main];
  while (stack.length) {
    const item = stack.pop();
    if (typeof item === 'function') {
      item();
      continue;
    }
    const node = item;
    if (node.type === 'text') {
      current.parts.push(node.data);
      continue;
    }
    if (node.type !== 'tag' && node !== main) continue;
    if (SKIPPED.has(node.name) || FURNITURE.test(node.attribs?.class ?? '')) continue;
    const children = node.children ?? [];
    const term = node.name === 'dl' && !inDefinition ? children.find((c) => c.type === 'tag' && c.name === 'dt') : null;
    if (term?.attribs?.id) {
      const around = current;
      current = open(term.attribs.id, term.attribs.id, headingLevel + 1);
      inDefinition = true;
      stack.push(() => {
        inDefinition = false;
        current = around;
        current.parts.push('\n');
      });
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
      continue;
    }
    const before = openAnchor;
    // Sphinx's <section id>, DocBook's <div class="sect1" id> (PostgreSQL's manual).
    if (node.attribs?.id && (node.name === 'section' || (node.name === 'div' && /\b(section|sect\d|refsect\d|chapter|appendix|refentry)\b/.test(node.attribs.class ?? '')))) openAnchor = node.attribs.id;
    if (HEADING.test(node.name) && !inDefinition) {
      headingLevel = Number(node.name[1]);
      // DocBook's other style puts the anchor in the heading: <h2><a id="sect.apt-get"></a>…</h2>.
      const inner = all(node, (n) => n.name === 'a' && n.attribs?.id)[0]?.attribs.id;
      current = open(node.attribs?.id ?? inner ?? openAnchor, textOf(node).replace(/\s+/g, ' ').trim(), headingLevel);
      openAnchor = null;
    }
    const block = BLOCKS.has(node.name);
    if (block) current.parts.push('\n');
    stack.push(() => {
      if (block) current.parts.push('\n');
      openAnchor = before;
    });
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  const seen = new Set();
  const out = [];
  const chain = [];
  sections.forEach(({ anchor, heading, level, parts }, i) => {
    while (chain.length && chain[chain.length - 1].level >= level) chain.pop();
    if (heading) chain.push({ level, heading });
    const text = parts.join('').replace(/[ \t\u00a0]+/g, ' ').replace(/ *\n[ \n]*/g, '\n').trim();
    if (!text) return;
    let url = anchor ? `${path}#${anchor}` : i === 0 ? path : `${path}#${i}`;
    if (seen.has(url)) url = `${url}~${i}`;
    seen.add(url);
    const field = titleField(title, chain.map((entry) => entry.heading), path);
    out.push({ id: url, text, title: field, metadata: { title, section: heading ?? title }, url });
  });
  return out;
}

/** The text under `root`, skipped elements left out (iteratively, as above). */
function textOf(root) {
  const out = [];
  const stack = [root];
  while (stack.length) {
    const node = stack.pop();
    if (node.type === 'text') {
      out.push(node.data);
      continue;
    }
    if (node.type === 'tag' && (SKIPPED.has(node.name) || FURNITURE.test(node.attribs?.class ?? ''))) continue;
    for (let i = (node.children?.length ?? 0) - 1; i >= 0; i--) stack.push(node.children[i]);
  }
  return out.join('');
}

