//! The WebGPU backend natively, through wgpu on Vulkan (Mesa's lavapipe here, installed by
//! scripts/setup.sh): every kernel against the CPU result, then whole models against
//! sentence-transformers' fixtures, device loss, and buffer pooling.
//!
//! lavapipe runs shaders on the CPU (~0.8 GFLOP/s here: ~0.45 s for one short MiniLM text), so each
//! check runs on the smallest model and inputs that prove its point: fidelity on the real model
//! and on every distinct tiny shape (long texts under one prompt), batching on texts of up to 64
//! tokens; routing, timing, device loss and pooling on a one-layer tiny model.

mod common;

use std::path::{Path, PathBuf};

use common::{
    assert_ids, case_vector, cases_for_software_gpu, cosine, read_reference, repo_root, tiny_dir, tiny_model_references, Case, Reference,
};
use webembed::backend::choice::{CostLine, Route};
use webembed::backend::webgpu::device::{live_buffer_count, DeviceOptions, GpuDevice};
use webembed::backend::webgpu::kernels::check::check_kernels;
use webembed::{Engine, ModelFiles};

/// The precisions this adapter can run: f32 always, f16 weights when it has `shader-f16`.
fn devices() -> Vec<GpuDevice> {
    let mut devices = vec![pollster::block_on(GpuDevice::open(DeviceOptions { allow_f16: false, ..Default::default() }))
        .expect("a Vulkan adapter (lavapipe: apt-get install mesa-vulkan-drivers)")];
    let f16 = pollster::block_on(GpuDevice::open(DeviceOptions { allow_f16: true, ..Default::default() })).expect("adapter");
    if f16.shader_f16 {
        devices.push(f16);
    }
    devices
}

#[test]
fn every_kernel_matches_the_cpu_on_awkward_shapes() {
    for gpu in devices() {
        let start = std::time::Instant::now();
        let reports = pollster::block_on(check_kernels(&gpu, false)).expect("kernel checks ran");
        let failed: Vec<_> = reports.iter().filter(|r| !r.passed).collect();
        let worst = reports.iter().map(|r| r.error).fold(0f64, f64::max);
        eprintln!(
            "{} (f16 weights: {}): {} kernel checks, worst relative error {worst:.2e} ({:.1} s)",
            gpu.adapter_name,
            gpu.shader_f16,
            reports.len(),
            start.elapsed().as_secs_f64()
        );
        assert!(reports.len() > 250, "{} checks", reports.len());
        assert!(failed.is_empty(), "{} failed, e.g. {:?}", failed.len(), &failed[..failed.len().min(5)]);
    }
}

fn on_webgpu(folder: &Path) -> Engine {
    let mut embedder = Engine::from_files(ModelFiles::read_dir(folder).expect("model folder")).expect("load");
    pollster::block_on(embedder.enable_webgpu(DeviceOptions { allow_f16: true, ..Default::default() }))
        .expect("WebGPU backend starts and passes its self-test");
    assert_eq!(embedder.backend_name(), "webgpu");
    embedder
}

fn minilm() -> PathBuf {
    repo_root().join("models/all-MiniLM-L6-v2")
}

/// A one-layer tiny BERT: for the checks of mechanisms (routing, timing, device loss, pooling of
/// buffers) that do not depend on the model's size.
fn tiny_bert() -> PathBuf {
    tiny_dir().join("models/e5-small-v2-like")
}

/// Checks `cases` on the GPU one text at a time (cosine ≥ 0.9999; ids: `assert_ids`); returns the
/// worst cosine and each case's vector.
fn check_cases(embedder: &mut Engine, reference: &Reference, cases: &[&Case]) -> (f64, Vec<Vec<f32>>) {
    let mut worst = 1f64;
    let mut vectors = Vec::new();
    for case in cases {
        let vector = case_vector(embedder, case);
        let cos = cosine(&vector, &case.embedding);
        assert!(cos >= 0.9999, "{}: cosine {cos} for {:?}", reference.model, case.text);
        worst = worst.min(cos);
        vectors.push(vector);
    }
    assert_eq!(embedder.backend_name(), "webgpu", "{}: fell back to the CPU: {:?}", reference.model, embedder.fallback_reason());
    (worst, vectors)
}

/// Batches of 16 are checked on the 36 plain texts of up to 24 ids (three batches, padded rows and
/// several lengths in each): lavapipe runs MiniLM at ~30 ms a token, and longer rows meet the same
/// masking (their batch-1 vectors are checked against sentence-transformers first).
const BATCH_CHECK_TOKENS: usize = 24;

