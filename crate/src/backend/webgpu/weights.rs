//! The encoder's parameters on the GPU, uploaded once at load, one layer at a time (so the
//! unpacked copy on the CPU never exceeds one layer). The word table stays on the CPU: rows are
//! gathered there, which keeps 250k-token vocabularies clear of the binding-size limit.

use half::f16;

use super::device::{f32_bytes, GpuBuffer, GpuDevice};
use crate::backend::cpu::encoder::Encoder;
use crate::error::Result;

pub struct Linear {
    pub weight: GpuBuffer,
    pub bias: GpuBuffer,
}

pub struct Norm {
    pub weight: GpuBuffer,
    pub bias: GpuBuffer,
}

pub struct Layer {
    pub qkv: Linear,
    pub attention_out: Linear,
    pub attention_norm: Norm,
    pub intermediate: Linear,
    pub output: Linear,
    pub output_norm: Norm,
}

pub struct GpuWeights {
    pub positions: GpuBuffer,
    pub token_type: GpuBuffer,
    pub embedding_norm: Norm,
    pub layers: Vec<Layer>,
}

fn matrix_bytes(values: &[f32], as_f16: bool) -> Vec<u8> {
    if as_f16 {
        values.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect()
    } else {
        f32_bytes(values)
    }
}

fn linear(gpu: &GpuDevice, label: &str, (weight, bias): &(Vec<f32>, Vec<f32>)) -> Result<Linear> {
    Ok(Linear {
        weight: gpu.upload(&format!("{label}.weight"), &matrix_bytes(weight, gpu.shader_f16))?,
        bias: gpu.upload(&format!("{label}.bias"), &f32_bytes(bias))?,
    })
}

fn norm(gpu: &GpuDevice, label: &str, (weight, bias): &(Vec<f32>, Vec<f32>)) -> Result<Norm> {
    Ok(Norm {
        weight: gpu.upload(&format!("{label}.weight"), &f32_bytes(weight))?,
        bias: gpu.upload(&format!("{label}.bias"), &f32_bytes(bias))?,
    })
}

impl GpuWeights {
    pub fn upload(gpu: &GpuDevice, encoder: &Encoder) -> Result<Self> {
        let embeddings = encoder.embedding_parameters()?;
        let mut layers = Vec::with_capacity(encoder.spec().num_layers);
        for index in 0..encoder.spec().num_layers {
            let p = encoder.layer_parameters(index)?;
            let label = format!("encoder.layer.{index}");
            layers.push(Layer {
                qkv: linear(gpu, &format!("{label}.attention.qkv"), &p.qkv)?,
                attention_out: linear(gpu, &format!("{label}.attention.output.dense"), &p.attention_out)?,
                attention_norm: norm(gpu, &format!("{label}.attention.output.LayerNorm"), &p.attention_norm)?,
                intermediate: linear(gpu, &format!("{label}.intermediate.dense"), &p.intermediate)?,
                output: linear(gpu, &format!("{label}.output.dense"), &p.output)?,
                output_norm: norm(gpu, &format!("{label}.output.LayerNorm"), &p.output_norm)?,
            });
        }
        Ok(GpuWeights {
            positions: gpu.upload("embeddings.position_embeddings", &f32_bytes(&embeddings.positions))?,
            token_type: gpu.upload("embeddings.token_type_embeddings", &f32_bytes(&embeddings.token_type))?,
            embedding_norm: norm(gpu, "embeddings.LayerNorm", &embeddings.norm)?,
            layers,
        })
    }
}
