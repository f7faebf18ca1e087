//! webembed: sentence-transformers-exact sentence embeddings, natively and in the browser.

pub mod ascii_wordpiece;
pub mod backend;
pub mod engine;
pub mod error;
pub mod files;
pub mod folder;
pub mod fuzzing;
pub mod model;
pub mod pickle;
pub mod pooling;
pub mod quantize;
pub mod rerank;
pub mod search;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd_lowering;
pub mod spec;
pub mod tokenize;
pub mod unigram;
pub mod weights;

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
mod wasm_threads;

pub use engine::{check_fits, Engine, DEFAULT_BATCH_SIZE, WASM32_WEIGHT_BUDGET};
pub use error::{EmbedError, Result};
pub use files::ModelFiles;
pub use spec::ModelSpec;
