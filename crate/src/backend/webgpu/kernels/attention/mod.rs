//! Fused attention: softmax(q·kᵀ/√d + padding mask)·v per head, with an online softmax over key
//! tiles in workgroup memory (the batch × heads × seq² score matrix never exists).

pub mod check;

use super::{float, prelude, KernelShape};

uniform!(
    /// Padded batch of `batch` rows of `seq_len` tokens; each row's real length is in `lengths`.
    AttentionShape { batch, seq_len, padding0, padding1 }
);

impl AttentionShape {
    pub fn new(batch: usize, seq_len: usize) -> Self {
        AttentionShape { batch: batch as u32, seq_len: seq_len as u32, ..Default::default() }
    }
}

/// Workgroup-memory floats the key and value tiles may use: WebGPU guarantees 16 KiB of
/// workgroup storage, less a word for the row length.
const TILE_FLOATS: usize = 4095;

fn key_tile(head_dim: usize) -> usize {
    (TILE_FLOATS / (2 * head_dim)).clamp(1, 64)
}

pub fn source(shape: &KernelShape) -> String {
    format!(
        "{}const HIDDEN: u32 = {}u;\nconst HEAD_DIM: u32 = {}u;\nconst KEY_TILE: u32 = {}u;\nconst SCALE: f32 = {};\n{}",
        prelude::<AttentionShape>(),
        shape.hidden,
        shape.head_dim,
        key_tile(shape.head_dim),
        float(1.0 / (shape.head_dim as f64).sqrt()),
        include_str!("attention.wgsl"),
    )
}

/// Workgroup counts: 64 queries per workgroup, one per head and batch row.
pub fn groups(seq_len: usize, heads: usize, batch: usize) -> (u32, u32, u32) {
    (seq_len.div_ceil(64) as u32, heads as u32, batch as u32)
}
