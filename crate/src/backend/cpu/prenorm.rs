//! The pre-norm rotary stack (ModernBERT, Gemma3, Qwen3; see `crate::model::prenorm`) on the
//! CPU: the linear layers on the packed SIMD kernels (f32 or q8), attention with its window,
//! grouped heads or causal mask (`attention::attention_with`), norms and gates row by row.
//! As in the BERT encoder, only real tokens are computed: a text's vector does not depend on the
//! padding of its batch (rotary angles count from each text's first token).

use super::attention::{attention_with, repad, AttentionLayout};
use super::linear::PackedLinear;
use super::norms::{gated, norm_rows, rms_norm_row};
use crate::error::Result;
use crate::model::prenorm::{self, PreNormEnds, PreNormLayer};
use crate::model::{NormParameters, WordTable};
use crate::spec::{EncoderSpec, LayerKind};
use crate::weights::Weights;

/// A layer kind's rotary parameters (theta, linear factor), and its cos / sin tables.
type RopeKey = (f64, f64);
type RotaryTable = (Vec<f32>, Vec<f32>);

struct PackedLayer {
    attention_norm: Option<NormParameters>,
    qkv: PackedLinear,
    query_norm: Option<Vec<f32>>,
    key_norm: Option<Vec<f32>>,
    attention_out: PackedLinear,
    post_attention_norm: Option<NormParameters>,
    mlp_norm: NormParameters,
    gate_up: PackedLinear,
    down: PackedLinear,
    post_mlp_norm: Option<NormParameters>,
}

pub struct PreNormEncoder {
    spec: EncoderSpec,
    words: WordTable,
    ends: PreNormEnds,
    layers: Vec<PackedLayer>,
}

/// A layer's attention as `attention_with` takes it.
pub fn layout(spec: &EncoderSpec, kind: &LayerKind) -> AttentionLayout {
    AttentionLayout {
        heads: spec.num_heads,
        kv_heads: spec.num_kv_heads,
        head_dim: spec.head_dim,
        scale: spec.attention_scale as f32,
        window: kind.window,
        causal: spec.causal,
    }
}

impl PreNormEncoder {
    pub fn load(spec: &EncoderSpec, weights: &mut Weights) -> Result<Self> {
        let words = prenorm::load_word_table(spec, weights)?;
        let ends = prenorm::load_ends(spec, weights)?;
        let mut layers = Vec::with_capacity(spec.num_layers);
        for index in 0..spec.num_layers {
            let p = prenorm::load_layer(spec, weights, index)?;
            layers.push(PackedLayer {
                attention_norm: p.attention_norm,
                qkv: PackedLinear::pack(p.qkv),
                query_norm: p.query_norm,
                key_norm: p.key_norm,
                attention_out: PackedLinear::pack(p.attention_out),
                post_attention_norm: p.post_attention_norm,
                mlp_norm: p.mlp_norm,
                gate_up: PackedLinear::pack(p.gate_up),
                down: PackedLinear::pack(p.down),
                post_mlp_norm: p.post_mlp_norm,
            });
        }
        Ok(PreNormEncoder { spec: spec.clone(), words, ends, layers })
    }

    pub fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    pub fn words(&self) -> &WordTable {
        &self.words
    }

    pub fn is_q8(&self) -> bool {
        self.words.is_q8() || self.layers.first().is_some_and(|l| l.qkv.is_q8())
    }

    /// The parameters of layer `index` back in PyTorch's layout (for another backend).
    pub fn layer_parameters(&self, index: usize) -> PreNormLayer {
        let l = &self.layers[index];
        PreNormLayer {
            attention_norm: l.attention_norm.clone(),
            qkv: l.qkv.unpack(),
            query_norm: l.query_norm.clone(),
            key_norm: l.key_norm.clone(),
            attention_out: l.attention_out.unpack(),
            post_attention_norm: l.post_attention_norm.clone(),
            mlp_norm: l.mlp_norm.clone(),
            gate_up: l.gate_up.unpack(),
            down: l.down.unpack(),
            post_mlp_norm: l.post_mlp_norm.clone(),
        }
    }

    pub fn ends(&self) -> PreNormEnds {
        PreNormEnds { embedding_norm: self.ends.embedding_norm.clone(), final_norm: self.ends.final_norm.clone() }
    }

