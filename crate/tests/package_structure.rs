//! The npm package's structure, checked as `structure.rs` checks the crate's: `pkg-template/` is
//! folders by concern stacked in layers, each importing only from its own layer or those below
//! it; no import circle among files or folders; the façade only re-exports; every import and
//! `new URL(…, import.meta.url)` names a file the package has; and each file name is spelled in
//! the one place that owns it. Reads the sources; builds nothing. Prints the graph by folder.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::repo_root;

/// The layers, lowest first. A folder imports only from its own layer and those before it.
const LAYERS: &[(&str, &str)] = &[
    ("(glue)", "what scripts/build.sh generates beside the façade: wasm-bindgen's glue and the three binaries"),
    ("core", "errors, the platform (fetch, workers, locks, cores), input checks, similarity"),
    ("loading", "the model folder's bytes: the hub, the cache, safetensors"),
    ("engine", "the wasm instance, its WebGPU start, shared-memory threads"),
    ("search", "the browser index, its storage, records, options, rows, evaluation"),
    ("shipped", "the shipped-index format, its builder and its reader"),
    ("workers", "worker mode's client, the worker pool, their channel"),
    ("model", "Embedder, Reranker, the search methods, the script a worker hosts a model in"),
    ("cli", "npx webembed (quantize, index)"),
    ("(façade)", "index.js: the public exports"),
];

/// Files the package holds beside the façade once built (not in pkg-template/).
const GENERATED: &[&str] =
    &["webembed_glue.js", "webembed_threads_glue.js", "webembed_bg.wasm", "webembed_relaxed_bg.wasm", "webembed_threads_bg.wasm"];

/// Package file names and the one folder whose modules may spell them.
const OWNERS: &[(&str, &str)] = &[
    ("webembed_glue.js", "engine"),
    ("webembed_threads_glue.js", "engine"),
    ("webembed_bg.wasm", "engine"),
    ("webembed_relaxed_bg.wasm", "engine"),
    ("webembed_threads_bg.wasm", "engine"),
    ("thread-worker.js", "engine"),
    ("worker-host.js", "workers"),
];

fn package() -> PathBuf {
    repo_root().join("pkg-template")
}

fn scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            scripts(&path, out);
        } else if path.extension().is_some_and(|e| e == "js" || e == "mjs") {
            out.push(path);
        }
    }
}

/// A package path, relative and with `/` separators (`engine/instance.js`).
fn relative(path: &Path) -> String {
    path.strip_prefix(package()).unwrap().to_string_lossy().replace('\\', "/")
}

/// The layer a package file belongs to: its folder, the façade, or the generated files.
fn layer_of(file: &str) -> &'static str {
    match file.split_once('/') {
        Some((folder, _)) => LAYERS.iter().find(|(name, _)| *name == folder).map_or("(unplaced)", |(name, _)| name),
        None if GENERATED.contains(&file) => "(glue)",
        None if file == "index.js" => "(façade)",
        None => "(unplaced)",
    }
}

fn rank(layer: &str) -> usize {
    LAYERS.iter().position(|(name, _)| *name == layer).unwrap_or(usize::MAX)
}

/// A file's code without comment lines (a comment may show an import it does not make).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut in_block = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if in_block {
            in_block = !trimmed.contains("*/");
            continue;
        }
        if trimmed.starts_with("/*") {
            in_block = !trimmed.contains("*/");
            continue;
        }
        if !trimmed.starts_with("//") {
            out.push(line);
        }
    }
    out.join("\n")
}

/// The quoted string right after each occurrence of `marker` in `code`.
fn quoted_after<'a>(code: &'a str, marker: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices(marker) {
        let rest = code[at + marker.len()..].trim_start();
        let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"' | '`')) else { continue };
        if let Some(end) = rest[1..].find(quote) {
            out.push(&rest[1..1 + end]);
        }
    }
    out
}

/// Relative specifiers `code` imports (static, re-export and dynamic), unresolved.
fn imports(code: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for marker in [" from", "import(", "import "] {
        out.extend(quoted_after(code, marker).into_iter().filter(|s| s.starts_with('.')).map(str::to_string));
    }
    out.sort();
    out.dedup();
    out
}

