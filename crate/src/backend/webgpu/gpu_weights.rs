//! The encoder's parameters on the GPU, uploaded once at load, one layer at a time (so the
//! unpacked copy on the CPU never exceeds one layer). The word table stays on the CPU: rows are
//! gathered there, which keeps 250k-token vocabularies clear of the binding-size limit.

use half::f16;

use super::device::{GpuBuffer, GpuDevice};
use super::kernels::matmul::{pack_q8, quantize_groups};
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

/// q8 weights as the GPU's q8 matmul reads them. The CPU stores them rotated (its int8
/// activations need that); the GPU keeps activations in f32, so rows are turned back and
/// quantized again unrotated, one scale per `Q8_GROUP` inputs: 0.28 of f32's GPU memory, and no
/// input rotation on the GPU.
fn q8_bytes(parameters: &LinearParameters) -> Vec<u8> {
    let (rows, cols) = (parameters.out_features, parameters.in_features);
    let (values, scales) = quantize_groups(&parameters.weight.to_f32(), rows, cols);
    pack_q8(&values, &scales, rows, cols)
}

pub fn linear(gpu: &GpuDevice, label: &str, parameters: &LinearParameters, q8: bool) -> Result<GpuLinear> {
    let weight = if q8 { q8_bytes(parameters) } else { matrix_bytes(&parameters.weight.to_f32(), gpu.shader_f16) };
    Ok(GpuLinear {
        weight: gpu.upload(&format!("{label}.weight"), &weight)?,
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
    /// `q8`: the linear layers in q8 (`pack_q8`), else f16 or f32 as the device allows.
    pub fn upload(gpu: &GpuDevice, model: &dyn ModelParameters, q8: bool) -> Result<Self> {
        let embeddings = model.embedding_parameters()?;
        let mut layers = Vec::with_capacity(model.spec().num_layers);
        for index in 0..model.spec().num_layers {
            let p = model.layer_parameters(index)?;
            // Labels follow the checkpoint's names, so a binding-limit message names the tensor.
            let label = format!("encoder.layer.{index}");
            layers.push(GpuLayer {
                qkv: linear(gpu, &format!("{label}.attention.qkv"), &p.qkv, q8)?,
                attention_out: linear(gpu, &format!("{label}.attention.output.dense"), &p.attention_out, q8)?,
                attention_norm: norm(gpu, &format!("{label}.attention.output.LayerNorm"), &p.attention_norm)?,
                intermediate: linear(gpu, &format!("{label}.intermediate.dense"), &p.intermediate, q8)?,
                output: linear(gpu, &format!("{label}.output.dense"), &p.output, q8)?,
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
