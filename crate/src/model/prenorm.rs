//! The pre-norm rotary stack of ModernBERT, Gemma3 and Qwen3, as their checkpoints store it.
//! One layer is, in transformers' terms:
//!
//! ```text
//! h = attention_norm(x)             (ModernBERT's first layer: none)
//! q, k, v = h·Wq, h·Wk, h·Wv        (stacked into one q|k|v matrix here)
//! q, k = rope(q_norm(q)), rope(k_norm(k))   (the norms: Gemma3 and Qwen3, per head)
//! a = attention(q, k, v)·Wo
//! x = x + post_attention_norm(a)    (Gemma3's; none elsewhere)
//! m = down(act(gate(g)) * up(g)), g = mlp_norm(x)   (gate | up stacked; ModernBERT's Wi is already)
//! x = x + post_mlp_norm(m)          (Gemma3's; none elsewhere)
//! ```
//!
//! and the stack is `final_norm(layers(embedding_norm(words · scale)))`. Gemma's RMSNorm
//! multiplies by `1 + weight`: that 1 is added here, once, so every backend multiplies by the weight.

use super::{stack_rows, vector, LinearParameters, NormParameters, WordTable};
use crate::error::Result;
use crate::quantize::Matrix;
use crate::spec::{Architecture, EncoderSpec};
use crate::weights::Weights;

/// One pre-norm layer's parameters (see the module comment).
pub struct PreNormLayer {
    pub attention_norm: Option<NormParameters>,
    /// q | k | v rows: `(heads + 2·kv_heads) × head_dim` by hidden.
    pub qkv: LinearParameters,
    /// Per-head RMSNorm weights of q and k (`head_dim` each).
    pub query_norm: Option<Vec<f32>>,
    pub key_norm: Option<Vec<f32>>,
    pub attention_out: LinearParameters,
    pub post_attention_norm: Option<NormParameters>,
    pub mlp_norm: NormParameters,
    /// gate | up rows (`2 × intermediate`): the activation applies to the first half.
    pub gate_up: LinearParameters,
    pub down: LinearParameters,
    pub post_mlp_norm: Option<NormParameters>,
}

/// The norms around a pre-norm stack.
pub struct PreNormEnds {
    /// ModernBERT normalizes the word embeddings; the others do not.
    pub embedding_norm: Option<NormParameters>,
    pub final_norm: NormParameters,
}

/// The word table's tensor name.
pub fn word_table_name(spec: &EncoderSpec) -> &'static str {
    match spec.architecture {
        Architecture::ModernBert => "embeddings.tok_embeddings.weight",
        _ => "embed_tokens.weight",
    }
}

fn linear(weights: &mut Weights, name: &str, out_features: usize, in_features: usize, bias: bool) -> Result<LinearParameters> {
    let weight = weights.take_matrix(&format!("{name}.weight"), out_features, in_features)?;
    let bias = if bias { vector(weights.take(&format!("{name}.bias"), &[out_features])?)? } else { vec![0.0; out_features] };
    Ok(LinearParameters { weight, bias, out_features, in_features })
}

/// Linears whose rows are stacked into one (their inputs are the same).
fn stacked<const N: usize>(parts: [LinearParameters; N], in_features: usize) -> LinearParameters {
    let out_features = parts.iter().map(|p| p.out_features).sum();
    let bias = parts.iter().flat_map(|p| p.bias.iter().copied()).collect();
    let weights: [Matrix; N] = parts.map(|p| p.weight);
    LinearParameters { weight: stack_rows(weights), bias, out_features, in_features }
}

/// A norm's weight (and bias when `bias`), Gemma's `1 +` folded in.
fn norm(weights: &mut Weights, spec: &EncoderSpec, name: &str, dim: usize, bias: bool) -> Result<NormParameters> {
    let mut weight = vector(weights.take(&format!("{name}.weight"), &[dim])?)?;
    if spec.architecture == Architecture::Gemma3 {
        weight.iter_mut().for_each(|w| *w += 1.0);
    }
    let bias = if bias { vector(weights.take(&format!("{name}.bias"), &[dim])?)? } else { Vec::new() };
    Ok(NormParameters { weight, bias })
}

/// Takes the word table out of `weights`.
pub fn load_word_table(spec: &EncoderSpec, weights: &mut Weights) -> Result<WordTable> {
    super::load_word_table(weights, word_table_name(spec), spec.vocab_size, spec.hidden_size)
}

/// Takes the norms around the stack out of `weights`.
pub fn load_ends(spec: &EncoderSpec, weights: &mut Weights) -> Result<PreNormEnds> {
    let h = spec.hidden_size;
    Ok(match spec.architecture {
        Architecture::ModernBert => PreNormEnds {
            embedding_norm: Some(norm(weights, spec, "embeddings.norm", h, spec.norm_bias)?),
            final_norm: norm(weights, spec, "final_norm", h, spec.norm_bias)?,
        },
        _ => PreNormEnds { embedding_norm: None, final_norm: norm(weights, spec, "norm", h, false)? },
    })
}