    /// Last hidden states, `batch × seq_len × hidden` row-major, of right-padded `ids`
    /// (`lengths[b]` real tokens in row `b`); padded rows hold zeros.
    pub fn forward(&self, ids: &[u32], lengths: &[usize], seq_len: usize) -> Result<Vec<f32>> {
        let hidden = self.spec.hidden_size;
        let lengths: Vec<usize> = lengths.iter().map(|&len| len.min(seq_len)).collect();
        let real: Vec<u32> = lengths.iter().enumerate().flat_map(|(b, &len)| ids[b * seq_len..b * seq_len + len].iter().copied()).collect();
        let mut x = self.words.gather(&real)?;
        if let Some(scale) = self.spec.embedding_scale {
            x.iter_mut().for_each(|v| *v *= scale);
        }
        let (kind, eps) = (self.spec.norm, self.spec.layer_norm_eps);
        if let Some(norm) = &self.ends.embedding_norm {
            norm_rows(kind, &mut x, norm, eps);
        }
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let mut tables: Vec<(RopeKey, RotaryTable)> = Vec::new();
        for kind in &self.spec.layers {
            let key = (kind.rope_theta, kind.rope_factor);
            if !tables.iter().any(|(k, _)| *k == key) {
                tables.push((key, prenorm::rotary_table(kind.rope_theta, kind.rope_factor, self.spec.head_dim, longest)));
            }
        }
        for (layer, kind) in self.layers.iter().zip(&self.spec.layers) {
            let (cos, sin) = &tables.iter().find(|(k, _)| *k == (kind.rope_theta, kind.rope_factor)).expect("a table per layer kind").1;
            x = self.layer_forward(layer, kind, x, &lengths, cos, sin)?;
        }
        norm_rows(kind, &mut x, &self.ends.final_norm, eps);
        let mut out = vec![0f32; lengths.len() * seq_len * hidden];
        repad(&x, hidden, seq_len, &lengths, &mut out);
        Ok(out)
    }

    fn layer_forward(
        &self,
        layer: &PackedLayer,
        kind: &LayerKind,
        mut x: Vec<f32>,
        lengths: &[usize],
        cos: &[f32],
        sin: &[f32],
    ) -> Result<Vec<f32>> {
        let spec = &self.spec;
        let (hidden, eps) = (spec.hidden_size, spec.layer_norm_eps);
        let tokens = x.len() / hidden;
        let mut h = x.clone();
        if let Some(norm) = &layer.attention_norm {
            norm_rows(spec.norm, &mut h, norm, eps);
        }
        let mut qkv = layer.qkv.apply(&h, tokens);
        self.prepare_queries_and_keys(layer, &mut qkv, lengths, cos, sin);
        let context = attention_with(&qkv, lengths, &layout(spec, kind));
        let mut attended = layer.attention_out.apply(&context, tokens);
        if let Some(norm) = &layer.post_attention_norm {
            norm_rows(spec.norm, &mut attended, norm, eps);
        }
        x.iter_mut().zip(&attended).for_each(|(v, a)| *v += a);
        let mut g = x.clone();
        norm_rows(spec.norm, &mut g, &layer.mlp_norm, eps);
        let gate_up = layer.gate_up.apply(&g, tokens);
        let middle = gated(&gate_up, spec.intermediate_size, spec.hidden_act);
        let mut out = layer.down.apply(&middle, tokens);
        if let Some(norm) = &layer.post_mlp_norm {
            norm_rows(spec.norm, &mut out, norm, eps);
        }
        x.iter_mut().zip(&out).for_each(|(v, m)| *v += m);
        Ok(x)
    }

    /// q and k of every token, per head: RMSNorm (Gemma3, Qwen3), then the rotary embedding at
    /// the token's position in its text.
    fn prepare_queries_and_keys(&self, layer: &PackedLayer, qkv: &mut [f32], lengths: &[usize], cos: &[f32], sin: &[f32]) {
        let spec = &self.spec;
        let (hd, half) = (spec.head_dim, spec.head_dim / 2);
        let stride = spec.qkv_width();
        let mut token = 0;
        for &len in lengths {
            for position in 0..len {
                let row = &mut qkv[token * stride..(token + 1) * stride];
                let (c, s) = (&cos[position * half..(position + 1) * half], &sin[position * half..(position + 1) * half]);
                for head in 0..spec.num_heads + spec.num_kv_heads {
                    let vector = &mut row[head * hd..(head + 1) * hd];
                    let norm = if head < spec.num_heads { &layer.query_norm } else { &layer.key_norm };
                    if let Some(weight) = norm {
                        rms_norm_row(vector, weight, spec.layer_norm_eps);
                    }
                    rotate(vector, c, s);
                }
                token += 1;
            }
        }
    }
}

/// `x·cos + rotate_half(x)·sin` (transformers' `apply_rotary_pos_emb`): channel `i` pairs with
/// `i + half`, both at frequency `i`.
pub fn rotate(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let half = cos.len();
    for i in 0..half {
        let (a, b) = (x[i], x[i + half]);
        x[i] = a * cos[i] - b * sin[i];
        x[i + half] = b * cos[i] + a * sin[i];
    }
}
