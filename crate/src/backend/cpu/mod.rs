//! The CPU backend: the encoder (`encoder.rs`) with its matmuls on a packed SIMD kernel
//! (`matmul.rs`), attention (`attention.rs`) and vectorizable exp/erf (`activations.rs`).

pub mod activations;
pub mod attention;
pub mod encoder;
pub mod matmul;

use candle_core::{Device, Tensor};

use self::encoder::Encoder;
use crate::backend::{Backend, TokenBatch};
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
        let hidden = self.encoder.forward(&ids, &positions, &batch.lengths)?;
        Ok(hidden.flatten_all()?.to_vec1::<f32>()?)
    }
}
