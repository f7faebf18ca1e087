//! The norms and gated activations of the pre-norm families, row by row in f32 with the sums in
//! f64 (PyTorch reduces float32 rows with wider partial sums too), as transformers computes them:
//! LayerNorm `(x - mean) · rstd · w + b`; RMSNorm `x · rsqrt(mean(x²) + eps) · w` (Gemma's
//! `1 + w` is folded into `w` at load).

use super::activations::{gelu_erf_in_place, gelu_tanh_in_place, silu_in_place};
use crate::model::NormParameters;
use crate::spec::{HiddenAct, NormKind};

/// Normalizes each `width`-wide row of `x` in place.
pub fn norm_rows(kind: NormKind, x: &mut [f32], norm: &NormParameters, eps: f64) {
    let width = norm.weight.len();
    for row in x.chunks_exact_mut(width.max(1)) {
        match kind {
            NormKind::LayerNorm => layer_norm_row(row, &norm.weight, &norm.bias, eps),
            NormKind::RmsNorm => rms_norm_row(row, &norm.weight, eps),
        }
    }
}

pub fn layer_norm_row(row: &mut [f32], weight: &[f32], bias: &[f32], eps: f64) {
    let n = row.len() as f64;
    let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let (mean, rstd) = (mean as f32, (1.0 / (var + eps).sqrt()) as f32);
    for (i, v) in row.iter_mut().enumerate() {
        let normed = (*v - mean) * rstd * weight[i];
        *v = if bias.is_empty() { normed } else { normed + bias[i] };
    }
}

pub fn rms_norm_row(row: &mut [f32], weight: &[f32], eps: f64) {
    let mean_square = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / row.len() as f64;
    let rstd = (1.0 / (mean_square as f32 as f64 + eps).sqrt()) as f32;
    for (v, w) in row.iter_mut().zip(weight) {
        *v = *v * rstd * w;
    }
}

/// `act(gate) · up` for each row of `gate_up` (`2 × width` wide: gate, then up): the gated MLPs'
/// middle (GeGLU for ModernBERT and Gemma3, SwiGLU for Qwen3).
pub fn gated(gate_up: &[f32], width: usize, act: HiddenAct) -> Vec<f32> {
    let mut out = Vec::with_capacity(gate_up.len() / 2);
    for row in gate_up.chunks_exact(2 * width.max(1)) {
        out.extend_from_slice(&row[..width]);
    }
    activate_in_place(&mut out, act);
    for (middle, row) in out.chunks_exact_mut(width.max(1)).zip(gate_up.chunks_exact(2 * width.max(1))) {
        middle.iter_mut().zip(&row[width..]).for_each(|(m, u)| *m *= u);
    }
    out
}

/// Every value through `act` (the SIMD forms where the binary has them).
pub fn activate_in_place(values: &mut [f32], act: HiddenAct) {
    match act {
        HiddenAct::GeluErf => gelu_erf_in_place(values),
        HiddenAct::GeluTanh => gelu_tanh_in_place(values),
        HiddenAct::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
        HiddenAct::Silu => silu_in_place(values),
    }
}

/// One value through `act`, as `activate_in_place` computes it.
pub fn activate(x: f32, act: HiddenAct) -> f32 {
    let mut one = [x];
    activate_in_place(&mut one, act);
    one[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norms_match_their_definitions() {
        let mut row = vec![1.0f32, 2.0, 3.0, 6.0];
        let (w, b) = (vec![1.0, 2.0, 1.0, 1.0], vec![0.0, 0.0, 0.5, 0.0]);
        layer_norm_row(&mut row, &w, &b, 0.0);
        // mean 3, variance 3.5
        let s = 3.5f32.sqrt();
        for (got, want) in row.iter().zip([-2.0 / s, -2.0 / s, 0.5, 3.0 / s]) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        let mut row = vec![3.0f32, 4.0];
        rms_norm_row(&mut row, &[1.0, 1.0], 0.0);
        let r = 12.5f32.sqrt();
        assert!((row[0] - 3.0 / r).abs() < 1e-6 && (row[1] - 4.0 / r).abs() < 1e-6);
        assert_eq!(gated(&[1.0, 0.0, 2.0, 5.0], 2, HiddenAct::Relu), vec![2.0, 0.0]);
        assert!((activate(1.0, HiddenAct::Silu) - 0.731_058_6).abs() < 1e-6);
        assert!((activate(1.0, HiddenAct::GeluTanh) - 0.841_191_9).abs() < 1e-6);
        assert!((activate(1.0, HiddenAct::GeluErf) - 0.841_344_7).abs() < 1e-6);
    }
}
