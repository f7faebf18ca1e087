//! The fuzz targets' inputs, replayed on every test run: each committed seed must be accepted
//! (so fuzzing starts deep inside the parser), and every input that once crashed a target
//! (crate/fuzz/regressions/<target>/) must now be answered without a panic.

mod common;

use std::path::Path;

use common::repo_root;
use webembed::fuzzing;

/// A target: whether it accepted the input.
type Target = fn(&[u8]) -> bool;

const TARGETS: [(&str, Target); 5] = [
    ("config", fuzzing::config),
    ("safetensors", fuzzing::safetensors),
    ("pytorch_bin", fuzzing::pytorch_bin),
    ("tokenizer", fuzzing::tokenizer),
    ("keywords", fuzzing::keywords),
];

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn every_seed_is_accepted_by_its_target() {
    for (target, run) in TARGETS {
        let seeds = inputs(&repo_root().join("crate/fuzz/seeds").join(target));
        assert!(!seeds.is_empty(), "{target} has no seeds");
        for (name, bytes) in seeds {
            assert!(run(&bytes), "{target} seed {name} is refused: it no longer reaches deep into the parser");
        }
    }
}

#[test]
fn every_input_that_once_crashed_is_answered_without_a_panic() {
    let mut replayed = 0;
    for (target, run) in TARGETS {
        for (name, bytes) in inputs(&repo_root().join("crate/fuzz/regressions").join(target)) {
            let outcome = std::panic::catch_unwind(|| run(&bytes));
            assert!(outcome.is_ok(), "{target} regression {name} panics again");
            replayed += 1;
        }
    }
    assert!(replayed >= 1, "the regressions folder is empty");
}
