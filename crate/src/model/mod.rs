//! The network as a checkpoint stores it: which tensors a folder holds, under which names and
//! shapes, and how each architecture numbers positions. Backends build from the parameter
//! structs here (as candle's `models/bert.rs` blocks load their own names); no backend knows a
//! tensor name.
//!
//! BERT and XLM-RoBERTa share one post-LayerNorm layer stack and differ only in position ids
//! (this file); ModernBERT, Gemma3 and Qwen3 share the pre-norm rotary stack of `prenorm`; a
//! static model is a table (`static_table`); Dense modules follow the pooling (`dense`).

pub mod dense;
pub mod prenorm;
pub mod static_table;

use std::sync::Arc;

use candle_core::{Device, Tensor};

use crate::error::Result;
use crate::quantize::{Matrix, Quantize, QuantizedRows};
use crate::spec::{Architecture, EncoderSpec};
use crate::weights::Weights;

/// A `Linear` in PyTorch's layout: `weight` is `out_features × in_features` row-major.
pub struct LinearParameters {
    pub weight: Matrix,
    pub bias: Vec<f32>,
    pub out_features: usize,
    pub in_features: usize,
}

#[derive(Clone)]
pub struct NormParameters {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// One encoder layer. Query, key and value are stacked into one `3·hidden × hidden` linear.
pub struct LayerParameters {
    pub qkv: LinearParameters,
    pub attention_out: LinearParameters,
    pub attention_norm: NormParameters,
    pub intermediate: LinearParameters,
    pub output: LinearParameters,
    pub output_norm: NormParameters,
}

/// The embedding stage other than the word table.
pub struct EmbeddingParameters {
    /// `max_position_embeddings × hidden` row-major.
    pub positions: Vec<f32>,
    /// Row 0 of the token-type table, which every backend adds to every token: sentence-transformers
    /// passes all-zero token_type_ids to an embedding model.
    pub token_type: Vec<f32>,
    /// Rows 1.. of the token-type table minus row 0, `(type_vocab_size - 1) × hidden`: added to the
    /// gathered word rows of a text pair's second segment (see `gather_rows`), so no backend needs
    /// a per-token type input.
    pub type_deltas: Vec<f32>,
    pub norm: NormParameters,
}

/// The `vocab × hidden` word-embedding table, f32 or q8 (rows dequantized as they are gathered).
/// It stays on the CPU for every backend (rows are gathered per batch), so a 250k-token
/// vocabulary is held once and never meets a GPU binding limit. Clones share the table.
#[derive(Clone)]
pub enum WordTable {
    F32(Tensor),
    Q8(Arc<QuantizedRows>),
}

impl WordTable {
    /// Rows `ids` of the table, `ids.len() × hidden` row-major.
    pub fn gather(&self, ids: &[u32]) -> Result<Vec<f32>> {
        match self {
            WordTable::F32(table) => {
                let ids = Tensor::from_slice(ids, ids.len(), &Device::Cpu)?;
                Ok(table.index_select(&ids, 0)?.flatten_all()?.to_vec1::<f32>()?)
            }
            WordTable::Q8(table) => {
                let mut out = vec![0f32; ids.len() * table.cols];
                for (row, &id) in out.chunks_exact_mut(table.cols.max(1)).zip(ids) {
                    // Ids are checked against the vocabulary before they get here.
                    table.dequantize_row((id as usize).min(table.rows.saturating_sub(1)), row);
                }
                Ok(out)
            }
        }
    }

    pub fn is_q8(&self) -> bool {
        matches!(self, WordTable::Q8(_))
    }

