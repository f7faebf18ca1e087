//! Element-wise math for the CPU path, branch-free (libm's scalar `expf` / `erff` were ~15% of
//! encode time in wasm). LLVM left the scalar forms unvectorized (their float→int casts), so
//! wasm runs `simd`'s four-lane copies: the same operations in the same order, the same results.

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split in two so `x - n·ln2` keeps full precision (Cody–Waite).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `e^x` to within ~2 ulp (Cephes `expf` polynomial); 0 below -87.3, where f32 underflows anyway.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let clamped = x.clamp(-87.3, 88.7);
    let n = (clamped * LOG2E).round_ties_even();
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if x < -87.3 {
        0.0
    } else {
        y * scale
    }
}

/// `erf(x)` by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), the formula PyTorch's
/// vectorized CPU `erf` uses, so GELU here rounds like sentence-transformers' own run.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_74) * t + 0.254_829_6) * t;
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// GELU in its exact (erf) form, as BERT's `hidden_act: "gelu"` is.
pub fn gelu_erf_in_place(values: &mut [f32]) {
    let tail = simd::gelu_erf_in_place(values);
    for v in &mut values[tail..] {
        let x = *v;
        *v = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// GELU in its tanh form (`gelu_pytorch_tanh`), tanh through `exp` (the argument clamped to
/// ±15, where tanh is ±1 in f32, as the WebGPU kernel clamps it).
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    let u = (0.797_884_6 * (x + 0.044_715 * x * x * x)).clamp(-15.0, 15.0);
    0.5 * x * (2.0 - 2.0 / (exp(2.0 * u) + 1.0))
}

/// SiLU (swish): `x · sigmoid(x)`.
#[inline(always)]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

/// `gelu_tanh` on every value.
pub fn gelu_tanh_in_place(values: &mut [f32]) {
    let tail = simd::gelu_tanh_in_place(values);
    values[tail..].iter_mut().for_each(|v| *v = gelu_tanh(*v));
}

/// `silu` on every value.
pub fn silu_in_place(values: &mut [f32]) {
    let tail = simd::silu_in_place(values);
    values[tail..].iter_mut().for_each(|v| *v = silu(*v));
}

/// Softmax of `row` in place.
pub fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (tail, mut sum) = simd::exp_shifted_in_place(row, max);
    for v in &mut row[tail..] {
        *v = exp(*v - max);
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::{LN2_HI, LN2_LO, LOG2E};
    use crate::simd_lowering::{abs, neg, sign_mask, trunc_in_range};

    #[inline(always)]
    fn splat(x: f32) -> v128 {
        f32x4_splat(x)
    }

    /// Every constant the loops use, built once per call and hidden from the optimizer: as
    /// inline `v128.const`s, V8 rebuilt each one on every iteration (GELU ran at ~50 cycles per
    /// four values).
    struct Constants {
        exp_high: v128,
        exp_low: v128,
        log2e: v128,
        ln2_hi: v128,
        ln2_lo: v128,
        exp_poly: [v128; 6],
        one: v128,
        zero: v128,
        bias: v128,
        erf_p: v128,
        erf_poly: [v128; 5],
        sign: v128,
        half: v128,
        frac_1_sqrt_2: v128,
    }

    #[inline(always)]
    fn constants() -> Constants {
        core::hint::black_box(Constants {
            exp_high: splat(88.7),
            exp_low: splat(-87.3),
            log2e: splat(LOG2E),
            ln2_hi: splat(LN2_HI),
            ln2_lo: splat(LN2_LO),
            exp_poly: [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5].map(splat),
            one: splat(1.0),
            zero: splat(0.0),
            bias: i32x4_splat(127),
            erf_p: splat(0.327_591_1),
            erf_poly: [1.061_405_4, -1.453_152_1, 1.421_413_8, -0.284_496_74, 0.254_829_6].map(splat),
            sign: sign_mask(),
            half: splat(0.5),
            frac_1_sqrt_2: splat(std::f32::consts::FRAC_1_SQRT_2),
        })
    }

    /// `super::exp` on four lanes.
    #[inline(always)]
    fn exp(x: v128, k: &Constants) -> v128 {
        let clamped = f32x4_pmin(k.exp_high, f32x4_pmax(k.exp_low, x));
        let n = f32x4_nearest(f32x4_mul(clamped, k.log2e));
        let r = f32x4_sub(f32x4_sub(clamped, f32x4_mul(n, k.ln2_hi)), f32x4_mul(n, k.ln2_lo));
        let mut p = k.exp_poly[0];
        for c in &k.exp_poly[1..] {
            p = f32x4_add(f32x4_mul(p, r), *c);
        }
        let y = f32x4_add(f32x4_add(f32x4_mul(f32x4_mul(p, r), r), r), k.one);
        let scale = i32x4_shl(i32x4_add(trunc_in_range(n), k.bias), 23);
        v128_bitselect(k.zero, f32x4_mul(y, scale), f32x4_lt(x, k.exp_low))
    }

    /// `super::erf` on four lanes.
    #[inline(always)]
    fn erf(x: v128, k: &Constants) -> v128 {
        let a = abs(x, k.sign);
        let t = f32x4_div(k.one, f32x4_add(k.one, f32x4_mul(k.erf_p, a)));
        let mut poly = f32x4_add(f32x4_mul(k.erf_poly[0], t), k.erf_poly[1]);
        for c in &k.erf_poly[2..] {
            poly = f32x4_add(f32x4_mul(poly, t), *c);
        }
        poly = f32x4_mul(poly, t);
        let y = f32x4_sub(k.one, f32x4_mul(poly, exp(neg(f32x4_mul(a, a), k.sign), k)));
        v128_or(v128_andnot(y, k.sign), v128_and(x, k.sign))
    }

    /// GELU on every whole group of four; returns where the scalar tail starts.
    pub fn gelu_erf_in_place(values: &mut [f32]) -> usize {
        let k = constants();
        let whole = values.len() / 4 * 4;
        for chunk in values[..whole].chunks_exact_mut(4) {
            // SAFETY: chunk holds 4 floats; no alignment is required.
            unsafe {
                let x = v128_load(chunk.as_ptr() as *const v128);
                let inner = f32x4_add(k.one, erf(f32x4_mul(x, k.frac_1_sqrt_2), &k));
                v128_store(chunk.as_mut_ptr() as *mut v128, f32x4_mul(f32x4_mul(k.half, x), inner));
            }
        }
        whole
    }

    /// `super::gelu_tanh` on every whole group of four; returns where the scalar tail starts.
    pub fn gelu_tanh_in_place(values: &mut [f32]) -> usize {
        let k = constants();
        let (limit, two, c1, c2) = (splat(15.0), splat(2.0), splat(0.797_884_6), splat(0.044_715));
        let whole = values.len() / 4 * 4;
        for chunk in values[..whole].chunks_exact_mut(4) {
            // SAFETY: chunk holds 4 floats; no alignment is required.
            unsafe {
                let x = v128_load(chunk.as_ptr() as *const v128);
                let cube = f32x4_mul(f32x4_mul(f32x4_mul(c2, x), x), x);
                let u = f32x4_pmin(limit, f32x4_pmax(neg(limit, k.sign), f32x4_mul(c1, f32x4_add(x, cube))));
                let e = exp(f32x4_mul(two, u), &k);
                let inner = f32x4_sub(two, f32x4_div(two, f32x4_add(e, k.one)));
                v128_store(chunk.as_mut_ptr() as *mut v128, f32x4_mul(f32x4_mul(k.half, x), inner));
            }
        }
        whole
    }

    /// `super::silu` on every whole group of four; returns where the scalar tail starts.
    pub fn silu_in_place(values: &mut [f32]) -> usize {
        let k = constants();
        let whole = values.len() / 4 * 4;
        for chunk in values[..whole].chunks_exact_mut(4) {
            // SAFETY: chunk holds 4 floats; no alignment is required.
            unsafe {
                let x = v128_load(chunk.as_ptr() as *const v128);
                let e = exp(neg(x, k.sign), &k);
                v128_store(chunk.as_mut_ptr() as *mut v128, f32x4_div(x, f32x4_add(k.one, e)));
            }
        }
        whole
    }

    /// `v = exp(v - max)` on every whole group of four; returns where the scalar tail starts
    /// and the sum so far.
    pub fn exp_shifted_in_place(row: &mut [f32], max: f32) -> (usize, f32) {
        let k = constants();
        let whole = row.len() / 4 * 4;
        let mut sum = splat(0.0);
        for chunk in row[..whole].chunks_exact_mut(4) {
            // SAFETY: chunk holds 4 floats; no alignment is required.
            unsafe {
                let e = exp(f32x4_sub(v128_load(chunk.as_ptr() as *const v128), splat(max)), &k);
                v128_store(chunk.as_mut_ptr() as *mut v128, e);
                sum = f32x4_add(sum, e);
            }
        }
        let lanes =
            [f32x4_extract_lane::<0>(sum), f32x4_extract_lane::<1>(sum), f32x4_extract_lane::<2>(sum), f32x4_extract_lane::<3>(sum)];
        (whole, (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod simd {
    pub fn gelu_erf_in_place(_values: &mut [f32]) -> usize {
        0
    }

    pub fn gelu_tanh_in_place(_values: &mut [f32]) -> usize {
        0
    }

    pub fn silu_in_place(_values: &mut [f32]) -> usize {
        0
    }

    pub fn exp_shifted_in_place(_row: &mut [f32], _max: f32) -> (usize, f32) {
        (0, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erf_f64(x: f64) -> f64 {
        // The Taylor series loses digits to cancellation past 3; the asymptotic erfc series
        // is accurate to ~1e-8 there.
        if x.abs() > 3.0 {
            let a = x.abs();
            let inv = 1.0 / (a * a);
            let erfc = (-a * a).exp() / (a * std::f64::consts::PI.sqrt())
                * (1.0 - 0.5 * inv + 0.75 * inv * inv - 1.875 * inv * inv * inv + 6.5625 * inv.powi(4));
            return (1.0 - erfc) * x.signum();
        }
        let mut sum = 0.0;
        let mut term = x;
        let mut n = 0.0;
        while term.abs() > 1e-17 {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x * x / n;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn exp_is_within_a_few_ulp() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            assert!(((got - want) / want).abs() < 3e-7, "exp({x}) = {got}, want {want}");
            x += 0.0137;
        }
        assert_eq!(exp(f32::MIN), 0.0);
        assert_eq!(exp(-1e30), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }

    // A&S is 1.5e-7 in exact arithmetic; in f32 the `1 - poly·exp` step cancels near 0 and
    // adds up to ~3e-7 more, as it does in PyTorch's vectorized erf.
    #[test]
    fn erf_is_within_5e7() {
        let mut x = -6.0f32;
        while x < 6.0 {
            let want = erf_f64(x as f64);
            assert!((erf(x) as f64 - want).abs() < 5e-7, "erf({x}) = {}, want {want}", erf(x));
            x += 0.00731;
        }
    }

    #[test]
    fn softmax_sums_to_one_and_orders() {
        let mut row = [1.0, 2.0, 3.0, -1e30];
        softmax_in_place(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[2] > row[1] && row[1] > row[0] && row[3] == 0.0);
    }
}
