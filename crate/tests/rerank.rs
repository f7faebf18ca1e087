//! Cross-encoder rerankers against sentence-transformers' CrossEncoder, on the tiny random-weight
//! rerankers tools/make_tiny_rerankers.py writes (BERT and XLM-R, one label and several, the
//! Hugging Face and the modular layout): token ids and types, scores, batched scores, rank order,
//! and q8's rank agreement with f32.

mod common;

use std::path::PathBuf;

use common::tiny_dir;
use serde::Deserialize;
use webembed::folder::Dtype;
use webembed::{Engine, ModelFiles};

#[derive(Deserialize)]
struct Reference {
    model: String,
    num_labels: usize,
    max_length: usize,
    cases: Vec<Case>,
    batched_scores: Vec<serde_json::Value>,
    rank: Rank,
}

#[derive(Deserialize)]
struct Case {
    pair: (String, String),
    ids: Vec<u32>,
    type_ids: Option<Vec<u32>>,
    score: serde_json::Value,
}

#[derive(Deserialize)]
struct Rank {
    query: String,
    documents: Vec<String>,
    result: Vec<Ranked>,
}

#[derive(Deserialize)]
struct Ranked {
    index: usize,
}

fn references() -> Vec<Reference> {
    let dir = tiny_dir().join("rerank-references");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).expect("rerank-references").map(|e| e.unwrap().path()).collect();
    paths.sort();
    assert_eq!(paths.len(), 4, "both architectures, one label and several, both layouts");
    paths.iter().map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()).collect()
}

fn load(reference: &Reference, dtype: Dtype) -> Engine {
    let folder = tiny_dir().join("rerankers").join(&reference.model);
    Engine::reranker_from_files_as(ModelFiles::read_dir(&folder).unwrap(), dtype).unwrap_or_else(|e| panic!("{}: {e}", reference.model))
}

/// A score as the reference stores it: a number for one label, a list for several.
fn numbers(value: &serde_json::Value) -> Vec<f32> {
    match value {
        serde_json::Value::Array(items) => items.iter().map(|v| v.as_f64().unwrap() as f32).collect(),
        other => vec![other.as_f64().unwrap() as f32],
    }
}

fn pairs(reference: &Reference) -> Vec<(&str, &str)> {
    reference.cases.iter().map(|c| (c.pair.0.as_str(), c.pair.1.as_str())).collect()
}

#[test]
fn scores_match_cross_encoder_predict_within_1e5() {
    for reference in references() {
        let mut engine = load(&reference, Dtype::F32);
        assert_eq!(engine.num_labels(), reference.num_labels, "{}", reference.model);
        assert_eq!(engine.spec().max_seq_length, reference.max_length, "{}", reference.model);
        let mut worst = 0f32;
        let mut truncated = 0;
        for case in &reference.cases {
            let (first, second) = (&case.pair.0, &case.pair.1);
            let got = engine.score_pairs(&[(first.as_str(), second.as_str())], 1).unwrap();
            let want = numbers(&case.score);
            assert_eq!(got.len(), want.len(), "{}", reference.model);
            for (g, w) in got.iter().zip(&want) {
                worst = worst.max((g - w).abs());
                assert!((g - w).abs() <= 1e-5, "{}: score {g} vs {w} for {:?}", reference.model, case.pair);
            }
            truncated += usize::from(case.ids.len() == reference.max_length);
        }
        assert!(truncated >= 2, "{}: the long pairs reach the max length", reference.model);
        // Batched, the pairs in one call, padded together: the same scores in the caller's order.
        let batched = engine.score_pairs(&pairs(&reference), 8).unwrap();
        let want: Vec<f32> = reference.batched_scores.iter().flat_map(numbers).collect();
        for (g, w) in batched.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5, "{}: batched score {g} vs {w}", reference.model);
        }
        eprintln!("{}: {} pairs, worst |difference| {worst:e}", reference.model, reference.cases.len());
    }
}

#[test]
fn pair_token_ids_and_types_match_the_tokenizer_call() {
    for reference in references() {
        let engine = load(&reference, Dtype::F32);
        let tokenizer = engine_tokenizer(&reference);
        for case in &reference.cases {
            let (ids, types) = tokenizer.pair_ids(&case.pair.0, &case.pair.1).unwrap();
            assert_eq!(ids, case.ids, "{}: ids for {:?}", reference.model, case.pair);
            match &case.type_ids {
                Some(want) => assert_eq!(&types, want, "{}: token types for {:?}", reference.model, case.pair),
                None => assert!(types.iter().all(|&t| t == 0), "{}: RoBERTa pairs are all type 0", reference.model),
            }
        }
        drop(engine);
    }
}

