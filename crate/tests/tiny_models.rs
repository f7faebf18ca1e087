//! Every encoder shape and config format against sentence-transformers, on the small
//! random-weight models that tools/make_tiny_models.py writes into tests/fixtures/tiny/.

mod common;

use std::path::Path;

use common::{cosine, norm, read_reference, tiny_dir, tiny_references};
use serde::Deserialize;
use webembed::tokenize::TextTokenizer;
use webembed::{Engine, ModelFiles};

#[derive(Deserialize)]
struct TokenizerReference {
    tokenizer: String,
    cases: Vec<TokenizerCase>,
}

#[derive(Deserialize)]
struct TokenizerCase {
    text: String,
    ids: Vec<u32>,
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn every_shape_matches_sentence_transformers() {
    let mut checked = 0;
    for path in tiny_references(|name| !name.starts_with("tokenizer-")) {
        let reference = read_reference(&path);
        let folder = tiny_dir().join("models").join(&reference.model);
        let mut embedder =
            Engine::from_files(ModelFiles::read_dir(&folder).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", reference.model));
        assert_eq!(embedder.dimension(), reference.dimension, "{}", reference.model);
        assert_eq!(embedder.spec().max_seq_length, reference.max_seq_length, "{}", reference.model);
        let mut worst = 1f64;
        for case in &reference.cases {
            let prompt = embedder.resolve_prompt(case.prompt_name.as_deref(), None).unwrap();
            let tokens = embedder.tokenize(&case.text, prompt.as_deref()).unwrap();
            assert_eq!(tokens.ids, case.ids, "{}: ids for {:?} ({:?})", reference.model, case.text, case.prompt_name);
            let got = embedder.encode(&[case.text.as_str()], prompt.as_deref(), 1).unwrap();
            let (cos, norm_ratio) = (cosine(&got, &case.embedding), norm(&got) / norm(&case.embedding).max(1e-30));
            worst = worst.min(cos);
            assert!(cos >= 0.99999, "{}: cosine {cos} for {:?} ({:?})", reference.model, case.text, case.prompt_name);
            // Unnormalized models must also get the length right.
            assert!((norm_ratio - 1.0).abs() < 1e-4, "{}: norm ratio {norm_ratio} for {:?}", reference.model, case.text);
            checked += 1;
        }
        eprintln!("{}: {} cases, worst cosine {worst:.9}", reference.model, reference.cases.len());
    }
    assert!(checked > 500, "checked {checked} cases");
}

#[test]
fn tokenizers_match_hf_tokenizers_on_the_parity_corpus() {
    for path in tiny_references(|name| name.starts_with("tokenizer-")) {
        let reference: TokenizerReference = read(&path);
        assert!(reference.cases.len() >= 500, "{} strings", reference.cases.len());
        // `tokenizer` is the tokenizer.json's path inside tests/fixtures/tiny.
        let bytes = std::fs::read(tiny_dir().join(&reference.tokenizer)).unwrap();
        let tokenizer = TextTokenizer::from_bytes(&bytes, 100_000).unwrap();
        for case in &reference.cases {
            let ids = tokenizer.tokenize(&case.text, None).unwrap().ids;
            assert_eq!(ids, case.ids, "{}: {:?}", reference.tokenizer, case.text);
        }
    }
}