/// Takes layer `index` out of `weights`.
pub fn load_layer(spec: &EncoderSpec, weights: &mut Weights, index: usize) -> Result<PreNormLayer> {
    let (h, ff, hd) = (spec.hidden_size, spec.intermediate_size, spec.head_dim);
    let (q_width, kv_width) = (spec.num_heads * hd, spec.num_kv_heads * hd);
    let (attention_bias, mlp_bias) = (spec.attention_bias, spec.mlp_bias);
    if spec.architecture == Architecture::ModernBert {
        let p = format!("layers.{index}");
        let nb = spec.norm_bias;
        return Ok(PreNormLayer {
            // ModernBERT's first layer has no attention norm (nn.Identity): the embeddings are normalized.
            attention_norm: if index == 0 { None } else { Some(norm(weights, spec, &format!("{p}.attn_norm"), h, nb)?) },
            qkv: linear(weights, &format!("{p}.attn.Wqkv"), 3 * h, h, attention_bias)?,
            query_norm: None,
            key_norm: None,
            attention_out: linear(weights, &format!("{p}.attn.Wo"), h, h, attention_bias)?,
            post_attention_norm: None,
            mlp_norm: norm(weights, spec, &format!("{p}.mlp_norm"), h, nb)?,
            gate_up: linear(weights, &format!("{p}.mlp.Wi"), 2 * ff, h, mlp_bias)?,
            down: linear(weights, &format!("{p}.mlp.Wo"), h, ff, mlp_bias)?,
            post_mlp_norm: None,
        });
    }
    let p = format!("layers.{index}");
    let a = format!("{p}.self_attn");
    let qkv = stacked(
        [
            linear(weights, &format!("{a}.q_proj"), q_width, h, attention_bias)?,
            linear(weights, &format!("{a}.k_proj"), kv_width, h, attention_bias)?,
            linear(weights, &format!("{a}.v_proj"), kv_width, h, attention_bias)?,
        ],
        h,
    );
    let gemma = spec.architecture == Architecture::Gemma3;
    let head_norm =
        |weights: &mut Weights, name: &str| -> Result<Vec<f32>> { Ok(norm(weights, spec, &format!("{a}.{name}"), hd, false)?.weight) };
    let query_norm = Some(head_norm(weights, "q_norm")?);
    let key_norm = Some(head_norm(weights, "k_norm")?);
    let attention_out = linear(weights, &format!("{a}.o_proj"), h, q_width, attention_bias)?;
    let m = format!("{p}.mlp");
    let gate_up = stacked(
        [linear(weights, &format!("{m}.gate_proj"), ff, h, mlp_bias)?, linear(weights, &format!("{m}.up_proj"), ff, h, mlp_bias)?],
        h,
    );
    let down = linear(weights, &format!("{m}.down_proj"), h, ff, mlp_bias)?;
    // Qwen3 calls its pre-MLP norm `post_attention_layernorm`; Gemma3 has both, and two more.
    let (post_attention_norm, mlp_norm, post_mlp_norm) = if gemma {
        (
            Some(norm(weights, spec, &format!("{p}.post_attention_layernorm"), h, false)?),
            norm(weights, spec, &format!("{p}.pre_feedforward_layernorm"), h, false)?,
            Some(norm(weights, spec, &format!("{p}.post_feedforward_layernorm"), h, false)?),
        )
    } else {
        (None, norm(weights, spec, &format!("{p}.post_attention_layernorm"), h, false)?, None)
    };
    Ok(PreNormLayer {
        attention_norm: Some(norm(weights, spec, &format!("{p}.input_layernorm"), h, false)?),
        qkv,
        query_norm,
        key_norm,
        attention_out,
        post_attention_norm,
        mlp_norm,
        gate_up,
        down,
        post_mlp_norm,
    })
}

/// The rotary tables of one (theta, factor): for positions `0..positions`, `cos` and `sin` of
/// each of the `head_dim / 2` frequencies, `positions × head_dim/2` row-major. Computed as
/// transformers does in float32: `inv_freq = 1 / theta^(2i/d)` (divided by a linear factor),
/// `angle = position · inv_freq`; the cosine and sine of that f32 angle, correctly rounded.
pub fn rotary_table(theta: f64, factor: f64, head_dim: usize, positions: usize) -> (Vec<f32>, Vec<f32>) {
    let half = head_dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| {
            let exponent = (2 * i) as f32 / head_dim as f32;
            let inv = 1.0f32 / (theta as f32).powf(exponent);
            (inv as f64 / factor) as f32
        })
        .collect();
    let mut cos = Vec::with_capacity(positions * half);
    let mut sin = Vec::with_capacity(positions * half);
    for p in 0..positions {
        for &f in &inv_freq {
            let angle = (p as f32 * f) as f64;
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    (cos, sin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotary_table_starts_at_angle_zero_and_uses_decreasing_frequencies() {
        let (cos, sin) = rotary_table(10000.0, 1.0, 8, 3);
        assert_eq!(&cos[..4], &[1.0; 4]);
        assert_eq!(&sin[..4], &[0.0; 4]);
        // Position 1, frequency 0: angle 1 rad; frequency 3: 1/10000^(6/8).
        assert!((cos[4] - 1f32.cos()).abs() < 1e-7);
        assert!((sin[7] - (1.0f64 / 10000f64.powf(0.75)).sin() as f32).abs() < 1e-7);
        let (_, scaled) = rotary_table(10000.0, 2.0, 8, 3);
        assert!((scaled[4] - 0.5f32.sin()).abs() < 1e-7);
    }
}