#[test]
fn minilm_on_webgpu_matches_sentence_transformers() {
    let start = std::time::Instant::now();
    let mut embedder = on_webgpu(&minilm());
    let reference = read_reference(&repo_root().join("tests/fixtures/all-MiniLM-L6-v2.json"));
    assert_ids(&mut embedder, &reference);
    let cases: Vec<&Case> = reference.cases.iter().collect();
    let (worst, one_by_one) = check_cases(&mut embedder, &reference, &cases);
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("all-MiniLM-L6-v2 on WebGPU: {} cases, worst cosine {worst:.9} ({seconds:.1} s)", reference.cases.len());

    // Batch 16 (padded rows, several lengths in each batch) agrees with batch 1.
    let plain: Vec<usize> = (0..cases.len()).filter(|&i| cases[i].prompt.is_none() && cases[i].ids.len() <= BATCH_CHECK_TOKENS).collect();
    assert!(plain.len() > 32, "{} texts: at least three batches of 16", plain.len());
    let texts: Vec<&str> = plain.iter().map(|&i| cases[i].text.as_str()).collect();
    let sixteen = embedder.encode(&texts, None, 16).unwrap();
    let dim = embedder.dimension();
    for (row, &i) in plain.iter().enumerate() {
        let max_diff = one_by_one[i].iter().zip(&sixteen[row * dim..(row + 1) * dim]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(max_diff < 1e-5, "batch 1 vs 16 differ by {max_diff} for {:?}", cases[i].text);
    }
    eprintln!(
        "all-MiniLM-L6-v2 on WebGPU: {} texts in batches of 16 agree with batch 1 ({:.1} s in all)",
        plain.len(),
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn every_tiny_shape_on_webgpu_matches_sentence_transformers() {
    let tiny = tiny_dir();
    let paths = tiny_model_references();
    // The -st5, -bin and -sharded folders hold the same shapes in other config and weight
    // formats (read the same way for both backends; tiny_models.rs checks each on the CPU).
    let is_format_variant = |p: &PathBuf| ["-st5.json", "-bin.json", "-sharded.json"].iter().any(|s| p.to_string_lossy().ends_with(s));
    let shapes: Vec<_> = paths.iter().filter(|p| !is_format_variant(p)).collect();
    assert!(shapes.len() >= 10, "{} distinct shapes", shapes.len());
    for path in shapes {
        let start = std::time::Instant::now();
        let reference = read_reference(path);
        let mut embedder = on_webgpu(&tiny.join("models").join(&reference.model));
        assert_ids(&mut embedder, &reference);
        let cases = cases_for_software_gpu(&reference);
        let (worst, _) = check_cases(&mut embedder, &reference, &cases);
        let seconds = start.elapsed().as_secs_f64();
        eprintln!(
            "{} on WebGPU: {} of {} cases, worst cosine {worst:.9} ({seconds:.1} s)",
            reference.model,
            cases.len(),
            reference.cases.len()
        );
    }
    assert!(paths.len() >= 20, "{} tiny models", paths.len());
}

#[test]
fn timing_at_load_stays_within_its_budget_and_decides_by_the_fitted_lines() {
    let mut embedder = on_webgpu(&tiny_bert());
    let adapter = embedder.webgpu().unwrap().adapter_name().to_string();
    let choice = pollster::block_on(embedder.choose_backend_by_timing(250.0)).expect("timing ran");
    eprintln!("timing at load on {adapter}: {choice:?}");
    assert!(choice.spent_ms <= 300.0, "timing took {} ms ({choice:?})", choice.spent_ms);
    assert!(!choice.cpu.is_empty() && !choice.webgpu.is_empty());
    let max_tokens = webembed::DEFAULT_BATCH_SIZE * embedder.spec().max_seq_length;
    let expected = Route::from_lines(choice.cpu_line, choice.webgpu_line, max_tokens);
    assert_eq!(choice.chosen, expected.name());
    // The CPU winning everywhere releases the GPU; otherwise it stays for the batches it wins.
    assert_eq!(embedder.backend_name(), if choice.chosen == "cpu" { "cpu" } else { "webgpu" });
}

#[test]
fn a_per_batch_route_sends_small_batches_to_the_cpu_and_big_ones_to_the_gpu() {
    let reference = read_reference(&repo_root().join("tests/fixtures/all-MiniLM-L6-v2.json"));
    let texts: Vec<&str> = reference.cases.iter().filter(|c| c.prompt.is_none()).map(|c| c.text.as_str()).collect();
    let mut cpu = Engine::from_files(ModelFiles::read_dir(&tiny_bert()).unwrap()).unwrap();
    let mut embedder = on_webgpu(&tiny_bert());
    // The GPU from (3 - 0.5) / (0.1 - 0.005) ≈ 26.3 padded tokens.
    let cpu_line = CostLine { fixed_ms: 0.5, per_token_ms: 0.1 };
    embedder.set_route(Route::ByTokens { cpu: cpu_line, gpu: CostLine { fixed_ms: 3.0, per_token_ms: 0.005 } });
    let small = embedder.encode(&["hi"], None, 32).unwrap();
    assert_eq!(embedder.last_batch_backend(), "cpu");
    assert_eq!(small, cpu.encode(&["hi"], None, 32).unwrap(), "a CPU batch is the CPU's exact result");
    let big = embedder.encode(&texts[..8], None, 8).unwrap();
    assert_eq!(embedder.last_batch_backend(), "webgpu");
    let expected = cpu.encode(&texts[..8], None, 8).unwrap();
    let dim = embedder.dimension();
    for i in 0..8 {
        let cos = cosine(&big[i * dim..(i + 1) * dim], &expected[i * dim..(i + 1) * dim]);
        assert!(cos >= 0.9999, "cosine {cos} for {:?}", texts[i]);
    }
}

#[test]
fn a_lost_device_finishes_the_call_on_the_cpu_and_stays_there() {
    let reference = read_reference(&repo_root().join("tests/fixtures/all-MiniLM-L6-v2.json"));
    let texts: Vec<&str> = reference.cases.iter().filter(|c| c.prompt.is_none()).map(|c| c.text.as_str()).collect();
    let mut cpu = Engine::from_files(ModelFiles::read_dir(&tiny_bert()).unwrap()).unwrap();
    let expected = cpu.encode(&texts, None, 8).unwrap();

    let mut embedder = on_webgpu(&tiny_bert());
    embedder.lose_device_after(2).unwrap();
    let got = embedder.encode(&texts, None, 8).unwrap();
    assert!(texts.len() > 3 * 8, "the loss must come mid-call");
    assert_eq!(embedder.backend_name(), "cpu");
    let reason = embedder.fallback_reason().expect("a reason").to_string();
    assert!(!reason.is_empty());
    let dim = embedder.dimension();
    for (i, text) in texts.iter().enumerate() {
        let cos = cosine(&got[i * dim..(i + 1) * dim], &expected[i * dim..(i + 1) * dim]);
        assert!(cos >= 0.9999, "cosine {cos} for {text:?} after the device loss ({reason})");
    }
    // Later calls stay on the CPU and are exact.
    let again = embedder.encode(&texts[..3], None, 8).unwrap();
    assert_eq!(again, cpu.encode(&texts[..3], None, 8).unwrap());
    eprintln!("device loss mid-call: finished on the CPU ({reason})");
}

#[test]
fn two_hundred_encodes_allocate_nothing_new_and_dropping_frees_all() {
    let mut embedder = on_webgpu(&tiny_bert());
    let texts = ["a short query", "a somewhat longer passage about the weather in the mountains in spring"];
    embedder.encode(&texts, None, 32).unwrap();
    let after_first = embedder.webgpu().unwrap().live_buffers();
    for i in 0..200 {
        let text = format!("query number {i}");
        embedder.encode(&[text.as_str(), texts[i % 2]], None, 32).unwrap();
    }
    assert_eq!(embedder.webgpu().unwrap().live_buffers(), after_first, "buffers after 200 encodes");
    let before_drop = live_buffer_count();
    assert!(before_drop >= after_first);
    embedder.use_cpu();
    assert_eq!(embedder.backend_name(), "cpu");
    eprintln!("200 encodes: {after_first} GPU buffers throughout; freed on leaving WebGPU");
}

/// Rerankers on the GPU: a BERT pair (token types 1 on its second segment, added as rows are
/// gathered) and an XLM-R one, every reference pair in one call, within 1e-4 of CrossEncoder.
#[test]
fn rerankers_on_webgpu_score_like_cross_encoder() {
    for name in ["bert-3label-st6", "xlmr-1label-identity"] {
        let folder = tiny_dir().join("rerankers").join(name);
        let reference: serde_json::Value =
            serde_json::from_slice(&std::fs::read(tiny_dir().join("rerank-references").join(format!("{name}.json"))).unwrap()).unwrap();
        let mut engine = Engine::reranker_from_files_as(ModelFiles::read_dir(&folder).unwrap(), webembed::folder::Dtype::F32).unwrap();
        pollster::block_on(engine.enable_webgpu(DeviceOptions { allow_f16: true, ..Default::default() })).expect("WebGPU starts");
        let cases = reference["cases"].as_array().unwrap();
        let pairs: Vec<(&str, &str)> = cases.iter().map(|c| (c["pair"][0].as_str().unwrap(), c["pair"][1].as_str().unwrap())).collect();
        let got = pollster::block_on(engine.score_pairs_async(&pairs, 64)).unwrap();
        assert_eq!(engine.last_batch_backend(), "webgpu", "{name}");
        let want: Vec<f32> = reference["batched_scores"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| match v {
                serde_json::Value::Array(items) => items.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
                x => vec![x.as_f64().unwrap() as f32],
            })
            .collect();
        assert_eq!(got.len(), want.len());
        let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0f32, f32::max);
        eprintln!("{name} on {}: worst |difference| {worst:e}", engine.webgpu().unwrap().adapter_name());
        assert!(worst <= 1e-4, "{name}: worst {worst}");
    }
}
