//! q8 natively: every fixture text of the real model and of every tiny model shape, quantized at
//! load and from a q8 file, against sentence-transformers' f32 embeddings (cosine ≥ 0.995 each,
//! mean ≥ 0.999, token ids equal); the q8 file is a quarter of the f32 file; a file of another
//! scheme or a damaged int8 tensor is a clear E_WEIGHTS.

mod common;

use std::path::{Path, PathBuf};

use common::{
    assert_ids, case_vector, cases_for_software_gpu, cosine, read_reference, repo_root, tiny_dir, tiny_model_references, Case, Reference,
};
use webembed::folder::Dtype;
use webembed::{Engine, ModelFiles};

fn minilm() -> PathBuf {
    repo_root().join("models/all-MiniLM-L6-v2")
}

/// (worst, mean) cosine of the engine's vectors to the reference's, ids checked first.
fn fidelity(engine: &mut Engine, reference: &Reference) -> (f64, f64) {
    assert_ids(engine, reference);
    fidelity_of(engine, &reference.cases.iter().collect::<Vec<_>>())
}

/// (worst, mean) cosine over some of the reference's cases (ids: `assert_ids`).
fn fidelity_of(engine: &mut Engine, cases: &[&Case]) -> (f64, f64) {
    let (mut worst, mut sum) = (1f64, 0f64);
    for case in cases {
        let cos = cosine(&case_vector(engine, case), &case.embedding);
        worst = worst.min(cos);
        sum += cos;
    }
    (worst, sum / cases.len() as f64)
}

fn assert_bars(name: &str, (worst, mean): (f64, f64)) {
    eprintln!("{name}: q8 worst cosine {worst:.6}, mean {mean:.6}");
    assert!(worst >= 0.995, "{name}: worst cosine {worst}");
    assert!(mean >= 0.999, "{name}: mean cosine {mean}");
}

fn q8_file(folder: &Path) -> Vec<u8> {
    webembed::engine::quantize_folder(ModelFiles::read_dir(folder).unwrap()).expect("quantize")
}

#[test]
fn minilm_q8_meets_the_fidelity_bars_and_a_quarter_of_the_size() {
    let reference = read_reference(&repo_root().join("tests/fixtures/all-MiniLM-L6-v2.json"));
    let mut engine = Engine::from_files_as(ModelFiles::read_dir(&minilm()).unwrap(), Dtype::Q8).unwrap();
    assert_eq!(engine.dtype(), "q8");
    assert_bars("all-MiniLM-L6-v2 (quantized at load)", fidelity(&mut engine, &reference));

    let file = q8_file(&minilm());
    let f32_size = std::fs::metadata(minilm().join("model.safetensors")).unwrap().len() as f64;
    let ratio = file.len() as f64 / f32_size;
    eprintln!("model.q8.safetensors: {} bytes, {ratio:.3} of model.safetensors", file.len());
    assert!(ratio <= 0.27, "q8 file is {ratio:.3} of the f32 file");

    // The file loads to the same vectors as quantizing at load.
    let mut files = ModelFiles::read_dir(&minilm()).unwrap();
    files.take("model.safetensors");
    files.insert("model.q8.safetensors", file);
    let mut from_file = Engine::from_files_as(files, Dtype::Q8).unwrap();
    let texts: Vec<&str> = reference.cases.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(from_file.encode(&texts, None, 8).unwrap(), engine.encode(&texts, None, 8).unwrap());
}

#[test]
fn every_tiny_shape_meets_the_fidelity_bars_in_q8() {
    let tiny = tiny_dir();
    let paths = tiny_model_references();
    assert!(paths.len() >= 20);
    for path in &paths {
        let reference = read_reference(path);
        let folder = tiny.join("models").join(&reference.model);
        let mut engine = Engine::from_files_as(ModelFiles::read_dir(&folder).unwrap(), Dtype::Q8).unwrap();
        assert_eq!(engine.dtype(), "q8", "{}", reference.model);
        assert_bars(&reference.model, fidelity(&mut engine, &reference));
    }
}

fn with_q8_file(bytes: Vec<u8>) -> ModelFiles {
    let folder = repo_root().join("tests/fixtures/tiny/models/e5-small-v2-like");
    let mut files = ModelFiles::read_dir(&folder).unwrap();
    files.take("model.safetensors");
    files.insert("model.q8.safetensors", bytes);
    files
}

#[test]
fn a_q8_file_of_another_scheme_or_with_a_damaged_tensor_is_e_weights() {
    let folder = repo_root().join("tests/fixtures/tiny/models/e5-small-v2-like");
    let good = q8_file(&folder);
    Engine::from_files_as(with_q8_file(good.clone()), Dtype::Q8).expect("the written file loads");

    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(good[8..8 + header_len].to_vec()).unwrap();
    let renamed = header.replace("\"webembed.quantization_version\":\"1\"", "\"webembed.quantization_version\":\"9\"");
    assert_ne!(renamed, header);
    let mut other_version = good.clone();
    other_version[8..8 + header_len].copy_from_slice(renamed.as_bytes());
    let err = Engine::from_files_as(with_q8_file(other_version), Dtype::Q8).err().expect("refused");
    assert_eq!(err.code(), "E_WEIGHTS");
    assert!(err.to_string().contains("version \"9\""), "{err}");

    let truncated = good[..good.len() - 100].to_vec();
    let err = Engine::from_files_as(with_q8_file(truncated), Dtype::Q8).err().expect("refused");
    assert_eq!(err.code(), "E_WEIGHTS");
    assert!(err.to_string().contains("model.q8.safetensors"), "{err}");
}

/// q8 on WebGPU (lavapipe here): the GPU runs the int8 weights; the vectors must meet the same
/// bars on the real model and on every distinct tiny shape (long texts under one prompt: see
/// `cases_for_software_gpu`).
#[test]
fn q8_on_webgpu_meets_the_fidelity_bars() {
    use webembed::backend::webgpu::device::DeviceOptions;
    let tiny = repo_root().join("tests/fixtures/tiny");
    let mut cases = vec![(minilm(), repo_root().join("tests/fixtures/all-MiniLM-L6-v2.json"))];
    for shape in [
        "e5-small-v2-like",
        "multilingual-e5-small-like",
        "xlmr-minilm-nonorm-like",
        "multilingual-e5-large-like",
        "bge-cls-like",
        "pooling-lasttoken",
    ] {
        cases.push((tiny.join("models").join(shape), tiny.join("references").join(format!("{shape}.json"))));
    }
    for (folder, reference) in cases {
        let start = std::time::Instant::now();
        let reference = read_reference(&reference);
        let mut engine = Engine::from_files_as(ModelFiles::read_dir(&folder).unwrap(), Dtype::Q8).unwrap();
        pollster::block_on(engine.enable_webgpu(DeviceOptions { allow_f16: false, ..Default::default() }))
            .expect("WebGPU starts and passes its self-test");
        let name = format!("{} on WebGPU", folder.file_name().unwrap().to_string_lossy());
        assert_ids(&mut engine, &reference);
        assert_bars(&name, fidelity_of(&mut engine, &cases_for_software_gpu(&reference)));
        assert_eq!(engine.backend_name(), "webgpu", "{name}: fell back: {:?}", engine.fallback_reason());
        assert_eq!(engine.dtype(), "q8", "{name}: the GPU runs the int8 weights");
        eprintln!("{name}: {:.1} s", start.elapsed().as_secs_f64());
    }
}
