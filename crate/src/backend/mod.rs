//! The backend interface: a backend turns a padded batch of token ids into the encoder's last
//! hidden states. Pooling and normalization happen after it, shared by every backend.

pub mod cpu;

use crate::error::Result;

/// A right-padded batch: `ids`, `mask` and `positions` are `batch × seq_len`, row-major.
pub struct TokenBatch {
    pub batch: usize,
    pub seq_len: usize,
    /// Real (unpadded) tokens in each row.
    pub lengths: Vec<usize>,
    pub ids: Vec<u32>,
    pub mask: Vec<f32>,
    pub positions: Vec<u32>,
}

pub trait Backend {
    /// "cpu" or "webgpu", as reported to users.
    fn name(&self) -> &'static str;
    /// Last hidden states, `batch × seq_len × hidden_size`, row-major.
    fn forward(&mut self, batch: &TokenBatch) -> Result<Vec<f32>>;
}
