//! The encoder forward pass on the CPU, for BERT and XLM-RoBERTa alike (position ids arrive
//! computed by `crate::model::positions`). candle tensors carry the embeddings and LayerNorms;
//! the matmuls, attention and GELU run on this backend's own SIMD code.

use candle_core::{Device, Module, Tensor};
use candle_nn::LayerNorm;

use super::activations::gelu_erf_in_place;
use super::attention::attention;
use super::matmul::PackedWeights;
use crate::error::Result;
use crate::model::{self, EmbeddingParameters, LayerParameters, LinearParameters, ModelParameters, NormParameters, WordTable};
use crate::spec::{EncoderSpec, HiddenAct};
use crate::weights::Weights;

fn pack(linear: LinearParameters) -> PackedWeights {
    PackedWeights::pack(&linear.weight, &linear.bias, linear.out_features, linear.in_features)
}

/// `x · Wᵀ + b` over the last dimension of `x`, as a flat row-major buffer.
fn apply(packed: &PackedWeights, x: &Tensor) -> Result<Vec<f32>> {
    let rows = x.elem_count() / packed.in_features;
    Ok(packed.apply(&x.flatten_all()?.to_vec1::<f32>()?, rows))
}

/// `apply`, shaped like `x` with its last dimension replaced.
fn forward(packed: &PackedWeights, x: &Tensor) -> Result<Tensor> {
    let mut dims = x.dims().to_vec();
    if let Some(last) = dims.last_mut() {
        *last = packed.out_features;
    }
    Ok(Tensor::from_vec(apply(packed, x)?, dims, &Device::Cpu)?)
}

fn layer_norm(norm: NormParameters, eps: f64) -> Result<LayerNorm> {
    let dim = norm.weight.len();
    let weight = Tensor::from_vec(norm.weight, dim, &Device::Cpu)?;
    let bias = Tensor::from_vec(norm.bias, dim, &Device::Cpu)?;
    Ok(LayerNorm::new(weight, bias, eps))
}

fn norm_parameters(norm: &LayerNorm) -> Result<NormParameters> {
    let weight = norm.weight().to_vec1::<f32>()?;
    let bias = match norm.bias() {
        Some(bias) => bias.to_vec1::<f32>()?,
        None => vec![0.0; weight.len()],
    };
    Ok(NormParameters { weight, bias })
}

fn unpack(packed: &PackedWeights) -> LinearParameters {
    let (weight, bias) = packed.unpack();
    LinearParameters { weight, bias, out_features: packed.out_features, in_features: packed.in_features }
}

/// One layer with its linear weights packed for the matmul kernel.
struct PackedLayer {
    qkv: PackedWeights,
    attention_out: PackedWeights,
    attention_norm: LayerNorm,
    intermediate: PackedWeights,
    output: PackedWeights,
    output_norm: LayerNorm,
}

pub struct Encoder {
    spec: EncoderSpec,
    words: WordTable,
    position_embeddings: Tensor,
    token_type_embedding: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<PackedLayer>,
}

impl ModelParameters for Encoder {
    fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    fn word_table(&self) -> &WordTable {
        &self.words
    }

    fn embedding_parameters(&self) -> Result<EmbeddingParameters> {
        Ok(EmbeddingParameters {
            positions: self.position_embeddings.flatten_all()?.to_vec1::<f32>()?,
            token_type: self.token_type_embedding.to_vec1::<f32>()?,
            norm: norm_parameters(&self.embedding_norm)?,
        })
    }

    /// Unpacked from the kernel's panels, so no second copy of the weights is kept.
    fn layer_parameters(&self, index: usize) -> Result<LayerParameters> {
        let layer = &self.layers[index];
        Ok(LayerParameters {
            qkv: unpack(&layer.qkv),
            attention_out: unpack(&layer.attention_out),
            attention_norm: norm_parameters(&layer.attention_norm)?,
            intermediate: unpack(&layer.intermediate),
            output: unpack(&layer.output),
            output_norm: norm_parameters(&layer.output_norm)?,
        })
    }
}

impl Encoder {
    pub fn load(spec: &EncoderSpec, weights: &mut Weights) -> Result<Self> {
        let (hidden, eps) = (spec.hidden_size, spec.layer_norm_eps);
        let (words, embeddings) = model::load_embeddings(spec, weights)?;
        let mut layers = Vec::with_capacity(spec.num_layers);
        for index in 0..spec.num_layers {
            let p = model::load_layer(spec, weights, index)?;
            layers.push(PackedLayer {
                qkv: pack(p.qkv),
                attention_out: pack(p.attention_out),
                attention_norm: layer_norm(p.attention_norm, eps)?,
                intermediate: pack(p.intermediate),
                output: pack(p.output),
                output_norm: layer_norm(p.output_norm, eps)?,
            });
        }
        let positions = spec.max_position_embeddings;
        Ok(Encoder {
            spec: spec.clone(),
            words,
            position_embeddings: Tensor::from_vec(embeddings.positions, (positions, hidden), &Device::Cpu)?,
            token_type_embedding: Tensor::from_vec(embeddings.token_type, hidden, &Device::Cpu)?,
            embedding_norm: layer_norm(embeddings.norm, eps)?,
            layers,
        })
    }

    /// `ids`, `positions`: u32 `batch × seq_len`; `lengths[b]`: real tokens of row `b` (rows are
    /// right-padded). Returns the last hidden states, `batch × seq_len × hidden`; padded rows
    /// hold unspecified values.
    pub fn forward(&self, ids: &Tensor, positions: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let (batch, seq_len) = ids.dims2()?;
        let hidden = self.spec.hidden_size;
        let words = self.words.tensor().index_select(&ids.flatten_all()?, 0)?;
        let places = self.position_embeddings.index_select(&positions.flatten_all()?, 0)?;
        let embeddings = words.broadcast_add(&self.token_type_embedding)?.add(&places)?;
        let mut x = self.embedding_norm.forward(&embeddings.reshape((batch, seq_len, hidden))?)?;
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, lengths)?;
        }
        Ok(x)
    }

    fn layer_forward(&self, layer: &PackedLayer, x: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let (batch, seq_len, _) = x.dims3()?;
        let qkv = apply(&layer.qkv, x)?;
        let context = attention(&qkv, batch, seq_len, self.spec.num_heads, self.spec.head_dim(), lengths);
        let context = Tensor::from_vec(context, x.dims(), &Device::Cpu)?;
        let attended = layer.attention_norm.forward(&(forward(&layer.attention_out, &context)? + x)?)?;
        let mut inner = apply(&layer.intermediate, &attended)?;
        let inner = match self.spec.hidden_act {
            HiddenAct::GeluErf => {
                gelu_erf_in_place(&mut inner);
                Tensor::from_vec(inner, (batch, seq_len, self.spec.intermediate_size), &Device::Cpu)?
            }
            HiddenAct::GeluTanh => Tensor::from_vec(inner, (batch, seq_len, self.spec.intermediate_size), &Device::Cpu)?.gelu()?,
            HiddenAct::Relu => Tensor::from_vec(inner, (batch, seq_len, self.spec.intermediate_size), &Device::Cpu)?.relu()?,
        };
        let out = forward(&layer.output, &inner)?;
        Ok(layer.output_norm.forward(&(out + attended)?)?)
    }
}
