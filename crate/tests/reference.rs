//! The real all-MiniLM-L6-v2 against sentence-transformers' own output (tests/fixtures), natively.

mod common;

use std::path::PathBuf;

use common::{cosine, read_reference, repo_root, Case, Reference};
use webembed::{Engine, ModelFiles};

fn model_dir() -> PathBuf {
    let dir = std::env::var_os("WEBEMBED_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("models/all-MiniLM-L6-v2"));
    assert!(dir.join("model.safetensors").is_file(), "{} has no model; run scripts/setup.sh", dir.display());
    dir
}

fn reference() -> Reference {
    read_reference(&repo_root().join("tests/fixtures/all-MiniLM-L6-v2.json"))
}

fn load() -> Engine {
    Engine::from_files(ModelFiles::read_dir(&model_dir()).expect("read model folder")).expect("load model")
}

#[test]
fn spec_matches_sentence_transformers() {
    let embedder = load();
    let reference = reference();
    assert_eq!(embedder.dimension(), reference.dimension);
    assert_eq!(embedder.spec().max_seq_length, reference.max_seq_length);
    assert!(embedder.spec().normalize);
}

#[test]
fn token_ids_equal_fixtures() {
    let embedder = load();
    for case in reference().cases {
        let tokens = embedder.tokenize(&case.text, case.prompt.as_deref()).expect("tokenize");
        assert_eq!(tokens.ids, case.ids, "token ids differ for {:?} (prompt {:?})", case.text, case.prompt);
    }
}

fn check_embeddings(batch_size: usize) {
    let mut embedder = load();
    let reference = reference();
    let dim = reference.dimension;
    // Group by prompt so each call shares one prompt, as the API does.
    for prompt in [None, Some("query: "), Some("passage: ")] {
        let cases: Vec<&Case> = reference.cases.iter().filter(|c| c.prompt.as_deref() == prompt).collect();
        let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
        let out = embedder.encode(&texts, prompt, batch_size).expect("encode");
        assert_eq!(out.len(), texts.len() * dim);
        for (i, case) in cases.iter().enumerate() {
            let got = &out[i * dim..(i + 1) * dim];
            let cos = cosine(got, &case.embedding);
            let zero_ref = case.embedding.iter().all(|v| *v == 0.0);
            if zero_ref {
                assert!(got.iter().all(|v| *v == 0.0), "{:?}: expected a zero vector", case.text);
            } else {
                assert!(cos >= 0.99999, "cosine {cos} for {:?} (prompt {prompt:?}, batch {batch_size})", case.text);
            }
        }
    }
}

#[test]
fn embeddings_match_fixtures_batch_1() {
    check_embeddings(1);
}

#[test]
fn embeddings_match_fixtures_batch_16() {
    check_embeddings(16);
}

#[test]
fn unknown_prompt_name_is_an_input_error() {
    let embedder = load();
    let err = embedder.resolve_prompt(Some("query"), None).unwrap_err();
    assert_eq!(err.code(), "E_INPUT");
    assert!(err.to_string().contains("query"), "{err}");
}

#[test]
fn html_config_is_a_config_error_naming_the_file() {
    let mut files = ModelFiles::read_dir(&model_dir()).unwrap();
    files.insert("config.json", b"<!DOCTYPE html><html><body>Not found</body></html>".to_vec());
    let err = Engine::from_files(files).err().expect("must fail");
    assert_eq!(err.code(), "E_CONFIG");
    assert!(err.to_string().contains("config.json") && err.to_string().contains("HTML"), "{err}");
}

#[test]
fn truncated_weights_are_a_weights_error() {
    let mut files = ModelFiles::read_dir(&model_dir()).unwrap();
    let mut bytes = files.take("model.safetensors").unwrap();
    bytes.truncate(bytes.len() / 2);
    files.insert("model.safetensors", bytes);
    let err = Engine::from_files(files).err().expect("must fail");
    assert_eq!(err.code(), "E_WEIGHTS");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}

#[test]
fn very_long_text_is_truncated_not_rejected() {
    let mut embedder = load();
    let long = "semantic search ".repeat(6250); // 100 000 characters
    let short = "semantic search ".repeat(200); // already past 256 tokens
    let out = embedder.encode(&[long.as_str(), short.as_str()], None, 2).unwrap();
    let dim = embedder.dimension();
    assert!(cosine(&out[..dim], &out[dim..]) > 0.999999);
}
