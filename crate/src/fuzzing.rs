//! The parsers a model folder reaches, each as one function of arbitrary bytes: what the
//! `cargo fuzz` targets (crate/fuzz) run, and what crate/tests/fuzz_cases.rs replays on their
//! seeds and on every input that once crashed. Each returns whether the input was accepted.

use std::sync::OnceLock;

use crate::engine::{check_fits, WASM32_WEIGHT_BUDGET};
use crate::files::ModelFiles;
use crate::folder;
use crate::model::{load_embeddings, load_layer, quantized_in_q8};
use crate::pickle::read_state_dict;
use crate::spec::ModelSpec;
use crate::tokenize::TextTokenizer;
use crate::weights::Weights;

/// The folder's JSON files, in the order `config` reads them from its input (the Pooling
/// module's config third, where the committed tiny models' modules.json puts it).
pub fn config_files() -> [String; 6] {
    [
        folder::CONFIG.into(),
        folder::MODULES.into(),
        format!("1_Pooling/{}", folder::CONFIG),
        folder::SENTENCE_BERT_CONFIG.into(),
        folder::SENTENCE_TRANSFORMERS_CONFIG.into(),
        folder::TOKENIZER_CONFIG.into(),
    ]
}

/// Splits at 0xFF, a byte UTF-8 JSON never holds.
const SEPARATOR: u8 = 0xFF;

/// ModelSpec from config files: the input split at 0xFF into `config_files()`.
pub fn config(data: &[u8]) -> bool {
    let mut files = ModelFiles::new();
    for (name, part) in config_files().into_iter().zip(data.split(|&b| b == SEPARATOR)) {
        files.insert(name, part.to_vec());
    }
    let Ok(spec) = ModelSpec::from_files(&files) else { return false };
    let _ = (spec.encoder.weight_bytes(), spec.dimension(), spec.encoder.head_dim(), spec.encoder.max_positions());
    check_fits(&spec, WASM32_WEIGHT_BUDGET).is_ok()
}

/// The encoder the weight targets check tensors against: hidden 4, 1 layer, vocabulary 8.
const TINY_CONFIG: &str = r#"{"model_type": "bert", "hidden_act": "gelu", "hidden_size": 4, "intermediate_size": 8,
  "num_attention_heads": 2, "num_hidden_layers": 1, "vocab_size": 8, "max_position_embeddings": 8,
  "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}"#;

fn tiny_spec() -> &'static ModelSpec {
    static SPEC: OnceLock<ModelSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let mut files = ModelFiles::new();
        files.insert(folder::CONFIG, TINY_CONFIG.as_bytes().to_vec());
        ModelSpec::from_files(&files).expect("the tiny config is valid")
    })
}

/// Whether `weights` hold every tensor of the tiny encoder, in its shapes.
fn loads_tiny_encoder(mut weights: Weights) -> bool {
    let encoder = &tiny_spec().encoder;
    load_embeddings(encoder, &mut weights).is_ok() && load_layer(encoder, &mut weights, 0).is_ok()
}

/// A safetensors file, read as f32 and quantized as a q8 load reads it, then the tiny encoder's
/// tensor checks.
pub fn safetensors(data: &[u8]) -> bool {
    let file = folder::SAFETENSORS;
    [Weights::new(file), Weights::quantizing(file, quantized_in_q8)]
        .into_iter()
        .all(|mut weights| weights.add_safetensors(file, data).is_ok() && loads_tiny_encoder(weights))
}

/// A torch.save file: a zip (starting "PK") through the whole .bin reader and the tiny encoder's
/// checks; anything else straight into the pickle reader as a data.pkl.
pub fn pytorch_bin(data: &[u8]) -> bool {
    let file = folder::PYTORCH_BIN;
    if !data.starts_with(b"PK") {
        return read_state_dict(data).is_ok();
    }
    [Weights::new(file), Weights::quantizing(file, quantized_in_q8)]
        .into_iter()
        .all(|mut weights| weights.add_pytorch_bin(file, data).is_ok() && loads_tiny_encoder(weights))
}

