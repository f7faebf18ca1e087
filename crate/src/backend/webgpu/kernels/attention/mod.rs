//! Fused attention: softmax(scale·q·kᵀ + mask)·v per head, with an online softmax over key tiles
//! in workgroup memory (the batch × heads × seq² score matrix never exists). The mask hides
//! padding, and where the model says so keys beyond a window or after the query; query heads
//! may share key/value heads (grouped-query attention).

pub mod check;

use super::{float, prelude, KernelShape};

uniform!(
    /// Padded batch of `batch` rows of `seq_len` tokens; each row's real length is in `lengths`.
    /// A query sees keys at most `window` positions away (`NO_WINDOW`: all of them).
    AttentionShape { batch, seq_len, window, padding0 }
);

/// `AttentionShape::window` when every key is seen.
pub const NO_WINDOW: u32 = u32::MAX;

impl AttentionShape {
    pub fn new(batch: usize, seq_len: usize) -> Self {
        AttentionShape { batch: batch as u32, seq_len: seq_len as u32, window: NO_WINDOW, padding0: 0 }
    }

    /// Keys at most `window` positions from the query (None: all).
    pub fn windowed(self, window: Option<usize>) -> Self {
        AttentionShape { window: window.map_or(NO_WINDOW, |w| w.min(NO_WINDOW as usize - 1) as u32), ..self }
    }
}

/// Workgroup-memory floats the key and value tiles may use: WebGPU guarantees 16 KiB of
/// workgroup storage, less a word for the row length.
const TILE_FLOATS: usize = 4095;

fn key_tile(head_dim: usize) -> usize {
    (TILE_FLOATS / (2 * head_dim)).clamp(1, 64)
}

pub fn source(shape: &KernelShape) -> String {
    let (heads, kv_heads, head_dim) = (shape.heads, shape.kv_heads.max(1), shape.head_dim);
    format!(
        "{}const HEAD_DIM: u32 = {head_dim}u;\nconst KEY_TILE: u32 = {}u;\nconst SCALE: f32 = {};\n\
         const STRIDE: u32 = {}u;\nconst KEY_OFFSET: u32 = {}u;\nconst VALUE_OFFSET: u32 = {}u;\n\
         const KV_GROUP: u32 = {}u;\nconst CONTEXT_WIDTH: u32 = {}u;\nconst CAUSAL: bool = {};\n{}",
        prelude::<AttentionShape>(),
        key_tile(head_dim),
        float(shape.attention_scale),
        (heads + 2 * kv_heads) * head_dim,
        heads * head_dim,
        (heads + kv_heads) * head_dim,
        (heads / kv_heads).max(1),
        heads * head_dim,
        shape.causal,
        include_str!("attention.wgsl"),
    )
}

/// Workgroup counts: 64 queries per workgroup, one per head and batch row.
pub fn groups(seq_len: usize, heads: usize, batch: usize) -> (u32, u32, u32) {
    (seq_len.div_ceil(64) as u32, heads as u32, batch as u32)
}
