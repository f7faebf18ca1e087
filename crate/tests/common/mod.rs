//! Helpers shared by the integration tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
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

/// The cosine of the engine's vector to one reference case, one text at a time, after checking
/// the token ids (an explicit prompt, else the named one).
pub fn case_cosine(engine: &mut webembed::Engine, reference: &Reference, case: &Case) -> f64 {
    let prompt = match &case.prompt {
        Some(prompt) => Some(prompt.clone()),
        None => engine.resolve_prompt(case.prompt_name.as_deref(), None).unwrap(),
    };
    assert_eq!(engine.tokenize(&case.text, prompt.as_deref()).unwrap().ids, case.ids, "{}: ids of {:?}", reference.model, case.text);
    let got = engine.encode(&[case.text.as_str()], prompt.as_deref(), 1).unwrap();
    cosine(&got, &case.embedding)
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
