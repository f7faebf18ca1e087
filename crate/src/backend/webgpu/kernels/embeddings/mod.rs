//! `hidden = LayerNorm(word + position + token type)`, one workgroup per token. Word rows arrive
//! gathered on the CPU (see `crate::model::WordTable`).

pub mod check;

use super::{row_source, KernelShape};

pub fn source(shape: &KernelShape) -> String {
    row_source(shape, include_str!("embeddings.wgsl"))
}
