//! The CPU backend: the encoder in candle tensors, its linear layers on our packed SIMD kernel
//! (`matmul.rs`), the attention products on candle's `gemm` (SIMD128 in wasm).

pub mod activations;
pub mod attention;
pub mod matmul;

use candle_core::{Device, Tensor};

use crate::backend::{Backend, TokenBatch};
use crate::encoder::Encoder;
use crate::error::Result;

pub struct CpuBackend {
    encoder: Encoder,
}

impl CpuBackend {
    pub fn new(encoder: Encoder) -> Self {
        CpuBackend { encoder }
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn forward(&mut self, batch: &TokenBatch) -> Result<Vec<f32>> {
        let device = Device::Cpu;
        let shape = (batch.batch, batch.seq_len);
        let ids = Tensor::from_slice(&batch.ids, shape, &device)?;
        let positions = Tensor::from_slice(&batch.positions, shape, &device)?;
        let lengths: Vec<usize> = batch.mask.chunks(batch.seq_len).map(|row| row.iter().filter(|&&m| m > 0.0).count()).collect();
        let hidden = self.encoder.forward(&ids, &positions, &lengths)?;
        Ok(hidden.flatten_all()?.to_vec1::<f32>()?)
    }
}
