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
        let hidden = self.encoder.forward(&ids, &positions, &batch.lengths)?;
        Ok(hidden.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Pooled vectors, `batch × dimension`. With threads, the texts are dealt out to them (each
    /// thread's share padded to its own longest text) and each runs the whole encoder on its
    /// share; inside, the rows split further as threads come free (a lone long text is split by
    /// rows alone). A text's vector does not depend on the texts beside it, so neither on this.
    fn pooled(&self, batch: &TokenBatch) -> Result<Vec<f32>> {
        let shares = parallel::threads().min(batch.batch);
        if shares <= 1 {
            return self.pooled_together(batch);
        }
        // Dealt round-robin: texts arrive longest first, so each share gets long and short ones.
        let rows: Vec<Vec<usize>> = (0..shares).map(|s| (s..batch.batch).step_by(shares).collect()).collect();
        let pooled = parallel::map_indices(shares, |s| self.pooled_together(&batch.select(&rows[s])));
        let dimension = self.head.pooling.output_dimension();
        let mut output = vec![0f32; batch.batch * dimension];
        for (share, vectors) in rows.iter().zip(pooled) {
            for (&row, vector) in share.iter().zip(vectors?.chunks_exact(dimension)) {
                output[row * dimension..(row + 1) * dimension].copy_from_slice(vector);
            }
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
        let result = self.pooled(batch);
        Box::pin(std::future::ready(result))
    }
}
