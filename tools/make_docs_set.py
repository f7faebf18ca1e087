"""A known-item retrieval set from the Python documentation's HTML (Debian's python3.11-doc).

Documents are the pages' sections: each heading's own text (its subsections apart), and each
top-level definition (a function, a class with its methods) as a section of its own, as the
rendered page shows them. Queries are of two kinds, as people search docs:
- questions: the Python FAQ's section headings ("How do I make a Python script executable on
  Unix?"), whose answer is that section (its heading left out of the document's text);
- identifiers: a definition's full name as Sphinx writes it in its anchor (`os.path.realpath`,
  `json.JSONDecoder.decode`), whose answer is the section that defines it.

  python3 tools/make_docs_set.py [--pages N] [--queries N] OUT.json

Standard library only. Deterministic: the same docs give the same file.
"""

import argparse
import html.parser
import json
import pathlib
import platform
import re
import subprocess

DOCS = pathlib.Path("/usr/share/doc/python3.11/html")


class Sections(html.parser.HTMLParser):
    """Each <section>'s and top-level definition's own text, its heading, and the names defined in it."""

    SKIP = {"script", "style", "nav"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # open sections: dicts
        self.sections = []
        self.skip = 0
        self.in_heading = False
        self.in_headerlink = False
        self.in_main = False
        self.dl_depth = 0  # <dl> open inside the innermost definition block

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("role") == "main":
            self.in_main = True
        if not self.in_main:
            return
        if tag in self.SKIP:
            self.skip += 1
        if tag == "section" and attrs.get("id"):
            section = {"id": attrs["id"], "heading": "", "text": [], "definitions": [], "definition": False}
            self.stack.append(section)
            self.sections.append(section)
        if tag == "dl" and self.stack:
            if self.stack[-1]["definition"]:
                self.dl_depth += 1
            elif "py" in (attrs.get("class") or "").split():
                block = {"id": None, "heading": "", "text": [], "definitions": [], "definition": True}
                self.stack.append(block)
                self.sections.append(block)
                self.dl_depth = 1
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self.stack and not self.stack[-1]["heading"]:
            self.in_heading = True
        if tag == "a" and "headerlink" in (attrs.get("class") or ""):
            self.in_headerlink = True
        if tag == "dt" and "sig-object" in (attrs.get("class") or "") and attrs.get("id") and self.stack:
            self.stack[-1]["definitions"].append(attrs["id"])
            if self.stack[-1]["id"] is None:
                self.stack[-1]["id"] = attrs["id"]
                self.stack[-1]["heading"] = attrs["id"]
        if tag in ("p", "dt", "dd", "li", "pre", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6") and self.stack:
            self.stack[-1]["text"].append("\n")

    def handle_endtag(self, tag):
        if not self.in_main:
            return
        if tag in self.SKIP:
            self.skip -= 1
        if tag == "section" and self.stack and not self.stack[-1]["definition"]:
            self.stack.pop()
        if tag == "dl" and self.stack and self.stack[-1]["definition"]:
            self.dl_depth -= 1
            if self.dl_depth == 0:
                self.stack.pop()
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.in_heading = False
        if tag == "a":
            self.in_headerlink = False

    def handle_data(self, data):
        if not self.in_main or self.skip or self.in_headerlink or not self.stack:
            return
        section = self.stack[-1]
        if self.in_heading:
            section["heading"] += data
        else:
            section["text"].append(data)


def tidy(text):
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" ?\n[ \n]*", "\n", text)
    return text.strip()


def page_sections(path):
    parser = Sections()
    parser.feed(path.read_text(encoding="utf-8"))
    page = path.relative_to(DOCS).as_posix()
    out = []
    for s in parser.sections:
        if s["id"] is None:
            continue
        heading = tidy(s["heading"])
        body = tidy("".join(s["text"]))
        if not body:
            continue
        # A definition's signature is its heading already.
        out.append({"id": f"{page}#{s['id']}", "heading": "" if s["definition"] else heading, "body": body, "definitions": s["definitions"]})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--pages", type=int, default=110, help="pages in all (the FAQ's first)")
    parser.add_argument("--queries", type=int, default=175, help="queries of each kind at most")
    args = parser.parse_args()

    faq = sorted(p for p in (DOCS / "faq").glob("*.html") if p.name != "index.html")
    library = sorted((DOCS / "library").glob("*.html"))
    # Library pages that define things (module pages), in name order, until the page count.
    chosen = list(faq)
    for path in library:
        if len(chosen) >= args.pages:
            break
        if path.read_text(encoding="utf-8").count('class="sig sig-object py"') >= 3:
            chosen.append(path)

    corpus, questions, identifiers = {}, [], []
    defined = {}
    for path in chosen:
        for section in page_sections(path):
            is_question = path.parent.name == "faq" and section["heading"].endswith("?")
            # A question's own heading would give its answer away.
            text = section["body"] if is_question or not section["heading"] else f"{section['heading']}\n{section['body']}"
            corpus[section["id"]] = text
            if is_question:
                questions.append((section["heading"], section["id"]))
            for name in section["definitions"]:
                defined.setdefault(name, []).append(section["id"])
    for name, sections in sorted(defined.items()):
        # Names that are plain words ("open") are questions of another kind; keep dotted ones.
        if len(sections) == 1 and "." in name:
            identifiers.append((name, sections[0]))

    def spread(items, count):
        """`count` items evenly spread over the list (deterministic)."""
        if len(items) <= count:
            return items
        step = len(items) / count
        return [items[int(i * step)] for i in range(count)]

    queries, relevant, kinds = {}, {}, {}
    for kind, items in (("question", spread(questions, args.queries)), ("identifier", spread(identifiers, args.queries))):
        for i, (text, answer) in enumerate(items):
            qid = f"{kind}-{i}"
            queries[qid], relevant[qid], kinds[qid] = text, [answer], kind

    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3.11-doc"], capture_output=True, text=True).stdout
    data = {
        "source": f"Debian python3.11-doc {version}, /usr/share/doc/python3.11/html",
        "made_by": f"tools/make_docs_set.py (Python {platform.python_version()})",
        "pages": len(chosen),
        "corpus": corpus,
        "queries": queries,
        "relevant": relevant,
        "kinds": kinds,
    }
    pathlib.Path(args.out).write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(chosen)} pages, {len(corpus)} sections, {sum(k == 'question' for k in kinds.values())} questions, "
          f"{sum(k == 'identifier' for k in kinds.values())} identifiers")


if __name__ == "__main__":
    main()
