//! `output = LayerNorm(input + residual)`, one workgroup per token: the post-attention and
//! post-FFN step of every layer.

pub mod check;

use super::{row_source, KernelShape};

pub fn source(shape: &KernelShape) -> String {
    row_source(shape, include_str!("add_layernorm.wgsl"))
}
