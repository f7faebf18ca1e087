//! The crate's structure, checked: no import cycle among its modules, the backends apart, and
//! each shared fact (a model folder's file names, a kernel's uniform layout, the kernel codes)
//! written in one place. Reads the sources; builds nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::repo_root;

fn sources(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, extension, out);
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    repo_root().join("crate/src")
}

/// A file's code: without its `#[cfg(test)]` module (tests may spell out names) and without
/// comment lines (a doc comment may name a module it does not import).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    code.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The module a file belongs to, `depth` path components deep (`backend/cpu/matmul.rs` at depth
/// 2 is `backend::cpu`).
fn module_of(path: &Path, depth: usize) -> String {
    let relative = path.strip_prefix(src()).unwrap().with_extension("");
    let parts: Vec<String> =
        relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).filter(|p| p != "mod").take(depth).collect();
    parts.join("::")
}

/// Items `lib.rs` re-exports at the root, by the module that defines them.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut items = BTreeMap::new();
    for line in lib.lines().filter_map(|l| l.strip_prefix("pub use ")) {
        let (module, rest) = line.split_once("::").unwrap();
        for item in rest.trim_end_matches(';').trim_matches(|c| c == '{' || c == '}').split(',') {
            items.insert(item.trim().to_string(), module.to_string());
        }
    }
    items
}

/// The modules (at `depth`) that `code` names through `crate::…` paths.
fn referenced(code: &str, depth: usize, reexports: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{Engine, ModelFiles}`: root re-exports, mapped to their modules.
            for item in group[..group.find('}').unwrap()].split(',') {
                let item = item.trim();
                out.insert(reexports.get(item).cloned().unwrap_or_else(|| item.to_string()));
            }
            continue;
        }
        let path: Vec<&str> = rest.split("::").map(|p| p.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap()).collect();
        let modules: Vec<&str> =
            path.iter().copied().take_while(|p| p.chars().next().is_some_and(|c| c.is_lowercase())).take(depth).collect();
        if !modules.is_empty() {
            out.insert(modules.join("::"));
        }
    }
    out
}

/// Module → the modules it imports, at `depth`.
fn graph(depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let reexports = root_reexports();
    let mut files = Vec::new();
    sources(&src(), "rs", &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files.iter().filter(|f| !f.ends_with("lib.rs")) {
        let module = module_of(file, depth);
        let edges = graph.entry(module.clone()).or_default();
        edges.extend(referenced(&code_of(file), depth, &reexports).into_iter().filter(|m| *m != module));
    }
    graph
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
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn crate_modules_import_each_other_without_a_cycle() {
    for depth in [1, 2, 3] {
        let graph = graph(depth);
        assert!(graph.len() > 8, "{graph:?}");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("import cycle at depth {depth}: {}", cycle.join(" → "));
        }
    }
    let top = graph(1);
    eprintln!("module imports (depth 1):");
    for (module, imports) in &top {
        eprintln!("  {module} → {}", imports.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    assert_eq!(top["folder"], BTreeSet::from(["error".to_string()]), "folder is a leaf (it imports only error)");
}

#[test]
fn the_a_cycle_finder_finds_cycles() {
    let graph = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}

#[test]
fn the_webgpu_backend_imports_the_model_not_the_cpu_backend() {
    let mut files = Vec::new();
    sources(&src().join("backend/webgpu"), "rs", &mut files);
    for file in files {
        // A kernel's check compares it with the CPU path's op: that is its reference.
        if file.ends_with("check.rs") {
            continue;
        }
        assert!(!code_of(&file).contains("backend::cpu"), "{} imports the CPU backend", file.display());
    }
    let mut files = Vec::new();
    sources(&src().join("backend/cpu"), "rs", &mut files);
    for file in files {
        assert!(!code_of(&file).contains("webgpu"), "{} imports the WebGPU backend", file.display());
    }
}

#[test]
fn model_folder_file_names_are_written_only_in_folder_rs() {
    let names = [
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
        "model.fp16.safetensors",
    ];
    let mut files = Vec::new();
    sources(&src(), "rs", &mut files);
    sources(&repo_root().join("pkg-template"), "js", &mut files);
    for file in files.iter().filter(|f| !f.ends_with("folder.rs")) {
        let code = code_of(file);
        for name in names {
            for quoted in [format!("\"{name}\""), format!("'{name}'")] {
                assert!(!code.contains(&quoted), "{} spells {quoted}; ask crate::folder instead", file.display());
            }
        }
    }
}

#[test]
fn shaders_take_their_uniform_struct_and_codes_from_rust() {
    let mut shaders = Vec::new();
    sources(&src().join("backend/webgpu/kernels"), "wgsl", &mut shaders);
    assert!(shaders.len() >= 8, "{shaders:?}");
    for shader in shaders {
        let text = std::fs::read_to_string(&shader).unwrap();
        assert!(!text.contains("struct Shape {"), "{} declares its own struct Shape", shader.display());
        for code in ["const POOL_", "const ACT_"] {
            assert!(!text.contains(code), "{} defines {code}…", shader.display());
        }
    }
}

#[test]
fn each_kernel_is_a_folder_with_its_shader_rust_side_and_check() {
    let kernels = src().join("backend/webgpu/kernels");
    let mut count = 0;
    for entry in std::fs::read_dir(&kernels).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let op = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in [format!("{op}.wgsl"), "mod.rs".to_string(), "check.rs".to_string()] {
            assert!(dir.join(&file).is_file(), "kernel {op} has no {file}");
        }
        count += 1;
    }
    assert_eq!(count, 9, "matmul, attention, embeddings, add_layernorm, pooling, normalize, residual_norm, rotary, gated");
}
