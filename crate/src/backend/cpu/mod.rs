//! The CPU backend: the encoder (`encoder.rs`) with its matmuls on a packed SIMD kernel
//! (`matmul.rs`), attention (`attention.rs`) and vectorizable exp/erf (`activations.rs`), with
//! row-wise work split over threads where there are any (`parallel.rs`).

pub mod activations;
pub mod attention;
pub mod encoder;
pub mod matmul;
pub mod matmul_q8;
pub mod parallel;

use candle_core::{Device, Tensor};

use self::encoder::Encoder;
use crate::backend::{Backend, Embeddings, Head, TokenBatch};
use crate::error::Result;
use crate::model::ModelParameters;
use crate::pooling;

/// A batch is cut into at least this many small batches per thread (when it has the texts).
const SHARES_PER_THREAD: usize = 4;

pub struct CpuBackend {
    encoder: Encoder,
    head: Head,
}

impl CpuBackend {
    pub fn new(encoder: Encoder, head: Head) -> Self {
        CpuBackend { encoder, head }
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Last hidden states, `batch × seq_len × hidden` row-major.
    pub fn hidden_states(&self, batch: &TokenBatch) -> Result<Vec<f32>> {
        let device = Device::Cpu;
        let shape = (batch.batch, batch.seq_len);
        let ids = Tensor::from_slice(&batch.ids, shape, &device)?;
        let positions = Tensor::from_slice(&batch.positions, shape, &device)?;
        self.encoder.forward(&ids, &positions, &batch.types, &batch.lengths)
    }

    /// Pooled vectors, `batch × dimension`. With threads, the batch is cut into small batches of
    /// neighbouring texts (texts arrive longest first, so each pads little), several per thread,
    /// which the threads take as they come free; inside each, rows split further when a thread
    /// idles. A lone text is split by rows alone. A text's vector does not depend on the texts
    /// batched with it, so neither on any of this.
    fn pooled(&self, batch: &TokenBatch) -> Result<Vec<f32>> {
        let threads = parallel::threads();
        if threads <= 1 || batch.batch <= 1 {
            return self.pooled_together(batch);
        }
        let per_share = batch.batch.div_ceil(threads * SHARES_PER_THREAD);
        let shares: Vec<Vec<usize>> =
            (0..batch.batch).step_by(per_share).map(|s| (s..(s + per_share).min(batch.batch)).collect()).collect();
        let pooled = parallel::map_indices(shares.len(), |s| self.pooled_together(&batch.select(&shares[s])));
        let mut output = Vec::with_capacity(batch.batch * self.head.pooling.output_dimension());
        for vectors in pooled {
            output.extend_from_slice(&vectors?);
        }
        Ok(output)
    }

    fn pooled_together(&self, batch: &TokenBatch) -> Result<Vec<f32>> {
        let hidden = self.hidden_states(batch)?;
        let width = self.encoder.spec().hidden_size;
        let mut output = Vec::with_capacity(batch.batch * self.head.pooling.output_dimension());
        let mut pooled = Vec::new();
        for row in 0..batch.batch {
            let tokens = &hidden[row * batch.seq_len * width..(row + 1) * batch.seq_len * width];
            let mut mask = batch.mask[row * batch.seq_len..(row + 1) * batch.seq_len].to_vec();
            mask[..batch.pool_skip.min(batch.seq_len)].fill(0.0);
            pooled.clear();
            pooling::pool(&self.head.pooling, tokens, &mask, &mut pooled);
            if self.head.normalize {
                pooling::normalize(&mut pooled);
            }
            output.extend_from_slice(&pooled);
        }
        Ok(output)
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn embed<'a>(&'a mut self, batch: &'a TokenBatch) -> Embeddings<'a> {
        let result = parallel::in_pool(|| self.pooled(batch));
        Box::pin(std::future::ready(result))
    }
}
