//! A static model's one tensor: the token table a text's rows are averaged from. Two layouts:
//! sentence-transformers' StaticEmbedding stores `embedding.weight` (a row per token); model2vec
//! stores `embeddings`, optionally with a token `mapping` onto fewer rows and per-token `weights`
//! (vocabulary quantization), which are folded here into a row per token, as
//! sentence-transformers folds them (`embedding[id] = embeddings[mapping[id]] · weights[id]`),
//! so every backend averages plain rows.

use std::sync::Arc;

use candle_core::{Device, Tensor};

use super::{vector, WordTable};
use crate::error::{EmbedError, Result};
use crate::quantize::{Matrix, QuantizedRows};
use crate::weights::Weights;

/// sentence-transformers' StaticEmbedding table.
pub const ST_TABLE: &str = "embedding.weight";
/// model2vec's table, and its optional mapping and per-token weights.
pub const MODEL2VEC_TABLE: &str = "embeddings";
pub const MODEL2VEC_MAPPING: &str = "mapping";
pub const MODEL2VEC_WEIGHTS: &str = "weights";

/// Takes the table out of `weights`: `vocab` rows (the tokenizer's tokens), its width.
pub fn load(weights: &mut Weights, vocab: usize) -> Result<WordTable> {
    let name = [ST_TABLE, MODEL2VEC_TABLE].into_iter().find(|n| weights.contains(n)).ok_or_else(|| {
        EmbedError::weights(
            weights.file(),
            format!("holds no static table: neither `{ST_TABLE}` (sentence-transformers) nor `{MODEL2VEC_TABLE}` (model2vec)"),
        )
    })?;
    let shape = weights.shape_of(name).unwrap_or_default();
    let [rows, dim] = shape[..] else {
        return Err(EmbedError::weights(weights.file(), format!("`{name}` has shape {shape:?}; a static table is rows × dimension")));
    };
    if dim == 0 || rows == 0 {
        return Err(EmbedError::weights(weights.file(), format!("`{name}` has shape {shape:?}, an empty table")));
    }
    let mapping = weights.take_indices(MODEL2VEC_MAPPING, vocab)?;
    let token_weights = weights.take_optional(MODEL2VEC_WEIGHTS, &[vocab])?.map(vector).transpose()?;
    match &mapping {
        Some(mapping) => {
            if let Some(bad) = mapping.iter().find(|&&m| m as usize >= rows) {
                return Err(EmbedError::weights(
                    weights.file(),
                    format!("`{MODEL2VEC_MAPPING}` maps a token to row {bad} of a {rows}-row table"),
                ));
            }
        }
        None if rows != vocab => {
            return Err(EmbedError::weights(
                weights.file(),
                format!(
                    "`{name}` has {rows} rows but the tokenizer has {vocab} tokens; the table and tokenizer.json must belong to one model"
                ),
            ))
        }
        None => {}
    }
    if mapping.is_none() && token_weights.is_none() {
        return super::load_word_table(weights, name, rows, dim);
    }
    let source = |id: usize| mapping.as_ref().map_or(id, |m| m[id] as usize);
    let weight = |id: usize| token_weights.as_ref().map_or(1.0, |w| w[id]);
    Ok(match weights.take_matrix(name, rows, dim)? {
        Matrix::F32(table) => {
            let mut folded = Vec::with_capacity(vocab * dim);
            for id in 0..vocab {
                let (row, w) = (source(id), weight(id));
                folded.extend(table[row * dim..(row + 1) * dim].iter().map(|v| v * w));
            }
            WordTable::F32(Tensor::from_vec(folded, (vocab, dim), &Device::Cpu)?)
        }
        Matrix::Q8(table) => {
            let mut folded = QuantizedRows::zeros(vocab, dim, table.rotated);
            for id in 0..vocab {
                let row = source(id);
                folded.values[id * dim..(id + 1) * dim].copy_from_slice(&table.values[row * dim..(row + 1) * dim]);
                // A row's scale carries its token weight: the int8 values are the source row's.
                folded.scales[id] = table.scales[row] * weight(id);
            }
            WordTable::Q8(Arc::new(folded))
        }
    })
}
