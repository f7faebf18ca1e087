//! Names a document's text defines in reStructuredText (Sphinx's domains): `.. function::
//! a2b_hex(hexstr)`, `.. py:class:: JSONDecoder`, `.. c:function:: PyObject_GetAttr`. Such a
//! line names its section the way a heading does, so the names join the document's title field:
//! the section that defines `a2b_hex` outranks the ones that only mention it (the sources of
//! the Python docs: identifiers 0.86 → 0.90 MRR@10, bench/search-quality).

/// Object kinds of Sphinx's Python, C, C++ and JavaScript domains that define a name.
const KINDS: &[&str] = &[
    "function",
    "class",
    "method",
    "classmethod",
    "staticmethod",
    "attribute",
    "data",
    "exception",
    "decorator",
    "decoratormethod",
    "property",
    "coroutinefunction",
    "coroutinemethod",
    "abstractmethod",
    "macro",
    "member",
    "type",
    "struct",
    "var",
    "enum",
    "enumerator",
    "module",
];

/// Names defined per document at most: a title field stays a title, not a second body.
pub const MAX_NAMES: usize = 256;

/// The names `text` defines, in order (at most `MAX_NAMES`): a definition indented inside a
/// class's is also named with the class's (`Context.multiply`), as a query qualifies it.
pub fn defined_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    // The classes whose blocks are open: (indent, name).
    let mut classes: Vec<(usize, String)> = Vec::new();
    for line in text.lines() {
        if names.len() >= MAX_NAMES {
            break;
        }
        let indent = line.len() - line.trim_start().len();
        if !line.trim().is_empty() {
            while classes.last().is_some_and(|&(at, _)| at >= indent) {
                classes.pop();
            }
        }
        let Some((kind, name)) = definition(line.trim_start()) else { continue };
        if let Some((_, class)) = classes.last() {
            names.push(format!("{class}.{name}"));
        }
        names.push(name.to_string());
        if kind == "class" || kind == "exception" {
            classes.push((indent, name.to_string()));
        }
    }
    names.truncate(MAX_NAMES);
    names
}

/// A definition directive's kind and name: `.. py:method:: decode(s)` → ("method", "decode").
fn definition(line: &str) -> Option<(&str, &str)> {
    let (directive, after) = line.strip_prefix(".. ")?.split_once("::")?;
    // `py:function`, `function`: the kind after an optional domain.
    let kind = directive.rsplit(':').next().unwrap_or(directive);
    if directive.contains(char::is_whitespace) || !KINDS.contains(&kind) {
        return None;
    }
    // C's `.. c:function:: PyObject *PyObject_GetAttr(...)`: the name is the word before `(`.
    let signature = after.trim_start().split('(').next().unwrap_or("");
    let name = signature.split_whitespace().last().unwrap_or("").trim_start_matches('*');
    let end = name.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | ':'))).unwrap_or(name.len());
    (end > 0).then(|| (kind, &name[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sphinx_definitions_name_their_section() {
        let text =
            "Intro\n\n.. function:: a2b_hex(hexstr)\n\n   Text.\n\n   .. method:: decode(s)\n.. py:class:: JSONDecoder(*, strict=True)\n\
                    .. c:function:: PyObject *PyObject_GetAttr(PyObject *o, PyObject *name)\n.. note:: not a name\n\
                    .. data:: MAXSIZE\n.. code-block:: python\n.. function::\n";
        assert_eq!(defined_names(text), ["a2b_hex", "decode", "JSONDecoder", "PyObject_GetAttr", "MAXSIZE"]);
        let nested = ".. class:: Context(prec=None)\n\n   Text.\n\n   .. method:: multiply(x, y)\n\n.. function:: after()\n";
        assert_eq!(defined_names(nested), ["Context", "Context.multiply", "multiply", "after"]);
        let many = ".. data:: X\n".repeat(10_000);
        assert_eq!(defined_names(&many).len(), MAX_NAMES);
    }
}
