//! sentence-transformers' pooling modes and Normalize, on plain f32 slices so every backend
//! shares one implementation and the arithmetic mirrors `sentence_transformers.models.Pooling`.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolingMode {
    Cls,
    Max,
    Mean,
    MeanSqrtLen,
    WeightedMean,
    LastToken,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PoolingSpec {
    /// Several modes are concatenated, in sentence-transformers' fixed order.
    pub modes: Vec<PoolingMode>,
    /// When false, the prompt's tokens (and the leading special token) are left out of the pool.
    pub include_prompt: bool,
    pub dimension: usize,
}

impl PoolingSpec {
    pub fn mean(dimension: usize) -> Self {
        PoolingSpec { modes: vec![PoolingMode::Mean], include_prompt: true, dimension }
    }

    pub fn output_dimension(&self) -> usize {
        self.dimension * self.modes.len()
    }
}

/// Pools one right-padded sequence. `tokens` is `seq_len × dimension` row-major; `mask[i]` is 1.0
/// for tokens that count. Mirrors sentence-transformers 6.x `Pooling._forward_padded`, including
/// its clamp (1e-9) for empty masks.
pub fn pool(spec: &PoolingSpec, tokens: &[f32], mask: &[f32], out: &mut Vec<f32>) {
    let dim = spec.dimension;
    let seq_len = mask.len();
    debug_assert_eq!(tokens.len(), seq_len * dim);
    let row = |t: usize| &tokens[t * dim..(t + 1) * dim];
    for mode in &spec.modes {
        match mode {
            // The first token that counts: with `include_prompt: false` that is the first one after the prompt.
            PoolingMode::Cls => out.extend_from_slice(row(mask.iter().position(|&m| m > 0.0).unwrap_or(0))),
            PoolingMode::LastToken => match mask.iter().rposition(|&m| m > 0.0) {
                Some(last) => out.extend_from_slice(row(last)),
                // sentence-transformers gathers the final token times its zero mask.
                None => out.extend(std::iter::repeat_n(0.0, dim)),
            },
            PoolingMode::Max => {
                let mut best = vec![f32::NEG_INFINITY; dim];
                for t in (0..seq_len).filter(|&t| mask[t] > 0.0) {
                    for (b, &v) in best.iter_mut().zip(row(t)) {
                        *b = b.max(v);
                    }
                }
                out.extend_from_slice(&best);
            }
            PoolingMode::Mean | PoolingMode::MeanSqrtLen | PoolingMode::WeightedMean => {
                let mut sum = vec![0f32; dim];
                let mut weight_sum = 0f32;
                for (t, &counted) in mask[..seq_len].iter().enumerate() {
                    // weightedmean weighs token t (0-based) by t + 1.
                    let weight = if *mode == PoolingMode::WeightedMean { counted * (t + 1) as f32 } else { counted };
                    if weight == 0.0 {
                        continue;
                    }
                    weight_sum += weight;
                    for (s, &v) in sum.iter_mut().zip(row(t)) {
                        *s += v * weight;
                    }
                }
                let denominator = match mode {
                    // mean_sqrt_len divides by sqrt of the token count, clamped like the mean.
                    PoolingMode::MeanSqrtLen => weight_sum.max(1e-9).sqrt(),
                    _ => weight_sum.max(1e-9),
                };
                out.extend(sum.iter().map(|s| s / denominator));
            }
        }
    }
}

/// `torch.nn.functional.normalize(p=2)`: divides by the L2 norm, clamped at 1e-12.
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    for v in vector.iter_mut() {
        *v /= norm;
    }
}

/// Cosine similarity, accumulated in f64 (for comparing backends).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        dot += x as f64 * y as f64;
        na += x as f64 * x as f64;
        nb += y as f64 * y as f64;
    }
    if na == 0.0 && nb == 0.0 {
        return 1.0;
    }
    (dot / (na.sqrt() * nb.sqrt()).max(1e-30)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mode: PoolingMode) -> PoolingSpec {
        PoolingSpec { modes: vec![mode], include_prompt: true, dimension: 2 }
    }

    // Three tokens of width 2; the third is padding.
    const TOKENS: [f32; 6] = [1.0, -2.0, 3.0, 4.0, 100.0, 100.0];
    const MASK: [f32; 3] = [1.0, 1.0, 0.0];

    fn run(mode: PoolingMode) -> Vec<f32> {
        let mut out = Vec::new();
        pool(&spec(mode), &TOKENS, &MASK, &mut out);
        out
    }

    #[test]
    fn mean_ignores_padding() {
        assert_eq!(run(PoolingMode::Mean), vec![2.0, 1.0]);
    }

    #[test]
    fn cls_takes_first_token() {
        assert_eq!(run(PoolingMode::Cls), vec![1.0, -2.0]);
    }

    #[test]
    fn last_token_is_last_unmasked() {
        assert_eq!(run(PoolingMode::LastToken), vec![3.0, 4.0]);
    }

    #[test]
    fn max_ignores_padding() {
        assert_eq!(run(PoolingMode::Max), vec![3.0, 4.0]);
    }

    #[test]
    fn mean_sqrt_len_divides_by_root_count() {
        let out = run(PoolingMode::MeanSqrtLen);
        let root2 = 2f32.sqrt();
        assert!((out[0] - 4.0 / root2).abs() < 1e-6 && (out[1] - 2.0 / root2).abs() < 1e-6, "{out:?}");
    }

    #[test]
    fn weighted_mean_weighs_by_position() {
        // (1·[1,-2] + 2·[3,4]) / 3
        let out = run(PoolingMode::WeightedMean);
        assert!((out[0] - 7.0 / 3.0).abs() < 1e-6 && (out[1] - 2.0).abs() < 1e-6, "{out:?}");
    }

    #[test]
    fn several_modes_concatenate() {
        let spec = PoolingSpec { modes: vec![PoolingMode::Cls, PoolingMode::Mean], include_prompt: true, dimension: 2 };
        let mut out = Vec::new();
        pool(&spec, &TOKENS, &MASK, &mut out);
        assert_eq!(out, vec![1.0, -2.0, 2.0, 1.0]);
        assert_eq!(spec.output_dimension(), 4);
    }

    #[test]
    fn cls_skips_masked_prompt() {
        let mut out = Vec::new();
        pool(&spec(PoolingMode::Cls), &TOKENS, &[0.0, 1.0, 0.0], &mut out);
        assert_eq!(out, vec![3.0, 4.0]);
    }

    #[test]
    fn empty_mask_pools_to_zero_not_nan() {
        let mut out = Vec::new();
        pool(&spec(PoolingMode::Mean), &TOKENS, &[0.0, 0.0, 0.0], &mut out);
        assert_eq!(out, vec![0.0, 0.0]);
        normalize(&mut out);
        assert_eq!(out, vec![0.0, 0.0]);
    }

    #[test]
    fn normalize_gives_unit_length() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
    }
}
