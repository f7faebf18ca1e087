//! The search index's engine side: chunks that fit the model whole, the exact scan, and the
//! int8 store's recall against an exact f32 search.

mod common;

use common::repo_root;
use webembed::search::store::{VectorKind, VectorStore};
use webembed::{Engine, ModelFiles};

fn tiny_engine(name: &str) -> Engine {
    let folder = repo_root().join("tests/fixtures/tiny/models").join(name);
    Engine::from_files(ModelFiles::read_dir(&folder).unwrap()).unwrap()
}

/// A long document: the fixture texts, repeated with numbers, plus one sentence with no stop.
fn long_document() -> String {
    let texts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("tests/fixtures/texts.json")).unwrap()).unwrap();
    let mut document = String::new();
    for round in 0..6 {
        for text in &texts {
            document.push_str(&format!("{text} ({round})\n"));
        }
    }
    document.push_str(&"unbroken words without any stop ".repeat(300));
    document
}

fn utf16_slice(text: &str, start: usize, end: usize) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    String::from_utf16(&units[start..end]).unwrap()
}

#[test]
fn every_chunk_fits_the_model_and_together_they_cover_the_document() {
    for (model, prompt) in
        [("e5-small-v2-like", Some("passage: ")), ("multilingual-e5-small-like", Some("passage: ")), ("bge-cls-like", None)]
    {
        let engine = tiny_engine(model);
        let document = long_document();
        for (max_tokens, overlap) in [(64usize, 16usize), (128, 0), (40, 8)] {
            let spans = engine.chunk_spans(&document, prompt, Some(max_tokens), overlap).unwrap();
            assert!(spans.len() > 10, "{model}: {} chunks", spans.len());
            let mut covered = vec![false; document.encode_utf16().count()];
            for (i, &(start, end)) in spans.iter().enumerate() {
                assert!(start < end, "{model}: empty chunk {i}");
                if i > 0 {
                    assert!(start > spans[i - 1].0 && end > spans[i - 1].1, "{model}: chunks go forward");
                }
                let chunk = utf16_slice(&document, start, end);
                let ids = engine.tokenize(&chunk, prompt).unwrap().ids;
                assert!(ids.len() <= max_tokens, "{model} chunk {i} has {} tokens > {max_tokens}: {chunk:?}", ids.len());
                covered[start..end].iter_mut().for_each(|c| *c = true);
            }
            let units: Vec<u16> = document.encode_utf16().collect();
            let missed =
                units.iter().zip(&covered).filter(|(&u, &c)| !c && !char::from_u32(u as u32).is_some_and(char::is_whitespace)).count();
            assert_eq!(missed, 0, "{model}: {missed} characters in no chunk");
        }
    }
}

#[test]
fn a_short_text_is_one_chunk_and_spans_count_utf16_units() {
    let engine = tiny_engine("e5-small-v2-like");
    let text = "Emoji 😀 count twice in JavaScript.";
    assert_eq!(engine.chunk_spans(text, None, None, 32).unwrap(), [(0, text.encode_utf16().count())]);
    let long = format!("{} 😀 end.", "A short sentence here. ".repeat(200));
    let spans = engine.chunk_spans(&long, None, Some(32), 8).unwrap();
    let last = spans.last().unwrap();
    assert_eq!(last.1, long.encode_utf16().count());
    assert!(utf16_slice(&long, last.0, last.1).ends_with("😀 end."));
}

#[test]
fn chunks_longer_than_the_model_or_too_small_for_the_prompt_are_refused() {
    let engine = tiny_engine("e5-small-v2-like");
    let text = "word ".repeat(2000);
    let err = engine.chunk_spans(&text, None, Some(100_000), 0).unwrap_err();
    assert_eq!(err.code(), "E_INPUT");
    let err = engine.chunk_spans(&text, Some("a very long prompt that uses up nearly every token: "), Some(12), 0).unwrap_err();
    assert_eq!(err.code(), "E_INPUT");
}