/// `new URL('…', import.meta.url)` targets in `code`, unresolved.
fn url_references(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("new URL(") {
        let rest = &code[at..];
        let call = &rest[..rest.find(')').map_or(rest.len(), |end| end + 1)];
        if call.contains("import.meta.url") {
            out.extend(quoted_after(call, "new URL(").into_iter().map(str::to_string));
        }
    }
    out
}

/// `specifier` as a package path, seen from `from` (a package path); None if it leaves the package.
fn resolve(from: &str, specifier: &str) -> Option<String> {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in specifier.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                parts.pop()?;
            }
            name => parts.push(name),
        }
    }
    Some(parts.join("/"))
}

struct Graph {
    /// Package file → the package files it imports.
    files: BTreeMap<String, BTreeSet<String>>,
    /// What went wrong while reading it (unplaced files, imports of nothing, …).
    problems: Vec<String>,
}

fn read_graph() -> Graph {
    let mut paths = Vec::new();
    scripts(&package(), &mut paths);
    let present: BTreeSet<String> = paths.iter().map(|p| relative(p)).collect();
    let mut files = BTreeMap::new();
    let mut problems = Vec::new();
    for path in &paths {
        let file = relative(path);
        if layer_of(&file) == "(unplaced)" {
            problems.push(format!("{file} is in no layer: put it in a folder of LAYERS (or add its folder there)"));
        }
        let code = code_of(path);
        let mut edges = BTreeSet::new();
        for specifier in imports(&code) {
            match resolve(&file, &specifier) {
                Some(target) if present.contains(&target) || GENERATED.contains(&target.as_str()) => {
                    edges.insert(target);
                }
                _ => problems.push(format!("{file} imports {specifier:?}, which is no file of the package")),
            }
        }
        for specifier in url_references(&code) {
            match resolve(&file, &specifier) {
                Some(target) if present.contains(&target) || GENERATED.contains(&target.as_str()) => {}
                _ => problems.push(format!("{file} refers to {specifier:?} by URL, which is no file of the package")),
            }
        }
        files.insert(file, edges);
    }
    Graph { files, problems }
}

/// A cycle, if the graph has one (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| {
        done.clear();
        visit(node, graph, &mut Vec::new(), &mut done)
    })
}

/// Imports that run from a lower layer to a higher one: `from → to (layers)`.
fn upward(files: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (from, targets) in files {
        for to in targets {
            let (a, b) = (layer_of(from), layer_of(to));
            if rank(b) > rank(a) {
                out.push(format!("{from} ({a}) imports {to} ({b}), a higher layer"));
            }
        }
    }
    out
}

