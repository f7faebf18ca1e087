//! SIMD128 forms that V8 lowers to fewer x86 instructions than the obvious intrinsic, for the
//! element-wise and quantization loops (each keeps the intrinsic's result bit for bit).

use core::arch::wasm32::*;

/// f32 → i32 truncation of lanes known to lie in i32's range: V8 spends ~7 instructions on
/// `i32x4.trunc_sat_f32x4_s`'s saturation, relaxed SIMD's truncation is one `cvttps2dq`, and the
/// two agree on every lane in range.
#[inline(always)]
pub fn trunc_in_range(v: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        i32x4_relaxed_trunc_f32x4(v)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        i32x4_trunc_sat_f32x4(v)
    }
}

/// The sign bit of every f32 lane, built once per call and hidden from the optimizer: `f32x4.abs`
/// and `f32x4.neg` make V8 load their mask through an address it rebuilds at every use, and an
/// inline `v128.const` is rebuilt at every use too.
#[inline(always)]
pub fn sign_mask() -> v128 {
    core::hint::black_box(i32x4_splat(i32::MIN))
}

/// `f32x4.abs` with the mask from `sign_mask`.
#[inline(always)]
pub fn abs(v: v128, sign: v128) -> v128 {
    v128_andnot(v, sign)
}

/// `f32x4.neg` with the mask from `sign_mask`.
#[inline(always)]
pub fn neg(v: v128, sign: v128) -> v128 {
    v128_xor(v, sign)
}