/// Unit vectors around 16 cluster centres (`centre_seed`), as sentence embeddings cluster by topic.
fn clustered(count: usize, dimension: usize, centre_seed: u64, noise_seed: u64) -> Vec<f32> {
    let generator = |seed: u64| {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        }
    };
    let mut centre_values = generator(centre_seed);
    let centers: Vec<f32> = (0..16 * dimension).map(|_| centre_values()).collect();
    let mut next = generator(noise_seed);
    let mut out = Vec::with_capacity(count * dimension);
    for i in 0..count {
        let center = &centers[(i % 16) * dimension..][..dimension];
        let row: Vec<f32> = center.iter().map(|c| c + 0.6 * next()).collect();
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        out.extend(row.iter().map(|v| v / norm));
    }
    out
}

fn vectors(count: usize, dimension: usize, seed: u64) -> Vec<f32> {
    clustered(count, dimension, seed, seed)
}

fn exact_top(stored: &[f32], dimension: usize, query: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(usize, f64)> = stored
        .chunks_exact(dimension)
        .enumerate()
        .map(|(i, row)| (i, row.iter().zip(query).map(|(a, b)| *a as f64 * *b as f64).sum()))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.iter().take(k).map(|s| s.0).collect()
}

#[test]
fn int8_search_finds_what_exact_f32_search_finds() {
    let (count, dimension, k) = (20_000, 384, 10);
    let stored = vectors(count, dimension, 1);
    let mut int8 = VectorStore::new(dimension, VectorKind::Int8).unwrap();
    let mut f32s = VectorStore::new(dimension, VectorKind::F32).unwrap();
    for row in stored.chunks_exact(dimension) {
        int8.add(row).unwrap();
        f32s.add(row).unwrap();
    }
    assert_eq!(int8.chunks(), count);
    // Queries about the stored topics (same cluster centres), as a search's queries are.
    let queries = clustered(50, dimension, 1, 2);
    let (mut found, mut total) = (0, 0);
    for query in queries.chunks_exact(dimension) {
        let truth = exact_top(&stored, dimension, query, k);
        let exact: Vec<usize> = f32s.search(query, k, None).unwrap().iter().map(|h| h.slot as usize).collect();
        assert_eq!(exact, truth, "the f32 store is an exact search");
        let approximate = int8.search(query, k, None).unwrap();
        found += approximate.iter().filter(|h| truth.contains(&(h.slot as usize))).count();
        total += k;
    }
    let recall = found as f64 / total as f64;
    assert!(recall >= 0.99, "recall@{k} {recall}");
    // 384 int8 values, a few words of bookkeeping and at most a sixteenth of slack per vector:
    // 100 000 chunks in under 45 MB.
    assert!(int8.vector_bytes() < count * 450, "{} bytes", int8.vector_bytes());
}

#[test]
fn a_document_scores_by_its_best_chunk_and_removed_documents_are_gone() {
    let dimension = 33;
    let rows = vectors(30, dimension, 3);
    let mut store = VectorStore::new(dimension, VectorKind::Int8).unwrap();
    // Documents of 1, 2, 3, … chunks.
    let mut slots = Vec::new();
    let mut at = 0;
    for size in 1..=7 {
        slots.push(store.add(&rows[at * dimension..(at + size) * dimension]).unwrap());
        at += size;
    }
    let query = &rows[5 * dimension..6 * dimension]; // the third document's third chunk
    let hits = store.search(query, 3, None).unwrap();
    assert_eq!((hits[0].slot, hits[0].chunk), (slots[2], 2));
    assert!((hits[0].score - 1.0).abs() < 0.01, "{}", hits[0].score);
    assert_eq!(hits.len(), 3);
    let distinct: std::collections::HashSet<u32> = hits.iter().map(|h| h.slot).collect();
    assert_eq!(distinct.len(), 3, "one hit per document");

    let mut mask = vec![1u8; slots.len()];
    mask[slots[2] as usize] = 0;
    assert!(store.search(query, 7, Some(&mask)).unwrap().iter().all(|h| h.slot != slots[2]));

    store.remove(slots[2]).unwrap();
    assert_eq!(store.documents(), 6);
    assert!(store.search(query, 7, None).unwrap().iter().all(|h| h.slot != slots[2]));
    assert_eq!(store.remove(slots[2]).unwrap_err().code(), "E_INPUT");
    // The freed slot is reused.
    assert_eq!(store.add(query).unwrap(), slots[2]);
    assert_eq!(store.search(query, 1, None).unwrap()[0].slot, slots[2]);
}

