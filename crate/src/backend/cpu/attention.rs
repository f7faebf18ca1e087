//! Multi-head self-attention straight from the fused QKV projection, without materialising
//! permuted copies. Padded keys are skipped rather than masked with -inf, which gives the same
//! probabilities (exp(-inf) = 0) for less work; padded query rows are left at zero because
//! nothing downstream reads them (pooling masks them, and every later op is per-row).

use super::activations::softmax_in_place;
use super::matmul::PackedWeights;
use super::parallel;

/// `qkv`: `batch × seq_len × 3·hidden` (query | key | value, each `heads × head_dim`).
/// `lengths[b]`: real tokens of row `b`. Returns the context, `batch × seq_len × hidden`.
/// Both products run on the linear layers' SIMD kernel, with K and Vᵀ packed per head.
pub fn attention(qkv: &[f32], batch: usize, seq_len: usize, heads: usize, head_dim: usize, lengths: &[usize]) -> Vec<f32> {
    let hidden = heads * head_dim;
    let stride = 3 * hidden;
    assert_eq!(qkv.len(), batch * seq_len * stride);
    let scale = 1.0 / (head_dim as f32).sqrt();
    // Each (text, head) pair is independent: they can run at once.
    let heads_out = parallel::map_indices(batch * heads, |pair| {
        let (b, h) = (pair / heads, pair % heads);
        let len = lengths[b].min(seq_len);
        let rows = &qkv[b * seq_len * stride..(b + 1) * seq_len * stride];
        let gather = |offset: usize| {
            let mut out = Vec::with_capacity(len * head_dim);
            for t in 0..len {
                out.extend_from_slice(&rows[t * stride + offset..t * stride + offset + head_dim]);
            }
            out
        };
        let (q, k, v) = (gather(h * head_dim), gather(hidden + h * head_dim), gather(2 * hidden + h * head_dim));
        // scores = Q·Kᵀ: K (len × head_dim) is already in the `out × in` layout `pack` takes.
        let mut scores = PackedWeights::pack(&k, &vec![0.0; len], len, head_dim).apply(&q, len);
        for row in scores.chunks_exact_mut(len) {
            row.iter_mut().for_each(|s| *s *= scale);
            softmax_in_place(row);
        }
        // context = P·V: V (len × head_dim) is `in × out` for this product.
        PackedWeights::pack_transposed(&v, len, head_dim).apply(&scores, len)
    });
    let mut context = vec![0f32; batch * seq_len * hidden];
    for (pair, out) in heads_out.iter().enumerate() {
        let (b, h) = (pair / heads, pair % heads);
        for (t, row) in out.chunks_exact(head_dim).enumerate() {
            context[(b * seq_len + t) * hidden + h * head_dim..][..head_dim].copy_from_slice(row);
        }
    }
    context
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

    #[test]
    fn matches_masked_reference_with_padding() {
        for &(batch, seq_len, heads, d, ref lengths) in &[
            (1usize, 1usize, 1usize, 1usize, vec![1usize]),
            (2, 7, 3, 5, vec![7, 3]),
            (3, 33, 12, 32, vec![33, 1, 20]),
            (1, 130, 16, 64, vec![130]),
        ] {
            let n = batch * seq_len * 3 * heads * d;
            let qkv: Vec<f32> = (0..n).map(|i| (i * 7919 % 1000) as f32 / 500.0 - 1.0).collect();
            let got = attention(&qkv, batch, seq_len, heads, d, lengths);
            let want = reference(&qkv, batch, seq_len, heads, d, lengths);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!((*g as f64 - w).abs() < 1e-5, "shape {batch}×{seq_len}×{heads}×{d} index {i}: {g} vs {w}");
            }
        }
    }
}