/// tokenizer.json (the input up to the first 0xFF) and a text (the rest, lossily UTF-8),
/// tokenized alone and after a prompt at `max_seq_length` 8, so the growing-prefix path for long
/// texts runs too. Panics if truncation lets more than 8 ids through, or if a Unigram model's
/// tokens differ between webembed's compact model and tokenizers' own.
pub fn tokenizer(data: &[u8]) -> bool {
    let split = data.iter().position(|&b| b == SEPARATOR).unwrap_or(data.len());
    let (file, rest) = data.split_at(split);
    let text = String::from_utf8_lossy(rest.get(1..).unwrap_or_default());
    compare_unigrams(file, &text);
    let Ok(tokenizer) = TextTokenizer::from_bytes(file, 8) else { return false };
    let with_prompt = tokenizer.tokenize(&text, Some("query: "));
    if let Ok(tokens) = &with_prompt {
        assert!(tokens.ids.len() <= 8, "truncation at 8 gave {} ids", tokens.ids.len());
    }
    with_prompt.is_ok() && tokenizer.ids(&text, None).is_ok()
}

/// A tokenizer.json's model alone, read as `M`.
#[derive(serde::Deserialize)]
struct ModelOf<M> {
    model: M,
}

/// Where both read the file's model as a Unigram, the compact one must tokenize `text` exactly
/// as tokenizers' does.
fn compare_unigrams(file: &[u8], text: &str) {
    use tokenizers::Model;
    let theirs = serde_json::from_slice::<ModelOf<tokenizers::models::unigram::Unigram>>(file);
    let ours = serde_json::from_slice::<ModelOf<crate::unigram::CompactUnigram>>(file);
    let (Ok(ModelOf { model: theirs }), Ok(ModelOf { model: ours })) = (theirs, ours) else {
        return;
    };
    let view = |tokens: tokenizers::Result<Vec<tokenizers::Token>>| {
        tokens.map(|t| t.into_iter().map(|t| (t.id, t.value, t.offsets)).collect::<Vec<_>>()).map_err(|e| e.to_string())
    };
    assert_eq!(view(ours.tokenize(text)), view(theirs.tokenize(text)), "text {text:?}");
}

/// The keyword side: the input (lossily UTF-8) split at 0xFF into documents, each indexed as
/// one chunk (stemmed as English when the first byte is odd), then searched with each document
/// as the query and its terms marked in it. Panics if a span is not inside its text or not on
/// character boundaries, if a document is not found by its own terms, or if a removal leaves
/// anything of it behind.
pub fn keywords(data: &[u8]) -> bool {
    use crate::search::keywords::{KeywordIndex, DEFAULT_B, DEFAULT_K1};
    let language = (data.first().is_some_and(|b| b % 2 == 1)).then_some("english");
    let Ok(mut index) = KeywordIndex::new(language, DEFAULT_K1, DEFAULT_B) else { return false };
    let texts: Vec<String> = data.split(|&b| b == SEPARATOR).map(|part| String::from_utf8_lossy(part).into_owned()).collect();
    for (slot, text) in texts.iter().enumerate() {
        index.add(slot as u32, &[text.as_str()]).expect("a free slot takes any text");
    }
    for (slot, text) in texts.iter().enumerate() {
        let terms = index.query_terms(text);
        for (start, end) in index.matches(text, &terms) {
            assert!(start < end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end));
        }
        let hits = index.search(text, texts.len(), None).expect("no filter");
        if !terms.is_empty() {
            assert!(hits.iter().any(|h| h.slot == slot as u32), "document {slot} is not found by its own terms");
        }
    }
    index.remove(0).expect("slot 0 holds a document");
    let first_terms = index.query_terms(&texts[0]);
    let left: Vec<_> = index.search(&texts[0], texts.len(), None).expect("no filter").into_iter().filter(|h| h.slot == 0).collect();
    assert!(left.is_empty(), "a removed document is still found");
    !first_terms.is_empty()
}
