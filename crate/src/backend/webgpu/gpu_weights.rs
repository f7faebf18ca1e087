//! The encoder's parameters on the GPU, uploaded once at load, one layer at a time (so the
//! unpacked copy on the CPU never exceeds one layer). The word table stays on the CPU: rows are
//! gathered there, which keeps 250k-token vocabularies clear of the binding-size limit.

use half::f16;

use super::device::{GpuBuffer, GpuDevice};
use crate::error::Result;
use crate::model::{LinearParameters, ModelParameters, NormParameters};

pub struct GpuLinear {
    pub weight: GpuBuffer,
    pub bias: GpuBuffer,
}

pub struct GpuNorm {
    pub weight: GpuBuffer,
    pub bias: GpuBuffer,
}

pub struct GpuLayer {
    pub qkv: GpuLinear,
    pub attention_out: GpuLinear,
    pub attention_norm: GpuNorm,
    pub intermediate: GpuLinear,
    pub output: GpuLinear,
    pub output_norm: GpuNorm,
}

pub struct GpuWeights {
    pub positions: GpuBuffer,
    pub token_type: GpuBuffer,
    pub embedding_norm: GpuNorm,
    pub layers: Vec<GpuLayer>,
}

fn matrix_bytes(values: &[f32], as_f16: bool) -> Vec<u8> {
    if as_f16 {
        let halves: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
        bytemuck::cast_slice(&halves).to_vec()
    } else {
        bytemuck::cast_slice(values).to_vec()
    }
}

fn linear(gpu: &GpuDevice, label: &str, parameters: &LinearParameters) -> Result<GpuLinear> {
    Ok(GpuLinear {
        // q8 weights are dequantized here: the WebGPU kernels read f32 or f16.
        weight: gpu.upload(&format!("{label}.weight"), &matrix_bytes(&parameters.weight.to_f32(), gpu.shader_f16))?,
        bias: gpu.upload(&format!("{label}.bias"), bytemuck::cast_slice(&parameters.bias))?,
    })
}

fn norm(gpu: &GpuDevice, label: &str, parameters: &NormParameters) -> Result<GpuNorm> {
    Ok(GpuNorm {
        weight: gpu.upload(&format!("{label}.weight"), bytemuck::cast_slice(&parameters.weight))?,
        bias: gpu.upload(&format!("{label}.bias"), bytemuck::cast_slice(&parameters.bias))?,
    })
}

impl GpuWeights {
    pub fn upload(gpu: &GpuDevice, model: &dyn ModelParameters) -> Result<Self> {
        let embeddings = model.embedding_parameters()?;
        let mut layers = Vec::with_capacity(model.spec().num_layers);
        for index in 0..model.spec().num_layers {
            let p = model.layer_parameters(index)?;
            // Labels follow the checkpoint's names, so a binding-limit message names the tensor.
            let label = format!("encoder.layer.{index}");
            layers.push(GpuLayer {
                qkv: linear(gpu, &format!("{label}.attention.qkv"), &p.qkv)?,
                attention_out: linear(gpu, &format!("{label}.attention.output.dense"), &p.attention_out)?,
                attention_norm: norm(gpu, &format!("{label}.attention.output.LayerNorm"), &p.attention_norm)?,
                intermediate: linear(gpu, &format!("{label}.intermediate.dense"), &p.intermediate)?,
                output: linear(gpu, &format!("{label}.output.dense"), &p.output)?,
                output_norm: norm(gpu, &format!("{label}.output.LayerNorm"), &p.output_norm)?,
            });
        }
        Ok(GpuWeights {
            positions: gpu.upload("embeddings.position_embeddings", bytemuck::cast_slice(&embeddings.positions))?,
            token_type: gpu.upload("embeddings.token_type_embeddings", bytemuck::cast_slice(&embeddings.token_type))?,
            embedding_norm: norm(gpu, "embeddings.LayerNorm", &embeddings.norm)?,
            layers,
        })
    }
}