fn engine_tokenizer(reference: &Reference) -> webembed::tokenize::TextTokenizer {
    let folder = tiny_dir().join("rerankers").join(&reference.model);
    let bytes = std::fs::read(folder.join("tokenizer.json")).unwrap();
    webembed::tokenize::TextTokenizer::from_bytes(&bytes, reference.max_length).unwrap()
}

#[test]
fn rank_order_matches_cross_encoder_rank() {
    let mut ranked = 0;
    for reference in references().into_iter().filter(|r| r.num_labels == 1) {
        let mut engine = load(&reference, Dtype::F32);
        let pairs: Vec<(&str, &str)> = reference.rank.documents.iter().map(|d| (reference.rank.query.as_str(), d.as_str())).collect();
        let scores = engine.score_pairs(&pairs, 32).unwrap();
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let want: Vec<usize> = reference.rank.result.iter().map(|r| r.index).collect();
        assert_eq!(order, want, "{}", reference.model);
        ranked += 1;
    }
    assert_eq!(ranked, 2);
}

/// Spearman's rank correlation (no ties in these scores).
fn spearman(a: &[f32], b: &[f32]) -> f64 {
    let ranks = |v: &[f32]| {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&x, &y| v[x].total_cmp(&v[y]));
        let mut rank = vec![0f64; v.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r as f64;
        }
        rank
    };
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let d2: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - y).powi(2)).sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

/// Every query × passage pair of the references' first 12 texts (English sentences, as a reranker
/// meets them; the multilingual and symbol-only texts are mostly unknown tokens to the tiny
/// vocabularies, which leaves their scores tied within q8's error).
#[test]
fn q8_scores_rank_like_f32() {
    let texts: Vec<String> = references()[0].cases.iter().map(|c| c.pair.0.clone()).take(12).collect();
    let pairs: Vec<(&str, &str)> = texts.iter().flat_map(|a| texts.iter().map(move |b| (a.as_str(), b.as_str()))).collect();
    for reference in references() {
        let f32_scores = load(&reference, Dtype::F32).score_pairs(&pairs, 16).unwrap();
        let mut q8 = load(&reference, Dtype::Q8);
        assert_eq!(q8.dtype(), "q8");
        let q8_scores = q8.score_pairs(&pairs, 16).unwrap();
        // Each label's column ranked on its own.
        for label in 0..reference.num_labels {
            let column = |s: &[f32]| s.iter().skip(label).step_by(reference.num_labels).copied().collect::<Vec<f32>>();
            let rho = spearman(&column(&f32_scores), &column(&q8_scores));
            eprintln!("{} label {label}: q8 Spearman {rho:.4} over {} pairs", reference.model, pairs.len());
            assert!(rho >= 0.99, "{} label {label}: Spearman {rho}", reference.model);
        }
    }
}

#[test]
fn an_embedding_folder_is_not_a_reranker_and_a_reranker_does_not_embed_by_mistake() {
    let embedder = tiny_dir().join("models/e5-small-v2-like");
    let err = Engine::reranker_from_files_as(ModelFiles::read_dir(&embedder).unwrap(), Dtype::F32).err().unwrap();
    assert_eq!(err.code(), "E_CONFIG", "{err}");
    let mut engine = Engine::from_files(ModelFiles::read_dir(&embedder).unwrap()).unwrap();
    let err = engine.score_pairs(&[("a", "b")], 8).unwrap_err();
    assert!(err.to_string().contains("Reranker.load"), "{err}");
}

#[test]
fn a_ten_megabyte_side_scores_like_its_kept_prefix() {
    let reference = references().into_iter().next().unwrap();
    let mut engine = load(&reference, Dtype::F32);
    let huge = "semantic search in the browser ".repeat(10 << 20 >> 5);
    let start = std::time::Instant::now();
    let long = engine.score_pairs(&[("query", huge.as_str())], 1).unwrap();
    let prefix = engine.score_pairs(&[("query", &huge[..8000])], 1).unwrap();
    assert_eq!(long, prefix, "only the tokens truncation keeps count");
    assert!(start.elapsed().as_secs() < 10, "a 10 MB side took {:?}", start.elapsed());
    // The engine answers the next call as before.
    let again = engine.score_pairs(&[(reference.cases[0].pair.0.as_str(), reference.cases[0].pair.1.as_str())], 1).unwrap();
    assert!((again[0] - numbers(&reference.cases[0].score)[0]).abs() <= 1e-5);
}

/// A tiny reranker's files with `change` applied to them.
fn damaged(name: &str, change: impl Fn(&mut ModelFiles)) -> ModelFiles {
    let mut files = ModelFiles::read_dir(&tiny_dir().join("rerankers").join(name)).unwrap();
    change(&mut files);
    files
}

fn edit_json(files: &mut ModelFiles, file: &str, edit: impl Fn(&mut serde_json::Value)) {
    let mut value: serde_json::Value = serde_json::from_slice(files.get(file).unwrap()).unwrap();
    edit(&mut value);
    files.insert(file, value.to_string().into_bytes());
}