#[test]
fn stored_int8_rows_load_back_to_the_same_results_and_compaction_keeps_them() {
    let dimension = 130;
    let rows = vectors(6000, dimension, 4);
    let mut store = VectorStore::new(dimension, VectorKind::Int8).unwrap();
    let slots: Vec<u32> = rows.chunks_exact(dimension * 2).map(|doc| store.add(doc).unwrap()).collect();
    // Removing most documents compacts the rows.
    for &slot in slots.iter().filter(|s| *s % 4 != 0) {
        store.remove(slot).unwrap();
    }
    let mut reloaded = VectorStore::new(dimension, VectorKind::Int8).unwrap();
    let mut reloaded_slot = std::collections::HashMap::new();
    for &slot in slots.iter().filter(|s| *s % 4 == 0) {
        let (values, scales) = (store.int8_values(slot).unwrap(), store.int8_scales(slot).unwrap());
        reloaded_slot.insert(reloaded.add_int8(&values, scales).unwrap(), slot);
    }
    assert_eq!(reloaded.chunks(), store.chunks());
    for query in vectors(5, dimension, 5).chunks_exact(dimension) {
        let before = store.search(query, 10, None).unwrap();
        let after = reloaded.search(query, 10, None).unwrap();
        assert_eq!(before.len(), 10);
        for (b, a) in before.iter().zip(&after) {
            assert_eq!((b.slot, b.chunk, b.score), (reloaded_slot[&a.slot], a.chunk, a.score));
        }
    }
}

#[test]
fn bad_vectors_are_clear_errors() {
    let mut store = VectorStore::new(4, VectorKind::Int8).unwrap();
    assert_eq!(store.add(&[1.0, 2.0, 3.0]).unwrap_err().code(), "E_INPUT");
    assert_eq!(store.add(&[]).unwrap_err().code(), "E_INPUT");
    assert_eq!(store.add(&[1.0, f32::NAN, 0.0, 0.0]).unwrap_err().code(), "E_INPUT");
    assert_eq!(store.add_int8(&[1, 2, 3, 4], &[]).unwrap_err().code(), "E_INPUT");
    assert_eq!(store.search(&[1.0, 0.0], 3, None).unwrap_err().code(), "E_INPUT");
    assert!(store.search(&[1.0, 0.0, 0.0, 0.0], 3, None).unwrap().is_empty());
    assert_eq!(VectorStore::new(0, VectorKind::F32).err().unwrap().code(), "E_INPUT");
}

#[test]
fn ir_metrics_equal_sentence_transformers_on_the_fixture() {
    use webembed::search::metrics::{ir_metrics, RankedQuery};
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("tests/fixtures/ir-evaluation.json")).unwrap()).unwrap();
    let strings =
        |v: &serde_json::Value| -> Vec<String> { v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect() };
    let queries: Vec<RankedQuery> = fixture["queries"]
        .as_object()
        .unwrap()
        .keys()
        .map(|qid| RankedQuery {
            retrieved: strings(&fixture["ranked"][qid]),
            relevant: fixture["relevant"].get(qid).map(strings).unwrap_or_default(),
        })
        .collect();
    let cutoffs: Vec<usize> = fixture["cutoffs"].as_array().unwrap().iter().map(|k| k.as_u64().unwrap() as usize).collect();
    let metrics = serde_json::to_value(ir_metrics(&queries, &cutoffs)).unwrap();
    let mut compared = 0;
    for (name, by_k) in fixture["metrics"].as_object().unwrap() {
        for (k, expected) in by_k.as_object().unwrap() {
            let got = metrics[name][k].as_f64().unwrap();
            let expected = expected.as_f64().unwrap();
            assert!((got - expected).abs() <= 1e-9, "{name}@{k}: {got} vs sentence-transformers {expected}");
            compared += 1;
        }
    }
    assert_eq!(compared, 24);
    assert_eq!(metrics["queries"], fixture["relevant"].as_object().unwrap().len());
}
