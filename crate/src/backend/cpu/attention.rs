//! Multi-head self-attention straight from the fused QKV projection, without materialising
//! permuted copies. The encoder's rows hold real tokens only (each text's tokens in turn, no
//! padding), so no key needs masking: the same probabilities as masking padded keys with -inf
//! (exp(-inf) = 0), for less work.

use super::activations::softmax_in_place;
use super::matmul::PackedWeights;
use super::parallel;

/// Which keys each query sees and how scores are scaled: every family's attention.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionLayout {
    pub heads: usize,
    /// Key/value heads: query head `h` reads key/value head `h / (heads / kv_heads)`.
    pub kv_heads: usize,
    pub head_dim: usize,
    pub scale: f32,
    /// Keys at most this many positions from the query (None: all).
    pub window: Option<usize>,
    /// Only keys at or before the query.
    pub causal: bool,
}

impl AttentionLayout {
    /// BERT's: every head its own keys, scaled by 1/√head_dim, every key seen.
    pub fn full(heads: usize, head_dim: usize) -> Self {
        AttentionLayout { heads, kv_heads: heads, head_dim, scale: 1.0 / (head_dim as f32).sqrt(), window: None, causal: false }
    }

    /// The keys `[first, last]` query `t` of a `len`-token text sees.
    pub fn keys_of(&self, t: usize, len: usize) -> (usize, usize) {
        let reach = self.window.unwrap_or(usize::MAX);
        let first = t.saturating_sub(reach);
        let last = if self.causal { t } else { t.saturating_add(reach).min(len.saturating_sub(1)) };
        (first, last)
    }

    /// Width of one token's q | k | v row.
    pub fn stride(&self) -> usize {
        (self.heads + 2 * self.kv_heads) * self.head_dim
    }
}

/// `qkv`: one row per real token, the texts' tokens in turn (`lengths[b]` of text `b`), each
/// row `3·hidden` wide (query | key | value, each `heads × head_dim`). Returns the context,
/// one `hidden`-wide row per token, in the same order. Both products run on the linear layers'
/// SIMD kernel, with K and Vᵀ packed per head.
pub fn attention(qkv: &[f32], lengths: &[usize], heads: usize, head_dim: usize) -> Vec<f32> {
    attention_with(qkv, lengths, &AttentionLayout::full(heads, head_dim))
}

/// `attention` for any layout: grouped-query heads, a window, causal masking. `qkv` rows are
/// `layout.stride()` wide (queries, then keys, then values); the context rows `heads × head_dim`.
pub fn attention_with(qkv: &[f32], lengths: &[usize], layout: &AttentionLayout) -> Vec<f32> {
    let AttentionLayout { heads, kv_heads, head_dim, scale, .. } = *layout;
    let query_width = heads * head_dim;
    let kv_width = kv_heads * head_dim;
    let stride = layout.stride();
    let group = heads / kv_heads.max(1);
    let tokens: usize = lengths.iter().sum();
    assert_eq!(qkv.len(), tokens * stride);
    let starts: Vec<usize> = lengths.iter().scan(0, |next, &len| Some(std::mem::replace(next, *next + len))).collect();
    let masked = layout.window.is_some() || layout.causal;
    // Each (text, head) pair is independent: they can run at once.
    let heads_out = parallel::map_indices(lengths.len() * heads, |pair| {
        let (b, h) = (pair / heads, pair % heads);
        let kv = h / group.max(1);
        let len = lengths[b];
        let rows = &qkv[starts[b] * stride..(starts[b] + len) * stride];
        let gather = |offset: usize| {
            let mut out = Vec::with_capacity(len * head_dim);
            for t in 0..len {
                out.extend_from_slice(&rows[t * stride + offset..t * stride + offset + head_dim]);
            }
            out
        };
        let (q, k, v) = (gather(h * head_dim), gather(query_width + kv * head_dim), gather(query_width + kv_width + kv * head_dim));
        // scores = Q·Kᵀ: K (len × head_dim) is already in the `out × in` layout `pack` takes.
        let mut scores = PackedWeights::pack(&k, &vec![0.0; len], len, head_dim).apply(&q, len);
        for (t, row) in scores.chunks_exact_mut(len.max(1)).enumerate() {
            row.iter_mut().for_each(|s| *s *= scale);
            if masked {
                // Keys outside the window (or after the query) weigh exp(-inf) = 0, as transformers' masks make them.
                let (first, last) = layout.keys_of(t, len);
                row[..first].fill(f32::NEG_INFINITY);
                row[last + 1..].fill(f32::NEG_INFINITY);
            }
            softmax_in_place(row);
        }
        // context = P·V: V (len × head_dim) is `in × out` for this product.
        PackedWeights::pack_transposed(&v, len, head_dim).apply(&scores, len)
    });
    let mut context = vec![0f32; tokens * query_width];
    for (pair, out) in heads_out.iter().enumerate() {
        let (b, h) = (pair / heads, pair % heads);
        for (t, row) in out.chunks_exact(head_dim).enumerate() {
            context[(starts[b] + t) * query_width + h * head_dim..][..head_dim].copy_from_slice(row);
        }
    }
    context
}

/// The rows of real tokens of a right-padded `batch × seq_len × width` buffer (`lengths[b]` of
/// text `b`), the texts' in turn: the layout `attention` and the encoder's layers work in.
pub fn unpad(padded: &[f32], width: usize, seq_len: usize, lengths: &[usize]) -> Vec<f32> {
    lengths.iter().enumerate().flat_map(|(b, &len)| &padded[b * seq_len * width..(b * seq_len + len) * width]).copied().collect()
}

