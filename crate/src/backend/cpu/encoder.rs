//! The encoder forward pass on the CPU, for BERT and XLM-RoBERTa alike (position ids arrive
//! computed by `crate::model::positions`). candle tensors carry the embeddings and LayerNorms;
//! the matmuls, attention and GELU run on this backend's own SIMD code.

use candle_core::{Device, Module, Tensor};
use candle_nn::LayerNorm;

use super::activations::gelu_erf_in_place;
use super::attention::{attention, repad, unpad};
use super::linear::PackedLinear;
use super::parallel;
use crate::error::Result;
use crate::model::{self, EmbeddingParameters, LayerParameters, ModelParameters, NormParameters, WordTable};
use crate::spec::{EncoderSpec, HiddenAct};
use crate::weights::Weights;

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

/// One layer with its linear weights packed for the matmul kernel.
struct PackedLayer {
    qkv: PackedLinear,
    attention_out: PackedLinear,
    attention_norm: LayerNorm,
    intermediate: PackedLinear,
    output: PackedLinear,
    output_norm: LayerNorm,
}

pub struct Encoder {
    spec: EncoderSpec,
    words: WordTable,
    position_embeddings: Tensor,
    token_type_embedding: Tensor,
    type_deltas: Vec<f32>,
    embedding_norm: LayerNorm,
    layers: Vec<PackedLayer>,
}

impl ModelParameters for Encoder {
    fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    fn is_q8(&self) -> bool {
        Encoder::is_q8(self)
    }

    fn word_table(&self) -> &WordTable {
        &self.words
    }

    fn type_deltas(&self) -> &[f32] {
        &self.type_deltas
    }

    fn embedding_parameters(&self) -> Result<EmbeddingParameters> {
        Ok(EmbeddingParameters {
            positions: self.position_embeddings.flatten_all()?.to_vec1::<f32>()?,
            token_type: self.token_type_embedding.to_vec1::<f32>()?,
            type_deltas: self.type_deltas.clone(),
            norm: norm_parameters(&self.embedding_norm)?,
        })
    }

    /// Unpacked from the kernel's panels, so no second copy of the weights is kept.
    fn layer_parameters(&self, index: usize) -> Result<LayerParameters> {
        let layer = &self.layers[index];
        Ok(LayerParameters {
            qkv: layer.qkv.unpack(),
            attention_out: layer.attention_out.unpack(),
            attention_norm: norm_parameters(&layer.attention_norm)?,
            intermediate: layer.intermediate.unpack(),
            output: layer.output.unpack(),
            output_norm: norm_parameters(&layer.output_norm)?,
        })
    }
}

impl Encoder {
    /// Whether the matrices are q8 (int8 kernels).
    pub fn is_q8(&self) -> bool {
        self.words.is_q8() || self.layers.first().is_some_and(|l| matches!(l.qkv, PackedLinear::Q8(_)))
    }

    pub fn load(spec: &EncoderSpec, weights: &mut Weights) -> Result<Self> {
        let (hidden, eps) = (spec.hidden_size, spec.layer_norm_eps);
        let (words, embeddings) = model::load_embeddings(spec, weights)?;
        let mut layers = Vec::with_capacity(spec.num_layers);
        for index in 0..spec.num_layers {
            let p = model::load_layer(spec, weights, index)?;
            layers.push(PackedLayer {
                qkv: PackedLinear::pack(p.qkv),
                attention_out: PackedLinear::pack(p.attention_out),
                attention_norm: layer_norm(p.attention_norm, eps)?,
                intermediate: PackedLinear::pack(p.intermediate),
                output: PackedLinear::pack(p.output),
                output_norm: layer_norm(p.output_norm, eps)?,
            });
        }
        let positions = spec.max_position_embeddings;
        Ok(Encoder {
            spec: spec.clone(),
            words,
            position_embeddings: Tensor::from_vec(embeddings.positions, (positions, hidden), &Device::Cpu)?,
            token_type_embedding: Tensor::from_vec(embeddings.token_type, hidden, &Device::Cpu)?,
            type_deltas: embeddings.type_deltas,
            embedding_norm: layer_norm(embeddings.norm, eps)?,
            layers,
        })
    }

