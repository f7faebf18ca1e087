//! The families beyond BERT / XLM-R (tools/make_family_models.py): ModernBERT, Gemma3
//! (EmbeddingGemma's shape, with Dense modules), Qwen3 (last-token, left padding), static
//! models (StaticEmbedding, model2vec) and a LaBSE-like Dense(tanh) head, against
//! sentence-transformers' and model2vec's own outputs: token ids equal, every text alone per
//! prompt and per truncation, and all texts in one mixed-length batch; f32 and q8 on the CPU.

mod common;

use std::path::PathBuf;

use common::{norm, repo_root};

/// Cosine similarity, with two zero vectors (an empty text's mean) counted as equal.
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if norm(a) < 1e-6 && norm(b) < 1e-6 {
        return 1.0;
    }
    common::cosine(a, b)
}
use webembed::folder::Dtype;
use webembed::{Engine, ModelFiles};

#[derive(serde::Deserialize)]
struct Reference {
    dimension: usize,
    cases: Vec<Case>,
    batch: Batch,
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    prompt_name: Option<String>,
    truncate_dim: Option<usize>,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct Batch {
    prompt_name: Option<String>,
    embeddings: Vec<Vec<f32>>,
}

fn families_dir() -> PathBuf {
    repo_root().join("tests/fixtures/tiny/families")
}

fn reference(name: &str) -> Reference {
    let path = repo_root().join(format!("tests/fixtures/tiny/family-references/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

pub const FAMILIES: [&str; 11] = [
    "modernbert-like",
    "modernbert-hub-config",
    "modernbert-cls",
    "embeddinggemma-like",
    "embeddinggemma-hub-config",
    "qwen3-embedding-like",
    "labse-like",
    "static-st-like",
    "static-st-subfolder",
    "model2vec-like",
    "model2vec-quantized-like",
];

fn engine(name: &str, dtype: Dtype) -> Engine {
    let files = ModelFiles::read_dir(&families_dir().join(name)).unwrap();
    Engine::from_files_as(files, dtype).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every case of `name`'s reference: (worst cosine, mean cosine), asserting ids and norms on the way.
fn check(name: &str, dtype: Dtype) -> (f64, f64) {
    let reference = reference(name);
    let mut engine = engine(name, dtype);
    let mut cosines = Vec::new();
    let mut truncate = None;
    for case in &reference.cases {
        let prompt = engine.resolve_prompt(case.prompt_name.as_deref(), None).unwrap();
        assert_eq!(
            engine.tokenize(&case.text, prompt.as_deref()).unwrap().ids,
            case.ids,
            "{name}: ids of {:?} ({:?})",
            case.text,
            case.prompt_name
        );
        if case.truncate_dim != truncate {
            engine.set_truncate_dim(case.truncate_dim).unwrap();
            truncate = case.truncate_dim;
        }
        let got = engine.encode(&[case.text.as_str()], prompt.as_deref(), 1).unwrap();
        assert_eq!(got.len(), case.embedding.len(), "{name}: dimension with truncate_dim {:?}", case.truncate_dim);
        let c = cosine(&got, &case.embedding);
        cosines.push(c);
        if dtype == Dtype::F32 {
            assert!(c >= 0.99999, "{name}: cosine {c} for {:?} ({:?}, truncate {:?})", case.text, case.prompt_name, case.truncate_dim);
            let (got_norm, want_norm) = (norm(&got), norm(&case.embedding));
            assert!(
                (got_norm - want_norm).abs() < 1e-4 * want_norm.max(1.0),
                "{name}: norm {got_norm} vs {want_norm} for {:?} (cosine {c}, truncate {:?})",
                case.text,
                case.truncate_dim
            );
        }
    }
    engine.set_truncate_dim(None).unwrap();
    assert_eq!(engine.dimension(), reference.dimension, "{name}");
    let worst = cosines.iter().copied().fold(1.0, f64::min);
    (worst, cosines.iter().sum::<f64>() / cosines.len() as f64)
}

#[test]
fn every_family_matches_its_library_on_the_cpu_in_f32() {
    for name in FAMILIES {
        let (worst, _) = check(name, Dtype::F32);
        eprintln!("{name}: f32 worst cosine {worst:.8}");
    }
}

#[test]
fn a_mixed_length_batch_matches_the_librarys_batch() {
    for name in FAMILIES {
        let reference = reference(name);
        let mut engine = engine(name, Dtype::F32);
        let prompt = engine.resolve_prompt(reference.batch.prompt_name.as_deref(), None).unwrap();
        let texts: Vec<&str> =
            reference.cases.iter().filter(|c| c.prompt_name.is_none() && c.truncate_dim.is_none()).map(|c| c.text.as_str()).collect();
        assert_eq!(texts.len(), reference.batch.embeddings.len(), "{name}");
        let got = engine.encode(&texts, prompt.as_deref(), texts.len()).unwrap();
        let dimension = engine.dimension();
        for (i, want) in reference.batch.embeddings.iter().enumerate() {
            let c = cosine(&got[i * dimension..(i + 1) * dimension], want);
            assert!(c >= 0.99999, "{name}: batch cosine {c} for text {i} ({:?})", texts[i]);
        }
    }
}

#[test]
fn every_family_holds_q8() {
    for name in FAMILIES {
        let (worst, mean) = check(name, Dtype::Q8);
        eprintln!("{name}: q8 worst cosine {worst:.5}, mean {mean:.5}");
        assert!(worst >= 0.99 && mean >= 0.995, "{name}: q8 worst {worst}, mean {mean}");
    }
}

#[test]
fn a_q8_file_of_each_family_loads_as_the_quantized_float_folder_does() {
    for name in ["embeddinggemma-like", "model2vec-quantized-like", "static-st-like", "qwen3-embedding-like"] {
        let files = ModelFiles::read_dir(&families_dir().join(name)).unwrap();
        let q8 = webembed::engine::quantize_folder(files.clone()).unwrap();
        // Only the configs, the tokenizer and the q8 file: the Dense modules' weights are inside it.
        let mut only_q8 = ModelFiles::new();
        for (path, bytes) in files.iter() {
            if path.ends_with(".json") {
                only_q8.insert(path, bytes.to_vec());
            }
        }
        only_q8.insert("model.q8.safetensors", q8);
        let mut from_file = Engine::from_files_as(only_q8, Dtype::Q8).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut quantized = engine(name, Dtype::Q8);
        let texts = ["A man is eating food.", "Semantic search finds documents by meaning."];
        let (a, b) = (from_file.encode(&texts, None, 2).unwrap(), quantized.encode(&texts, None, 2).unwrap());
        assert!(cosine(&a, &b) > 0.99999, "{name}");
    }
}

/// The transformer families on WebGPU (lavapipe natively), f32 and q8: every text of each
/// reference under its first prompt and truncation (lavapipe runs shaders on the CPU, so the
/// prompts' other texts stay with the CPU checks above), and the mixed-length batch.
#[test]
fn the_transformer_families_match_on_webgpu() {
    use webembed::backend::webgpu::device::DeviceOptions;
    for name in ["modernbert-like", "embeddinggemma-like", "qwen3-embedding-like", "labse-like"] {
        let reference = reference(name);
        for dtype in [Dtype::F32, Dtype::Q8] {
            let mut engine = engine(name, dtype);
            let start = std::time::Instant::now();
            pollster::block_on(engine.enable_webgpu(DeviceOptions { allow_f16: false, ..Default::default() }))
                .unwrap_or_else(|e| panic!("{name} {dtype:?}: WebGPU starts and passes its self-test: {e}"));
            assert_eq!(engine.backend_name(), "webgpu", "{name}");
            let cases: Vec<&Case> = reference.cases.iter().filter(|c| c.prompt_name.is_none() && c.truncate_dim.is_none()).collect();
            let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
            let got = engine.encode(&texts, None, 16).unwrap();
            assert_eq!(engine.last_batch_backend(), "webgpu", "{name}");
            let dimension = engine.dimension();
            let mut worst = 1f64;
            for (i, case) in cases.iter().enumerate() {
                let c = cosine(&got[i * dimension..(i + 1) * dimension], &case.embedding);
                worst = worst.min(c);
                let floor = if dtype == Dtype::F32 { 0.9999 } else { 0.99 };
                assert!(c >= floor, "{name} {dtype:?}: WebGPU cosine {c} for {:?}", case.text);
            }
            eprintln!(
                "{name} {dtype:?} on {}: worst cosine {worst:.6} ({:.1} s)",
                engine.webgpu().map_or("", |g| g.adapter_name()),
                start.elapsed().as_secs_f64()
            );
        }
    }
}