/// Renames tensor `from` in model.safetensors' header (its bytes stay where they are).
fn rename_tensor(files: &mut ModelFiles, from: &str, to: &str) {
    let bytes = files.take("model.safetensors").unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
    let entry = header.remove(from).unwrap_or_else(|| panic!("{from} in the header"));
    header.insert(to.into(), entry);
    let json = serde_json::Value::Object(header).to_string().into_bytes();
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + length..]);
    files.insert("model.safetensors", out);
}

/// The engine's side of the attack on reranker folders (the package's is tests/node/rerank.test.mjs).
#[test]
fn hostile_reranker_folders_are_refused_naming_the_file() {
    type Change = Box<dyn Fn(&mut ModelFiles)>;
    let cases: Vec<(&str, &str, Change, &str, &str)> = vec![
        (
            "num_labels 0",
            "bert-1label",
            Box::new(|f| {
                edit_json(f, "config.json", |c| {
                    c.as_object_mut().unwrap().remove("id2label");
                    c["num_labels"] = 0.into();
                })
            }),
            "E_CONFIG",
            "config.json",
        ),
        (
            "a million labels",
            "bert-1label",
            Box::new(|f| {
                edit_json(f, "config.json", |c| {
                    c.as_object_mut().unwrap().remove("id2label");
                    c["num_labels"] = 1_000_000.into();
                })
            }),
            "E_CONFIG",
            "config.json",
        ),
        (
            "labels beyond the classifier",
            "xlmr-1label-identity",
            Box::new(|f| {
                edit_json(f, "config.json", |c| {
                    c["id2label"] = serde_json::json!({"0": "a", "1": "b"});
                })
            }),
            "E_WEIGHTS",
            "classifier.out_proj.weight",
        ),
        (
            "no classifier tensor",
            "bert-1label",
            Box::new(|f| rename_tensor(f, "classifier.weight", "unused.weight")),
            "E_WEIGHTS",
            "classifier.weight",
        ),
        (
            "no pooler",
            "bert-3label-st6",
            Box::new(|f| rename_tensor(f, "bert.pooler.dense.weight", "unused.weight")),
            "E_WEIGHTS",
            "pooler.dense.weight",
        ),
        (
            "no RoBERTa head dense",
            "xlmr-2label-st6",
            Box::new(|f| rename_tensor(f, "classifier.dense.weight", "unused.weight")),
            "E_WEIGHTS",
            "classifier.dense.weight",
        ),
        (
            "an unknown activation",
            "xlmr-2label-st6",
            Box::new(|f| {
                edit_json(f, "config_sentence_transformers.json", |c| {
                    c["activation_fn"] = "torch.nn.modules.activation.GELU".into();
                })
            }),
            "E_CONFIG",
            "config_sentence_transformers.json",
        ),
        (
            "an untrusted activation",
            "bert-1label",
            Box::new(|f| {
                edit_json(f, "config.json", |c| {
                    c["sentence_transformers"] = serde_json::json!({"activation_fn": "evil.module.Run"});
                })
            }),
            "E_CONFIG",
            "config.json",
        ),
        (
            "an activation that is not a string",
            "bert-1label",
            Box::new(|f| {
                edit_json(f, "config.json", |c| {
                    c["sentence_transformers"] = serde_json::json!({"activation_fn": 7});
                })
            }),
            "E_CONFIG",
            "config.json",
        ),
        (
            "an unknown head",
            "bert-1label",
            Box::new(|f| {
                edit_json(f, "config.json", |c| {
                    c["architectures"] = serde_json::json!(["BertForTokenClassification"]);
                })
            }),
            "E_CONFIG",
            "config.json",
        ),
        (
            "id2label not an object",
            "bert-1label",
            Box::new(|f| {
                edit_json(f, "config.json", |c| {
                    c["id2label"] = serde_json::json!(["a"]);
                })
            }),
            "E_CONFIG",
            "config.json",
        ),
        (
            "a Pooling module",
            "bert-3label-st6",
            Box::new(|f| {
                f.insert("modules.json", br#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#.to_vec())
            }),
            "E_CONFIG",
            "modules.json",
        ),
        ("no config", "bert-1label", Box::new(|f| drop(f.take("config.json"))), "E_CONFIG", "config.json"),
    ];
    for (what, name, change, code, words) in cases {
        let err = Engine::reranker_from_files_as(damaged(name, change), Dtype::F32).err().unwrap_or_else(|| panic!("{what}: loaded"));
        assert_eq!(err.code(), code, "{what}: {err}");
        assert!(err.to_string().contains(words), "{what}: {err}");
    }
    // And a good folder still loads after every refusal.
    let reference = references().into_iter().next().unwrap();
    assert_eq!(load(&reference, Dtype::F32).num_labels(), 1);
}
