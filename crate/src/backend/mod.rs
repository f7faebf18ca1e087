//! The backend interface: a backend turns a padded batch of token ids into pooled (and, when the
//! model says so, normalized) sentence embeddings. The CPU backend answers at once; the WebGPU
//! backend awaits its one readback per batch, so the interface is a future.

pub mod choice;
pub mod cpu;
pub mod webgpu;

use std::future::Future;
use std::pin::Pin;

use crate::error::Result;
use crate::pooling::PoolingSpec;

/// A right-padded batch: `ids`, `mask` and `positions` are `batch × seq_len`, row-major.
pub struct TokenBatch {
    pub batch: usize,
    pub seq_len: usize,
    /// Real (unpadded) tokens in each row.
    pub lengths: Vec<usize>,
    pub ids: Vec<u32>,
    pub mask: Vec<f32>,
    pub positions: Vec<u32>,
    /// Token type ids, `batch × seq_len` (a text pair's second segment); empty when all are 0.
    pub types: Vec<u32>,
    /// Leading tokens left out of the pool: the prompt's, when the model pools without it.
    pub pool_skip: usize,
}

impl TokenBatch {
    /// The batch of only `rows` (in that order), padded to the longest of them.
    pub fn select(&self, rows: &[usize]) -> TokenBatch {
        let seq_len = rows.iter().map(|&r| self.lengths[r]).max().unwrap_or(0).max(1);
        let mut out = TokenBatch {
            batch: rows.len(),
            seq_len,
            lengths: rows.iter().map(|&r| self.lengths[r]).collect(),
            ids: Vec::with_capacity(rows.len() * seq_len),
            mask: Vec::with_capacity(rows.len() * seq_len),
            positions: Vec::with_capacity(rows.len() * seq_len),
            types: Vec::new(),
            pool_skip: self.pool_skip,
        };
        // Only padding is dropped: every row is at most `seq_len` real tokens long.
        for &r in rows {
            let start = r * self.seq_len;
            out.ids.extend_from_slice(&self.ids[start..start + seq_len]);
            out.mask.extend_from_slice(&self.mask[start..start + seq_len]);
            out.positions.extend_from_slice(&self.positions[start..start + seq_len]);
            if !self.types.is_empty() {
                out.types.extend_from_slice(&self.types[start..start + seq_len]);
            }
        }
        out
    }
}

/// What a backend does after the encoder: the model's pooling modes, then Normalize or not.
#[derive(Clone, Debug)]
pub struct Head {
    pub pooling: PoolingSpec,
    pub normalize: bool,
}

pub type Embeddings<'a> = Pin<Box<dyn Future<Output = Result<Vec<f32>>> + 'a>>;

pub trait Backend {
    /// "cpu" or "webgpu", as reported to users.
    fn name(&self) -> &'static str;
    /// Sentence embeddings, `batch × dimension` row-major.
    fn embed<'a>(&'a mut self, batch: &'a TokenBatch) -> Embeddings<'a>;
}
