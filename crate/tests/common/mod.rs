//! Helpers shared by the integration tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;

/// The checkout under test: read when the test runs (cargo test sets CARGO_MANIFEST_DIR), not
/// baked in at compile time, because cargo reuses a test binary built in another clone of the same
/// sources (the shared target folder) and that binary would read the other clone's fixtures.
pub fn repo_root() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR (run under cargo test)")).join("..")
}

/// Cosine similarity in f64, so the comparison itself adds no rounding worth mentioning.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    dot / (norm(a) * norm(b)).max(1e-30)
}

pub fn norm(v: &[f32]) -> f64 {
    v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt()
}

/// A sentence-transformers reference file (tools/make_fixtures.py, tools/make_tiny_models.py):
/// the model's texts with their token ids and embeddings.
#[derive(serde::Deserialize)]
pub struct Reference {
    /// The tiny model's folder name (empty for the real model's file).
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub dimension: usize,
    #[serde(default)]
    pub max_seq_length: usize,
    pub cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
pub struct Case {
    pub text: String,
    /// An explicit prompt string (the real model's fixtures)...
    #[serde(default)]
    pub prompt: Option<String>,
    /// ...or a prompt named in the model's config (the tiny models').
    #[serde(default)]
    pub prompt_name: Option<String>,
    pub ids: Vec<u32>,
    pub embedding: Vec<f32>,
}

/// A case's prompt string: its explicit one, else the one its name resolves to.
fn case_prompt(engine: &webembed::Engine, case: &Case) -> Option<String> {
    match &case.prompt {
        Some(prompt) => Some(prompt.clone()),
        None => engine.resolve_prompt(case.prompt_name.as_deref(), None).unwrap(),
    }
}

/// The engine's vector for one reference case, one text at a time (ids: `assert_ids`).
pub fn case_vector(engine: &mut webembed::Engine, case: &Case) -> Vec<f32> {
    let prompt = case_prompt(engine, case);
    engine.encode(&[case.text.as_str()], prompt.as_deref(), 1).unwrap()
}

/// The tiny models' folder (tools/make_tiny_models.py).
pub fn tiny_dir() -> PathBuf {
    repo_root().join("tests/fixtures/tiny")
}

/// The tiny models' reference files whose names `keep` accepts, sorted.
pub fn tiny_references(keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(tiny_dir().join("references"))
        .expect("tests/fixtures/tiny/references")
        .map(|e| e.unwrap().path())
        .filter(|p| keep(p.file_name().unwrap().to_str().unwrap()))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    paths
}

/// The reference of every tiny model (not the tokenizer-only references).
pub fn tiny_model_references() -> Vec<PathBuf> {
    tiny_references(|name| !name.starts_with("tokenizer-"))
}

pub fn read_reference(path: &std::path::Path) -> Reference {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("fixture JSON")
}

/// Tokens past which a text's vector on a software GPU adapter (lavapipe) is checked under one
/// prompt only, not under each: the prompts change only a text's first ids (checked for every
/// case on the way), and a 512-token case costs as much as ~60 typical ones there.
pub const LONG_CASE_TOKENS: usize = 128;

/// The cases whose vectors a software GPU adapter checks: every case of up to
/// `LONG_CASE_TOKENS` ids, and each longer text under the first prompt it comes with.
pub fn cases_for_software_gpu(reference: &Reference) -> Vec<&Case> {
    let mut long_texts_seen = std::collections::HashSet::new();
    reference.cases.iter().filter(|case| case.ids.len() <= LONG_CASE_TOKENS || long_texts_seen.insert(case.text.as_str())).collect()
}

/// The token ids of every case, against the reference's (the tokenizer runs on the CPU whatever
/// the backend).
pub fn assert_ids(engine: &mut webembed::Engine, reference: &Reference) {
    for case in &reference.cases {
        let prompt = case_prompt(engine, case);
        assert_eq!(engine.tokenize(&case.text, prompt.as_deref()).unwrap().ids, case.ids, "{}: ids of {:?}", reference.model, case.text);
    }
}
