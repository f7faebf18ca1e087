//! The encoder forward pass on the CPU, for BERT and XLM-RoBERTa alike: both are the same
//! post-LayerNorm stack and differ only in position ids, which `crate::encoder::positions`
//! computes before the batch gets here. candle tensors carry the embeddings and LayerNorms; the
//! matmuls, attention and GELU run on this backend's own SIMD code.

use candle_core::{Device, Module, Tensor};
use candle_nn::LayerNorm;

use super::activations::gelu_erf_in_place;
use super::attention::attention;
use super::matmul::PackedWeights;
use crate::error::Result;
use crate::spec::{EncoderSpec, HiddenAct};
use crate::weights::Weights;

/// A linear layer whose weights are packed once for the CPU matmul kernel.
struct Linear {
    packed: PackedWeights,
}

impl Linear {
    fn new(weight: Tensor, bias: Tensor) -> Result<Self> {
        let (out_features, in_features) = weight.dims2()?;
        let weight = weight.flatten_all()?.to_vec1::<f32>()?;
        let bias = bias.to_vec1::<f32>()?;
        Ok(Linear { packed: PackedWeights::pack(&weight, &bias, out_features, in_features) })
    }

    /// `x · Wᵀ + b` as a flat row-major buffer.
    fn apply(&self, x: &Tensor) -> Result<Vec<f32>> {
        let rows = x.elem_count() / self.packed.in_features;
        Ok(self.packed.apply(&x.flatten_all()?.to_vec1::<f32>()?, rows))
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut dims = x.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = self.packed.out_features;
        }
        Ok(Tensor::from_vec(self.apply(x)?, dims, &Device::Cpu)?)
    }
}

struct Layer {
    /// Query, key and value projections stacked into one `3·hidden × hidden` matmul.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

pub struct Encoder {
    spec: EncoderSpec,
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    /// Row 0 of the token-type table: sentence-transformers passes all-zero token_type_ids.
    token_type_embedding: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
}

fn linear_parts(weights: &mut Weights, prefix: &str, out_dim: usize, in_dim: usize) -> Result<(Tensor, Tensor)> {
    let weight = weights.take(&format!("{prefix}.weight"), &[out_dim, in_dim])?;
    let bias = weights.take(&format!("{prefix}.bias"), &[out_dim])?;
    Ok((weight, bias))
}

fn linear(weights: &mut Weights, prefix: &str, out_dim: usize, in_dim: usize) -> Result<Linear> {
    let (weight, bias) = linear_parts(weights, prefix, out_dim, in_dim)?;
    Linear::new(weight, bias)
}

fn layer_norm(weights: &mut Weights, prefix: &str, dim: usize, eps: f64) -> Result<LayerNorm> {
    // Checkpoints converted from TF name the LayerNorm parameters gamma/beta.
    let (w, b) = if weights.contains(&format!("{prefix}.weight")) { ("weight", "bias") } else { ("gamma", "beta") };
    let weight = weights.take(&format!("{prefix}.{w}"), &[dim])?;
    let bias = weights.take(&format!("{prefix}.{b}"), &[dim])?;
    Ok(LayerNorm::new(weight, bias, eps))
}

/// Rows `ids` of `table`, `ids.len() × width` row-major.
pub fn gather_rows(table: &Tensor, ids: &[u32]) -> Result<Vec<f32>> {
    let ids = Tensor::from_slice(ids, ids.len(), &Device::Cpu)?;
    Ok(table.index_select(&ids, 0)?.flatten_all()?.to_vec1::<f32>()?)
}

/// One layer's parameters in PyTorch's layout (`Linear`: weight `out × in`, then bias), for
/// uploading to another backend.
pub struct LayerParameters {
    pub qkv: (Vec<f32>, Vec<f32>),
    pub attention_out: (Vec<f32>, Vec<f32>),
    pub attention_norm: (Vec<f32>, Vec<f32>),
    pub intermediate: (Vec<f32>, Vec<f32>),
    pub output: (Vec<f32>, Vec<f32>),
    pub output_norm: (Vec<f32>, Vec<f32>),
}

/// The embedding stage's parameters other than the word table (gathered on the CPU by every backend).
pub struct EmbeddingParameters {
    pub positions: Vec<f32>,
    pub token_type: Vec<f32>,
    pub norm: (Vec<f32>, Vec<f32>),
}

fn norm_parameters(norm: &LayerNorm) -> Result<(Vec<f32>, Vec<f32>)> {
    let weight = norm.weight().to_vec1::<f32>()?;
    let bias = match norm.bias() {
        Some(bias) => bias.to_vec1::<f32>()?,
        None => vec![0.0; weight.len()],
    };
    Ok((weight, bias))
}

impl Encoder {
    pub fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    /// The `vocab × hidden` word-embedding table (a shared handle, not a copy).
    pub fn word_table(&self) -> &Tensor {
        &self.word_embeddings
    }