    /// Runs `f` with a function that adds row `id` to a slice (rows beyond the table add nothing:
    /// ids are checked against the vocabulary before they get here).
    pub fn with_rows<R>(&self, f: impl FnOnce(&mut dyn FnMut(u32, &mut [f32])) -> R) -> Result<R> {
        match self {
            WordTable::F32(table) => {
                let table = table.contiguous()?;
                let (storage, layout) = table.storage_and_layout();
                let candle_core::Storage::Cpu(cpu) = &*storage else {
                    return Err(crate::error::EmbedError::Inference("the word table is not on the CPU".into()));
                };
                let values = &cpu.as_slice::<f32>()?[layout.start_offset()..];
                let width = self.width().max(1);
                Ok(f(&mut |id, out| {
                    if let Some(row) = values.get(id as usize * width..(id as usize + 1) * width) {
                        out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
                    }
                }))
            }
            WordTable::Q8(table) => {
                let mut scratch = vec![0f32; table.cols];
                Ok(f(&mut |id, out| {
                    if (id as usize) < table.rows {
                        table.dequantize_row(id as usize, &mut scratch);
                        out.iter_mut().zip(&scratch).for_each(|(o, v)| *o += v);
                    }
                }))
            }
        }
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        match self {
            WordTable::F32(table) => table.dims().get(1).copied().unwrap_or(0),
            WordTable::Q8(table) => table.cols,
        }
    }
}

/// Rows `ids` of `words`, each plus its token type's delta (`types` empty: every token is of type 0).
/// Type ids are checked against the table before they get here.
pub fn gather_rows(words: &WordTable, ids: &[u32], types: &[u32], type_deltas: &[f32]) -> Result<Vec<f32>> {
    let mut rows = words.gather(ids)?;
    let hidden = rows.len() / ids.len().max(1);
    for (row, &kind) in rows.chunks_exact_mut(hidden.max(1)).zip(types) {
        if kind > 0 {
            let start = (kind as usize - 1) * hidden;
            for (value, delta) in row.iter_mut().zip(&type_deltas[start..start + hidden]) {
                *value += delta;
            }
        }
    }
    Ok(rows)
}

/// Which tensors a q8 load quantizes, and how: the word table by rows, the linear weights by
/// rotated rows (their inputs are rotated to match); not the position and token-type tables,
/// LayerNorms or biases.
pub fn quantized_in_q8(name: &str, shape: &[usize]) -> Option<Quantize> {
    // A reranker's classification head is a few hundred thousand numbers, kept exact.
    let head = name.starts_with("classifier.") || name.starts_with("pooler.");
    // A model2vec table is named `embeddings`; every other family's tables end in `.weight`.
    let table = is_word_table(name);
    if head
        || shape.len() != 2
        || !(name.ends_with(".weight") || table)
        || name.contains("position_embeddings")
        || name.contains("token_type_embeddings")
    {
        return None;
    }
    Some(if table { Quantize::Rows } else { Quantize::RotatedRows })
}

/// Whether `name` is a token table (rows gathered per token, not multiplied).
fn is_word_table(name: &str) -> bool {
    name.contains("word_embeddings")
        || name.contains("tok_embeddings")
        || name.contains("embed_tokens")
        || name == static_table::ST_TABLE
        || name == static_table::MODEL2VEC_TABLE
}

/// What a backend reads to build itself from a loaded model, whichever backend holds it now:
/// the CPU encoder implements it, and the WebGPU backend uploads from it.
pub trait ModelParameters {
    fn spec(&self) -> &EncoderSpec;
    fn word_table(&self) -> &WordTable;
    fn embedding_parameters(&self) -> Result<EmbeddingParameters>;
    /// `EmbeddingParameters::type_deltas`, without copying the rest of the embedding stage.
    fn type_deltas(&self) -> &[f32];
    fn layer_parameters(&self, index: usize) -> Result<LayerParameters>;
    /// Whether the linear layers hold q8 weights.
    fn is_q8(&self) -> bool;
    /// A pre-norm stack's layer `index` (ModernBERT, Gemma3, Qwen3).
    fn prenorm_layer(&self, index: usize) -> Result<prenorm::PreNormLayer> {
        let _ = index;
        Err(crate::error::EmbedError::Inference("this model has no pre-norm layers".into()))
    }
    /// A pre-norm stack's norms around its layers.
    fn prenorm_ends(&self) -> Result<prenorm::PreNormEnds> {
        Err(crate::error::EmbedError::Inference("this model has no pre-norm layers".into()))
    }
}

pub(crate) fn vector(tensor: Tensor) -> Result<Vec<f32>> {
    Ok(tensor.flatten_all()?.to_vec1::<f32>()?)
}

fn linear(weights: &mut Weights, prefix: &str, out_features: usize, in_features: usize) -> Result<LinearParameters> {
    let weight = weights.take_matrix(&format!("{prefix}.weight"), out_features, in_features)?;
    let bias = weights.take(&format!("{prefix}.bias"), &[out_features])?;
    Ok(LinearParameters { weight, bias: vector(bias)?, out_features, in_features })
}

/// Matrices stacked row-wise (per-row scales make q8 stacking exact); parts that are not all
/// q8 in the same basis stack as f32.
pub(crate) fn stack_rows<const N: usize>(parts: [Matrix; N]) -> Matrix {
    let rotated = matches!(&parts[0], Matrix::Q8(q) if q.rotated);
    if parts.iter().all(|m| matches!(m, Matrix::Q8(q) if q.rotated == rotated)) {
        let mut stacked = QuantizedRows { rows: 0, cols: 0, values: Vec::new(), scales: Vec::new(), rotated };
        for part in parts {
            if let Matrix::Q8(rows) = part {
                stacked.rows += rows.rows;
                stacked.cols = rows.cols;
                stacked.values.extend_from_slice(&rows.values);
                stacked.scales.extend_from_slice(&rows.scales);
            }
        }
        return Matrix::Q8(stacked);
    }
    Matrix::F32(parts.iter().flat_map(Matrix::to_f32).collect())
}

fn layer_norm(weights: &mut Weights, prefix: &str, dim: usize) -> Result<NormParameters> {
    // Checkpoints converted from TF name the LayerNorm parameters gamma/beta.
    let (w, b) = if weights.contains(&format!("{prefix}.weight")) { ("weight", "bias") } else { ("gamma", "beta") };
    let weight = weights.take(&format!("{prefix}.{w}"), &[dim])?;
    let bias = weights.take(&format!("{prefix}.{b}"), &[dim])?;
    Ok(NormParameters { weight: vector(weight)?, bias: vector(bias)? })
}

/// Takes a `rows × cols` token table out of `weights`, f32 or q8.
pub fn load_word_table(weights: &mut Weights, name: &str, rows: usize, cols: usize) -> Result<WordTable> {
    // A float table is taken as the tensor it is: a 250k × 384 table is 384 MB, not to be copied.
    if weights.has_float(name) {
        return Ok(WordTable::F32(weights.take(name, &[rows, cols])?));
    }
    Ok(match weights.take_matrix(name, rows, cols)? {
        Matrix::F32(values) => WordTable::F32(Tensor::from_vec(values, (rows, cols), &Device::Cpu)?),
        Matrix::Q8(rows) => WordTable::Q8(Arc::new(rows)),
    })
}

/// Takes the embedding stage out of `weights`.
pub fn load_embeddings(spec: &EncoderSpec, weights: &mut Weights) -> Result<(WordTable, EmbeddingParameters)> {
    let hidden = spec.hidden_size;
    let words = load_word_table(weights, "embeddings.word_embeddings.weight", spec.vocab_size, hidden)?;
    let positions = weights.take("embeddings.position_embeddings.weight", &[spec.max_position_embeddings, hidden])?;
    let token_types = vector(weights.take("embeddings.token_type_embeddings.weight", &[spec.type_vocab_size, hidden])?)?;
    let (first, rest) = token_types.split_at(hidden);
    let parameters = EmbeddingParameters {
        positions: vector(positions)?,
        token_type: first.to_vec(),
        type_deltas: rest.iter().enumerate().map(|(i, v)| v - first[i % hidden]).collect(),
        norm: layer_norm(weights, "embeddings.LayerNorm", hidden)?,
    };
    Ok((words, parameters))
}

/// Takes layer `index` out of `weights`.
pub fn load_layer(spec: &EncoderSpec, weights: &mut Weights, index: usize) -> Result<LayerParameters> {
    let (hidden, inner) = (spec.hidden_size, spec.intermediate_size);
    let p = format!("encoder.layer.{index}");
    let query = linear(weights, &format!("{p}.attention.self.query"), hidden, hidden)?;
    let key = linear(weights, &format!("{p}.attention.self.key"), hidden, hidden)?;
    let value = linear(weights, &format!("{p}.attention.self.value"), hidden, hidden)?;
    let qkv = LinearParameters {
        weight: stack_rows([query.weight, key.weight, value.weight]),
        bias: [query.bias, key.bias, value.bias].concat(),
        out_features: 3 * hidden,
        in_features: hidden,
    };
    Ok(LayerParameters {
        qkv,
        attention_out: linear(weights, &format!("{p}.attention.output.dense"), hidden, hidden)?,
        attention_norm: layer_norm(weights, &format!("{p}.attention.output.LayerNorm"), hidden)?,
        intermediate: linear(weights, &format!("{p}.intermediate.dense"), inner, hidden)?,
        output: linear(weights, &format!("{p}.output.dense"), hidden, inner)?,
        output_norm: layer_norm(weights, &format!("{p}.output.LayerNorm"), hidden)?,
    })
}

/// Position ids for one right-padded row of `len` real tokens out of `seq_len`.
/// BERT counts from 0; RoBERTa counts real tokens from `pad + 1` and gives padding `pad`.
pub fn positions(spec: &EncoderSpec, len: usize, seq_len: usize, out: &mut Vec<u32>) {
    match spec.architecture {
        Architecture::XlmRoberta => {
            let pad = spec.pad_token_id;
            out.extend((0..seq_len as u32).map(|i| if (i as usize) < len { pad + 1 + i } else { pad }));
        }
        // BERT's table, and the rotary families' angles, count from 0.
        _ => out.extend(0..seq_len as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(architecture: Architecture, pad_token_id: u32) -> EncoderSpec {
        let config = serde_json::json!({"model_type": if architecture == Architecture::Bert { "bert" } else { "xlm-roberta" },
            "vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 4,
            "max_position_embeddings": 16, "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": pad_token_id, "hidden_act": "gelu"});
        crate::spec::encoder_spec(&config).unwrap()
    }

    #[test]
    fn bert_numbers_every_slot_from_zero() {
        let mut out = Vec::new();
        positions(&spec(Architecture::Bert, 0), 2, 4, &mut out);
        assert_eq!(out, vec![0, 1, 2, 3]);
    }

    #[test]
    fn roberta_starts_after_the_pad_index_and_pads_with_it() {
        let mut out = Vec::new();
        positions(&spec(Architecture::XlmRoberta, 1), 3, 5, &mut out);
        assert_eq!(out, vec![2, 3, 4, 1, 1]);
    }

    #[test]
    fn qkv_stacks_query_key_value_rows_in_order() {
        let s = spec(Architecture::Bert, 0);
        let mut weights = Weights::new("test");
        let (h, ff) = (s.hidden_size, s.intermediate_size);
        let p = "encoder.layer.0";
        let mut add = |name: &str, shape: &[usize], value: f32| {
            let count = shape.iter().product();
            weights.add_f32(name, shape, vec![value; count]).unwrap();
        };
        for (i, part) in ["query", "key", "value"].iter().enumerate() {
            add(&format!("{p}.attention.self.{part}.weight"), &[h, h], i as f32);
            add(&format!("{p}.attention.self.{part}.bias"), &[h], i as f32);
        }
        for (name, out, inp) in [("attention.output.dense", h, h), ("intermediate.dense", ff, h), ("output.dense", h, ff)] {
            add(&format!("{p}.{name}.weight"), &[out, inp], 0.0);
            add(&format!("{p}.{name}.bias"), &[out], 0.0);
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            add(&format!("{p}.{name}.gamma"), &[h], 1.0);
            add(&format!("{p}.{name}.beta"), &[h], 0.0);
        }
        let layer = load_layer(&s, &mut weights, 0).unwrap();
        assert_eq!(layer.qkv.out_features, 3 * h);
        let qkv = layer.qkv.weight.to_f32();
        assert_eq!(qkv[..h * h], vec![0.0; h * h]);
        assert_eq!(qkv[2 * h * h..], vec![2.0; h * h]);
        assert_eq!(layer.qkv.bias, [vec![0.0; h], vec![1.0; h], vec![2.0; h]].concat());
        assert_eq!(layer.output_norm.weight, vec![1.0; h], "TF's gamma/beta names are read too");
    }
}