    /// `ids`, `positions`: u32 `batch × seq_len`; `types`: the same, or empty when all 0; `lengths[b]`: real tokens of row `b` (rows are
    /// right-padded). Returns the last hidden states, `batch × seq_len × hidden` row-major; padded
    /// rows hold unspecified values (their embeddings: no layer runs on them).
    pub fn forward(&self, ids: &Tensor, positions: &Tensor, types: &[u32], lengths: &[usize]) -> Result<Vec<f32>> {
        let (batch, seq_len) = ids.dims2()?;
        let hidden = self.spec.hidden_size;
        let rows = model::gather_rows(&self.words, &ids.flatten_all()?.to_vec1::<u32>()?, types, &self.type_deltas)?;
        let words = Tensor::from_vec(rows, (batch * seq_len, hidden), &Device::Cpu)?;
        let places = self.position_embeddings.index_select(&positions.flatten_all()?, 0)?;
        let embeddings = words.broadcast_add(&self.token_type_embedding)?.add(&places)?;
        let padded = self.embedding_norm.forward(&embeddings)?.flatten_all()?.to_vec1::<f32>()?;
        // The layers see real tokens only, each text's in turn: every step but attention is per
        // token, and attention never lets a real token see a padded one, so padded rows would
        // be work (11% of the benchmark corpus's batches) whose results nothing reads.
        let lengths: Vec<usize> = lengths.iter().take(batch).map(|&len| len.min(seq_len)).collect();
        let mut x = unpad(&padded, hidden, seq_len, &lengths);
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, &lengths)?;
        }
        let mut out = padded;
        repad(&x, hidden, seq_len, &lengths, &mut out);
        Ok(out)
    }

    /// One layer on `x`: one row per real token, the texts' tokens in turn.
    fn layer_forward(&self, layer: &PackedLayer, x: &[f32], lengths: &[usize]) -> Result<Vec<f32>> {
        let hidden = self.spec.hidden_size;
        let tokens = x.len() / hidden;
        let qkv = layer.qkv.apply(x, tokens);
        let context = attention(&qkv, lengths, self.spec.num_heads, self.spec.head_dim());
        // After attention every step is per token: one parallel part runs them all on its rows.
        parallel::try_map_row_ranges(tokens, hidden, |start, rows| {
            let part = start * hidden..(start + rows) * hidden;
            self.after_attention(layer, &context[part.clone()], &x[part], rows)
        })
    }

    /// Attention output, residual and norm, then the feed-forward block, for `rows` tokens.
    fn after_attention(&self, layer: &PackedLayer, context: &[f32], x: &[f32], rows: usize) -> Result<Vec<f32>> {
        let (hidden, intermediate) = (self.spec.hidden_size, self.spec.intermediate_size);
        let tensor = |values: Vec<f32>, width: usize| Tensor::from_vec(values, (rows, width), &Device::Cpu);
        let projected = tensor(layer.attention_out.apply_rows(context, rows), hidden)?;
        let attended = layer.attention_norm.forward(&(projected + Tensor::from_slice(x, (rows, hidden), &Device::Cpu)?)?)?;
        let mut inner = layer.intermediate.apply_rows(&attended.flatten_all()?.to_vec1::<f32>()?, rows);
        match self.spec.hidden_act {
            HiddenAct::GeluErf => gelu_erf_in_place(&mut inner),
            HiddenAct::GeluTanh => inner = tensor(inner, intermediate)?.gelu()?.flatten_all()?.to_vec1::<f32>()?,
            HiddenAct::Relu => inner = tensor(inner, intermediate)?.relu()?.flatten_all()?.to_vec1::<f32>()?,
            // `bert_spec` refuses silu for this encoder.
            HiddenAct::Silu => inner = tensor(inner, intermediate)?.silu()?.flatten_all()?.to_vec1::<f32>()?,
        }
        let out = tensor(layer.output.apply_rows(&inner, rows), hidden)?;
        Ok(layer.output_norm.forward(&(out + attended)?)?.flatten_all()?.to_vec1::<f32>()?)
    }
}