/// `unpad` undone: writes the real rows back into their places in `padded`, whose padded rows
/// keep what they held.
pub fn repad(real: &[f32], width: usize, seq_len: usize, lengths: &[usize], padded: &mut [f32]) {
    let mut rows = real.chunks_exact(width);
    for (b, &len) in lengths.iter().enumerate() {
        for row in padded[b * seq_len * width..(b * seq_len + len) * width].chunks_exact_mut(width) {
            row.copy_from_slice(rows.next().expect("one real row per token"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain f64 attention with an explicit -inf mask, as transformers computes it.
    fn reference(qkv: &[f32], batch: usize, seq_len: usize, heads: usize, d: usize, lengths: &[usize]) -> Vec<f64> {
        let hidden = heads * d;
        let stride = 3 * hidden;
        let at = |b: usize, t: usize, i: usize| qkv[(b * seq_len + t) * stride + i] as f64;
        let mut out = vec![0f64; batch * seq_len * hidden];
        for b in 0..batch {
            for h in 0..heads {
                for t in 0..lengths[b] {
                    let scores: Vec<f64> = (0..seq_len)
                        .map(|s| {
                            if s >= lengths[b] {
                                f64::NEG_INFINITY
                            } else {
                                (0..d).map(|i| at(b, t, h * d + i) * at(b, s, hidden + h * d + i)).sum::<f64>() / (d as f64).sqrt()
                            }
                        })
                        .collect();
                    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let sum: f64 = exps.iter().sum();
                    for i in 0..d {
                        out[(b * seq_len + t) * hidden + h * d + i] =
                            (0..seq_len).map(|s| exps[s] / sum * at(b, s, 2 * hidden + h * d + i)).sum();
                    }
                }
            }
        }
        out
    }

    /// Plain f64 attention for any layout, with an explicit mask per (query, key).
    fn reference_with(qkv: &[f32], len: usize, layout: &AttentionLayout) -> Vec<f64> {
        let (heads, hd) = (layout.heads, layout.head_dim);
        let stride = layout.stride();
        let group = heads / layout.kv_heads;
        let at = |t: usize, i: usize| qkv[t * stride + i] as f64;
        let mut out = vec![0f64; len * heads * hd];
        for h in 0..heads {
            let (qo, ko, vo) = (h * hd, heads * hd + (h / group) * hd, (heads + layout.kv_heads) * hd + (h / group) * hd);
            for t in 0..len {
                let (first, last) = layout.keys_of(t, len);
                let scores: Vec<f64> = (0..len)
                    .map(|s| {
                        if s < first || s > last {
                            f64::NEG_INFINITY
                        } else {
                            (0..hd).map(|i| at(t, qo + i) * at(s, ko + i)).sum::<f64>() * layout.scale as f64
                        }
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let sum: f64 = exps.iter().sum();
                for i in 0..hd {
                    out[t * heads * hd + h * hd + i] = (0..len).map(|s| exps[s] / sum * at(s, vo + i)).sum();
                }
            }
        }
        out
    }

    #[test]
    fn grouped_windowed_and_causal_layouts_match_the_reference() {
        for layout in [
            AttentionLayout { heads: 4, kv_heads: 2, head_dim: 8, scale: 0.3, window: None, causal: true },
            AttentionLayout { heads: 3, kv_heads: 1, head_dim: 12, scale: 0.25, window: Some(3), causal: false },
            AttentionLayout { heads: 2, kv_heads: 2, head_dim: 4, scale: 0.5, window: Some(2), causal: true },
        ] {
            for len in [1usize, 7, 20] {
                let n = len * layout.stride();
                let qkv: Vec<f32> = (0..n).map(|i| (i * 7919 % 1000) as f32 / 500.0 - 1.0).collect();
                let got = attention_with(&qkv, &[len], &layout);
                let want = reference_with(&qkv, len, &layout);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!((*g as f64 - w).abs() < 1e-5, "{layout:?} len {len} index {i}: {g} vs {w}");
                }
            }
        }
    }

    #[test]
    fn matches_masked_reference_with_padding_left_out() {
        for &(batch, seq_len, heads, d, ref lengths) in &[
            (1usize, 1usize, 1usize, 1usize, vec![1usize]),
            (2, 7, 3, 5, vec![7, 3]),
            (3, 33, 12, 32, vec![33, 1, 20]),
            (1, 130, 16, 64, vec![130]),
        ] {
            let n = batch * seq_len * 3 * heads * d;
            let qkv: Vec<f32> = (0..n).map(|i| (i * 7919 % 1000) as f32 / 500.0 - 1.0).collect();
            // The padded rows' values are there for the reference's mask to ignore.
            let got = attention(&unpad(&qkv, 3 * heads * d, seq_len, lengths), lengths, heads, d);
            let want = reference(&qkv, batch, seq_len, heads, d, lengths);
            let mut got_padded = vec![0f32; want.len()];
            repad(&got, heads * d, seq_len, lengths, &mut got_padded);
            for (i, (g, w)) in got_padded.iter().zip(&want).enumerate() {
                assert!((*g as f64 - w).abs() < 1e-5, "shape {batch}×{seq_len}×{heads}×{d} index {i}: {g} vs {w}");
            }
        }
    }
}
