//! Rotary position embeddings on q and k, after their per-head RMSNorm where the model has one
//! (see `rotary.wgsl`).

pub mod check;

use super::{float, prelude, KernelShape};

uniform!(
    /// `tokens` rows of qkv; the first `query_heads` heads use the query norm, the rest the key norm.
    RotaryShape { tokens, query_heads, padding0, padding1 }
);

impl RotaryShape {
    pub fn new(tokens: usize, query_heads: usize) -> Self {
        RotaryShape { tokens: tokens as u32, query_heads: query_heads as u32, ..Default::default() }
    }
}

/// Whether the kernel normalizes each head first (q/k RMSNorm).
pub fn source(shape: &KernelShape, qk_norm: bool) -> String {
    let half = shape.head_dim / 2;
    format!(
        "{}const HEAD_DIM: u32 = {}u;\nconst HALF: u32 = {half}u;\nconst PAIRS: u32 = {}u;\nconst STRIDE: u32 = {}u;\n\
         const EPS: f32 = {};\nconst QK_NORM: bool = {qk_norm};\n{}",
        prelude::<RotaryShape>(),
        shape.head_dim,
        half.div_ceil(64).max(1),
        (shape.heads + 2 * shape.kv_heads) * shape.head_dim,
        float(shape.layer_norm_eps),
        include_str!("rotary.wgsl"),
    )
}

/// Workgroup counts: one per (token, rotated head), tokens spilling into z past 65535.
pub fn groups(tokens: usize, rotated_heads: usize) -> (u32, u32, u32) {
    let tokens = tokens as u32;
    (tokens.clamp(1, 65535), rotated_heads as u32, tokens.div_ceil(65535).max(1))
}