    pub fn embedding_parameters(&self) -> Result<EmbeddingParameters> {
        Ok(EmbeddingParameters {
            positions: self.position_embeddings.flatten_all()?.to_vec1::<f32>()?,
            token_type: self.token_type_embedding.to_vec1::<f32>()?,
            norm: norm_parameters(&self.embedding_norm)?,
        })
    }

    pub fn layer_parameters(&self, index: usize) -> Result<LayerParameters> {
        let layer = &self.layers[index];
        Ok(LayerParameters {
            qkv: layer.qkv.packed.unpack(),
            attention_out: layer.attention_out.packed.unpack(),
            attention_norm: norm_parameters(&layer.attention_norm)?,
            intermediate: layer.intermediate.packed.unpack(),
            output: layer.output.packed.unpack(),
            output_norm: norm_parameters(&layer.output_norm)?,
        })
    }

    pub fn load(spec: &EncoderSpec, weights: &mut Weights) -> Result<Self> {
        let hidden = spec.hidden_size;
        let eps = spec.layer_norm_eps;
        let word_embeddings = weights.take("embeddings.word_embeddings.weight", &[spec.vocab_size, hidden])?;
        let position_embeddings =
            weights.take("embeddings.position_embeddings.weight", &[spec.max_position_embeddings, hidden])?;
        let token_types = weights.take("embeddings.token_type_embeddings.weight", &[spec.type_vocab_size, hidden])?;
        let token_type_embedding = token_types.get(0)?;
        let embedding_norm = layer_norm(weights, "embeddings.LayerNorm", hidden, eps)?;
        let mut layers = Vec::with_capacity(spec.num_layers);
        for i in 0..spec.num_layers {
            let p = format!("encoder.layer.{i}");
            let (qw, qb) = linear_parts(weights, &format!("{p}.attention.self.query"), hidden, hidden)?;
            let (kw, kb) = linear_parts(weights, &format!("{p}.attention.self.key"), hidden, hidden)?;
            let (vw, vb) = linear_parts(weights, &format!("{p}.attention.self.value"), hidden, hidden)?;
            let qkv_weight = Tensor::cat(&[qw, kw, vw], 0)?;
            let qkv_bias = Tensor::cat(&[qb, kb, vb], 0)?;
            layers.push(Layer {
                qkv: Linear::new(qkv_weight, qkv_bias)?,
                attention_out: linear(weights, &format!("{p}.attention.output.dense"), hidden, hidden)?,
                attention_norm: layer_norm(weights, &format!("{p}.attention.output.LayerNorm"), hidden, eps)?,
                intermediate: linear(weights, &format!("{p}.intermediate.dense"), spec.intermediate_size, hidden)?,
                output: linear(weights, &format!("{p}.output.dense"), hidden, spec.intermediate_size)?,
                output_norm: layer_norm(weights, &format!("{p}.output.LayerNorm"), hidden, eps)?,
            });
        }
        Ok(Encoder {
            spec: spec.clone(),
            word_embeddings,
            position_embeddings,
            token_type_embedding,
            embedding_norm,
            layers,
        })
    }

    /// `ids`, `positions`: u32 `batch × seq_len`; `lengths[b]`: real tokens of row `b` (rows are
    /// right-padded). Returns the last hidden states, `batch × seq_len × hidden`; padded rows
    /// hold unspecified values.
    pub fn forward(&self, ids: &Tensor, positions: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let (batch, seq_len) = ids.dims2()?;
        let hidden = self.spec.hidden_size;
        let words = self.word_embeddings.index_select(&ids.flatten_all()?, 0)?;
        let places = self.position_embeddings.index_select(&positions.flatten_all()?, 0)?;
        let embeddings = words.broadcast_add(&self.token_type_embedding)?.add(&places)?;
        let mut x = self.embedding_norm.forward(&embeddings.reshape((batch, seq_len, hidden))?)?;
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, lengths)?;
        }
        Ok(x)
    }

    fn layer_forward(&self, layer: &Layer, x: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let (batch, seq_len, _) = x.dims3()?;
        let qkv = layer.qkv.apply(x)?;
        let context = attention(&qkv, batch, seq_len, self.spec.num_heads, self.spec.head_dim(), lengths);
        let context = Tensor::from_vec(context, x.dims(), &Device::Cpu)?;
        let attended = layer.attention_norm.forward(&(layer.attention_out.forward(&context)? + x)?)?;
        let mut inner = layer.intermediate.apply(&attended)?;
        let inner = match self.spec.hidden_act {
            HiddenAct::GeluErf => {
                gelu_erf_in_place(&mut inner);
                Tensor::from_vec(inner, (batch, seq_len, self.spec.intermediate_size), &Device::Cpu)?
            }
            HiddenAct::GeluTanh => Tensor::from_vec(inner, (batch, seq_len, self.spec.intermediate_size), &Device::Cpu)?.gelu()?,
            HiddenAct::Relu => Tensor::from_vec(inner, (batch, seq_len, self.spec.intermediate_size), &Device::Cpu)?.relu()?,
        };
        let out = layer.output.forward(&inner)?;
        Ok(layer.output_norm.forward(&(out + attended)?)?)
    }
}