/// Folder → folder import counts.
fn by_folder(files: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<&'static str, BTreeMap<&'static str, usize>> {
    let mut out: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for (from, targets) in files {
        let edges = out.entry(layer_of(from)).or_default();
        for to in targets.iter().filter(|to| layer_of(to) != layer_of(from)) {
            *edges.entry(layer_of(to)).or_default() += 1;
        }
    }
    out
}

#[test]
fn the_package_is_layered_without_a_circle() {
    let graph = read_graph();
    assert!(graph.files.len() > 25, "found {} scripts in pkg-template", graph.files.len());
    assert!(graph.problems.is_empty(), "{}", graph.problems.join("\n"));

    let folders = by_folder(&graph.files);
    eprintln!("package imports by folder (lowest layer first; n = import arrows):");
    for (layer, what) in LAYERS {
        let edges = folders.get(layer).map(|e| {
            let mut list: Vec<_> = e.iter().collect();
            list.sort_by_key(|(to, _)| rank(to));
            list.iter().map(|(to, n)| format!("{to} ({n})")).collect::<Vec<_>>().join(", ")
        });
        eprintln!("  {layer:<9} → {:<60} {what}", edges.unwrap_or_default());
    }

    let up = upward(&graph.files);
    assert!(up.is_empty(), "imports that run upward:\n{}", up.join("\n"));
    if let Some(cycle) = find_cycle(&graph.files) {
        panic!("import circle among files: {}", cycle.join(" → "));
    }
    let folder_graph: BTreeMap<String, BTreeSet<String>> =
        folders.iter().map(|(from, e)| (from.to_string(), e.keys().map(|to| to.to_string()).collect())).collect();
    if let Some(cycle) = find_cycle(&folder_graph) {
        panic!("import circle among folders: {}", cycle.join(" → "));
    }
    // Every layer is a real folder of the package (a stale entry would hide a misplaced file).
    for (layer, _) in LAYERS.iter().filter(|(l, _)| !l.starts_with('(')) {
        assert!(package().join(layer).is_dir(), "LAYERS names {layer}/, which pkg-template does not have");
    }
}

#[test]
fn the_facade_only_re_exports() {
    let code = code_of(&package().join("index.js"));
    for line in code.lines().filter(|l| !l.trim().is_empty()) {
        assert!(line.starts_with("export {") && line.contains(" from '"), "index.js holds more than re-exports: {line:?}");
    }
    let d_ts = std::fs::read_to_string(package().join("index.d.ts")).unwrap();
    assert!(!d_ts.contains("import("), "index.d.ts types the public API itself");
}

/// The model folder's file names, as crate/src/folder.rs defines them (`pub const X: &str = "…";`).
fn model_folder_file_names() -> Vec<String> {
    let folder = std::fs::read_to_string(repo_root().join("crate/src/folder.rs")).unwrap();
    let names: Vec<String> = folder
        .lines()
        .filter(|l| l.starts_with("pub const ") && l.contains(": &str = \""))
        .filter_map(|l| l.split('"').nth(1).map(str::to_string))
        .collect();
    assert!(names.len() >= 10 && names.iter().any(|n| n == "model.q8.safetensors"), "{names:?}");
    names
}

#[test]
fn each_file_name_is_spelled_where_it_belongs() {
    let mut paths = Vec::new();
    scripts(&package(), &mut paths);
    let model_files = model_folder_file_names();
    let mut wrong = Vec::new();
    for path in &paths {
        let file = relative(path);
        let code = code_of(path);
        for name in &model_files {
            for quoted in [format!("'{name}'"), format!("\"{name}\""), format!("`{name}`")] {
                if code.contains(&quoted) {
                    wrong.push(format!("{file} spells {quoted}: the engine owns a model folder's file names (crate::folder)"));
                }
            }
        }
        for (name, owner) in OWNERS {
            if code.contains(name) && layer_of(&file) != *owner {
                wrong.push(format!("{file} spells {name}, which only {owner}/ may name"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checks_find_what_they_look_for() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    let circle = graph(&[("model/a.js", "model/b.js"), ("model/b.js", "model/c.js"), ("model/c.js", "model/a.js")]);
    assert_eq!(find_cycle(&circle).unwrap(), ["model/a.js", "model/b.js", "model/c.js", "model/a.js"]);
    assert!(find_cycle(&graph(&[("a", "b"), ("a", "c"), ("b", "c")])).is_none());
    let up = upward(&graph(&[("core/errors.js", "model/embedder.js"), ("model/embedder.js", "core/errors.js")]));
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(layer_of("webembed_bg.wasm"), "(glue)");
    assert_eq!(layer_of("stray.js"), "(unplaced)");
    assert_eq!(layer_of("misc/x.js"), "(unplaced)");
    let code = "import { a } from '../core/a.js';\nexport { b } from './b.js';\nconst c = await import('./c.mjs');\nimport 'node:fs';";
    assert_eq!(imports(code), ["../core/a.js", "./b.js", "./c.mjs"]);
    assert_eq!(resolve("model/embedder.js", "../core/errors.js").as_deref(), Some("core/errors.js"));
    assert_eq!(resolve("index.js", "../outside.js"), None);
    assert_eq!(url_references("new URL('../webembed_bg.wasm', import.meta.url)"), ["../webembed_bg.wasm"]);
    assert!(url_references("new URL(name, base)").is_empty());
}
