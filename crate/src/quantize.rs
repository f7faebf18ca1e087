//! q8, webembed's int8 scheme: a matrix keeps int8 values with one f32 scale per row
//! (symmetric, `value ≈ scale · q`, q ∈ [-127, 127]). A linear layer's rows are its output
//! channels, stored rotated (`rotate`); the word table's rows are tokens (dequantized when
//! gathered). Inside each linear layer the activations are rotated the same way and quantized per
//! token row to 7 bits (q ∈ [-63, 63]), so that the relaxed-SIMD dot product, whose second operand
//! must stay below 128 unsigned, gives the same integers as every other path once offset by +64
//! (see `backend::cpu::matmul_q8`).
//!
//! A q8 file (`model.q8.safetensors`) is a plain safetensors file: each quantized `NAME` is an
//! I8 tensor with an F32 `NAME_scale` beside it; every other tensor stays float. Its metadata
//! names the scheme and version, so a file of another scheme is refused, not misread.

use std::collections::HashMap;

use crate::error::{EmbedError, Result};

/// Metadata key naming the scheme, and its value for this one.
pub const SCHEME_KEY: &str = "webembed.quantization";
pub const SCHEME: &str = "q8-rotated-rows";
/// Metadata key holding the scheme's version, and the versions this engine reads.
pub const VERSION_KEY: &str = "webembed.quantization_version";
pub const VERSION: &str = "1";
/// Metadata key listing (JSON array) the tensors whose rows are stored rotated (`rotate`).
pub const ROTATED_KEY: &str = "webembed.rotated";
/// `NAME_scale` holds the row scales of the I8 tensor `NAME`.
pub const SCALE_SUFFIX: &str = "_scale";

/// Largest |q| of a weight.
pub const WEIGHT_LEVELS: f32 = 127.0;
/// Largest |q| of an activation (7 bits: see the module comment).
pub const ACTIVATION_LEVELS: f32 = 63.0;

/// Largest Hadamard block a rotation uses.
pub const HADAMARD_MAX_BLOCK: usize = 512;

/// The block size of the Hadamard rotation of a `len`-long row: the largest power of two that
/// divides `len`, up to `HADAMARD_MAX_BLOCK`.
pub fn hadamard_block(len: usize) -> usize {
    let mut block = 1;
    while len.is_multiple_of(block * 2) && block * 2 <= HADAMARD_MAX_BLOCK {
        block *= 2;
    }
    block
}

/// Rotates `row` in place by an orthogonal matrix that spreads every channel over the whole row:
/// fixed pseudo-random sign flips, a fast Walsh–Hadamard transform per block of
/// `hadamard_block(len)` values, then, where the row holds several blocks (384 = 3 × 128), an
/// orthonormal DCT across the blocks at each position. (Measured on all-MiniLM-L6-v2's fixtures
/// with 7-bit activations: without rotation worst/mean cosine 0.950/0.989; Hadamard alone
/// 0.997/0.9989; with the signs 0.9975/0.99914; with the DCT too 0.9979/0.99920.) Since
/// `x · Wᵀ = (x R) · (W R)ᵀ` for orthogonal R, rotating both the weights (at quantization) and the
/// inputs (in the matmul) changes nothing but the quantization error: the few outlier channels of
/// transformer activations no longer set a row's scale alone.
pub fn rotate(row: &mut [f32]) {
    let rotation = Rotation::new(row.len());
    let (mut work, mut scratch) = (vec![0f32; row.len()], vec![0f32; row.len()]);
    let rotated = rotation.apply(row, &mut work, &mut scratch).to_vec();
    row.copy_from_slice(&rotated);
}

/// The inverse of `rotate`.
pub fn unrotate(row: &mut [f32]) {
    Rotation::new(row.len()).undo(row);
}

/// `rotate` for `len`-long rows with its tables built once: the matmul rotates every input row.
pub struct Rotation {
    block: usize,
    /// The sign flips with the Hadamard normalization folded in: ±1/√block.
    signs: Vec<f32>,
    /// The orthonormal DCT-II (`count × count`, row-major) mixing the blocks, and its transpose;
    /// empty when the row is one block.
    dct: Vec<f32>,
    dct_inverse: Vec<f32>,
}

impl Rotation {
    pub fn new(len: usize) -> Self {
        let block = hadamard_block(len);
        let norm = if block < 2 { 1.0 } else { 1.0 / (block as f32).sqrt() };
        // A fixed pseudo-random half of the positions is negated (the same for every row and
        // model), so structured inputs do not line up with the Hadamard basis.
        let signs = (0..len)
            .map(|i| {
                let h = (i as u32).wrapping_mul(0x9E37_79B9).rotate_left(13).wrapping_mul(0x85EB_CA6B);
                if h & 0x8000_0000 != 0 {
                    -norm
                } else {
                    norm
                }
            })
            .collect();
        Rotation { block, signs, dct: cross_block_dct(len, false), dct_inverse: cross_block_dct(len, true) }
    }

    /// Rotates `input`; the result is in `work` or in `scratch` (each as long as `input`),
    /// whichever is returned. The sign flips and the first two butterfly passes are one sweep
    /// from `input` to `work`, as the block mixing is one sweep from `work` to `scratch`: the
    /// matmul rotates every input row, and each sweep over it costs.
    pub fn apply<'a>(&self, input: &[f32], work: &'a mut [f32], scratch: &'a mut [f32]) -> &'a [f32] {
        let half = if self.block >= 4 {
            signed_four_point_sweep(input, &self.signs, work)
        } else {
            work.iter_mut().zip(input).zip(&self.signs).for_each(|((w, v), s)| *w = v * s);
            1
        };
        self.hadamard_from(work, half);
        if self.dct.is_empty() {
            return work;
        }
        mix_blocks(work, scratch, &self.dct, self.block);
        scratch
    }

    /// The inverse of `apply`, in place.
    pub fn undo(&self, row: &mut [f32]) {
        if !self.dct_inverse.is_empty() {
            let mut mixed = vec![0f32; row.len()];
            mix_blocks(row, &mut mixed, &self.dct_inverse, self.block);
            row.copy_from_slice(&mixed);
        }
        self.hadamard(row);
        row.iter_mut().zip(&self.signs).for_each(|(v, s)| *v *= s);
    }

    /// The unnormalized Walsh–Hadamard transform of each block (the signs carry the norm), two
    /// butterfly passes per sweep over the row: the same additions in the same order as one pass
    /// at a time, with half the loads and stores.
    fn hadamard(&self, row: &mut [f32]) {
        let half = if self.block >= 4 { four_point_sweep(row) } else { 1 };
        self.hadamard_from(row, half);
    }

    /// The butterfly passes that follow those already done on runs of `2 · half`.
    fn hadamard_from(&self, row: &mut [f32], mut half: usize) {
        while half * 2 < self.block {
            butterflies::quad_pass(row, half);
            half *= 4;
        }
        if half < self.block {
            butterflies::pair_pass(row, half);
        }
    }
}

/// One radix-4 butterfly pass: each `4 · half` run's quarters a, b, c, d become
/// (a+b)+(c+d), (a−b)+(c−d), (a+b)−(c+d), (a−b)−(c−d).
fn scalar_quad_pass(row: &mut [f32], half: usize) {
    for quad in row.chunks_exact_mut(4 * half) {
        let (front, back) = quad.split_at_mut(2 * half);
        let (a, b) = front.split_at_mut(half);
        let (c, d) = back.split_at_mut(half);
        for (((a, b), c), d) in a.iter_mut().zip(b.iter_mut()).zip(c.iter_mut()).zip(d.iter_mut()) {
            let (s0, s1, s2, s3) = (*a + *b, *a - *b, *c + *d, *c - *d);
            (*a, *b, *c, *d) = (s0 + s2, s1 + s3, s0 - s2, s1 - s3);
        }
    }
}

/// One radix-2 butterfly pass: each `2 · half` run's halves x, y become x + y, x − y.
fn scalar_pair_pass(row: &mut [f32], half: usize) {
    for pair in row.chunks_exact_mut(2 * half) {
        let (low, high) = pair.split_at_mut(half);
        for (a, b) in low.iter_mut().zip(high.iter_mut()) {
            let (x, y) = (*a, *b);
            *a = x + y;
            *b = x - y;
        }
    }
}

/// The first two butterfly passes (4-point transforms of each four values) within SIMD
/// registers, where the scalar loop did not vectorize; the same additions, so the same results.
/// Returns the butterfly passes' `half` reached: 4, or 1 where there is no SIMD path (the later
/// passes then start from the first).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn four_point_sweep(row: &mut [f32]) -> usize {
    for chunk in row.chunks_exact_mut(4) {
        // SAFETY: chunk holds 4 floats; no alignment is required.
        unsafe {
            use core::arch::wasm32::*;
            let v = v128_load(chunk.as_ptr() as *const v128);
            v128_store(chunk.as_mut_ptr() as *mut v128, four_point(v));
        }
    }
    4
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn four_point_sweep(_row: &mut [f32]) -> usize {
    1
}

/// `out = input · signs`, then `four_point_sweep` where it has a SIMD path, in one sweep;
/// returns the butterfly passes' `half` reached (4, or 1 where only the signs were applied).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn signed_four_point_sweep(input: &[f32], signs: &[f32], out: &mut [f32]) -> usize {
    use core::arch::wasm32::*;
    assert!(input.len() == signs.len() && out.len() == input.len() && input.len().is_multiple_of(4));
    for ((chunk, signs), out) in input.chunks_exact(4).zip(signs.chunks_exact(4)).zip(out.chunks_exact_mut(4)) {
        // SAFETY: each chunk holds 4 floats; no alignment is required.
        unsafe {
            let v = f32x4_mul(v128_load(chunk.as_ptr() as *const v128), v128_load(signs.as_ptr() as *const v128));
            v128_store(out.as_mut_ptr() as *mut v128, four_point(v));
        }
    }
    4
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn signed_four_point_sweep(input: &[f32], signs: &[f32], out: &mut [f32]) -> usize {
    out.iter_mut().zip(input).zip(signs).for_each(|((o, v), s)| *o = v * s);
    1
}

/// The 4-point transform of one vector's lanes a, b, c, d: the first two butterfly passes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn four_point(v: core::arch::wasm32::v128) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    let (even, odd) = (i32x4_shuffle::<0, 0, 2, 2>(v, v), i32x4_shuffle::<1, 1, 3, 3>(v, v));
    // [a+b, a-b, c+d, c-d]
    let s = i32x4_shuffle::<0, 5, 2, 7>(f32x4_add(even, odd), f32x4_sub(even, odd));
    let (low, high) = (i32x4_shuffle::<0, 1, 0, 1>(s, s), i32x4_shuffle::<2, 3, 2, 3>(s, s));
    i32x4_shuffle::<0, 1, 6, 7>(f32x4_add(low, high), f32x4_sub(low, high))
}

/// The later butterfly passes four lanes at a time where runs are whole vectors: LLVM left them
/// scalar (their run length is only known at run time); the same additions, so the same results.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod butterflies {
    use core::arch::wasm32::*;

    /// `super::scalar_quad_pass`.
    pub fn quad_pass(row: &mut [f32], half: usize) {
        if !half.is_multiple_of(4) {
            return super::scalar_quad_pass(row, half);
        }
        for quad in row.chunks_exact_mut(4 * half) {
            let p = quad.as_mut_ptr();
            for j in (0..half).step_by(4) {
                // SAFETY: j + 3 < half, so every lane read and written lies in this run.
                unsafe {
                    let (pa, pb, pc, pd) = (p.add(j), p.add(half + j), p.add(2 * half + j), p.add(3 * half + j));
                    let (a, b) = (v128_load(pa as *const v128), v128_load(pb as *const v128));
                    let (c, d) = (v128_load(pc as *const v128), v128_load(pd as *const v128));
                    let (s0, s1, s2, s3) = (f32x4_add(a, b), f32x4_sub(a, b), f32x4_add(c, d), f32x4_sub(c, d));
                    v128_store(pa as *mut v128, f32x4_add(s0, s2));
                    v128_store(pb as *mut v128, f32x4_add(s1, s3));
                    v128_store(pc as *mut v128, f32x4_sub(s0, s2));
                    v128_store(pd as *mut v128, f32x4_sub(s1, s3));
                }
            }
        }
    }

    /// `super::scalar_pair_pass`.
    pub fn pair_pass(row: &mut [f32], half: usize) {
        if !half.is_multiple_of(4) {
            return super::scalar_pair_pass(row, half);
        }
        for pair in row.chunks_exact_mut(2 * half) {
            let p = pair.as_mut_ptr();
            for j in (0..half).step_by(4) {
                // SAFETY: j + 3 < half, so both lanes' runs lie in this pair.
                unsafe {
                    let (px, py) = (p.add(j), p.add(half + j));
                    let (x, y) = (v128_load(px as *const v128), v128_load(py as *const v128));
                    v128_store(px as *mut v128, f32x4_add(x, y));
                    v128_store(py as *mut v128, f32x4_sub(x, y));
                }
            }
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod butterflies {
    pub(super) use super::{scalar_pair_pass as pair_pass, scalar_quad_pass as quad_pass};
}

/// The orthonormal DCT-II matrix (`count × count`, row-major) that mixes a `len`-long row's
/// Hadamard blocks, or its transpose when `inverse`; empty when the row is one block.
fn cross_block_dct(len: usize, inverse: bool) -> Vec<f32> {
    let count = len / hadamard_block(len).max(1);
    if count < 2 {
        return Vec::new();
    }
    (0..count * count)
        .map(|i| {
            let (k, n) = if inverse { (i % count, i / count) } else { (i / count, i % count) };
            let scale = if k == 0 { (1.0 / count as f64).sqrt() } else { (2.0 / count as f64).sqrt() };
            (scale * (std::f64::consts::PI * (n as f64 + 0.5) * k as f64 / count as f64).cos()) as f32
        })
        .collect()
}

use simd_mix::mix_blocks;

/// `out` = the row's blocks mixed by `dct` (from `cross_block_dct`) at each position, one block
/// at a time (each output block starts at 0 and adds each input block's
/// share in order).
fn scalar_mix_blocks(row: &[f32], out: &mut [f32], dct: &[f32], block: usize) {
    let count = row.len() / block.max(1);
    for k in 0..count {
        let out = &mut out[k * block..(k + 1) * block];
        out.fill(0.0);
        for n in 0..count {
            let weight = dct[k * count + n];
            for (o, &v) in out.iter_mut().zip(&row[n * block..(n + 1) * block]) {
                *o += weight * v;
            }
        }
    }
}

/// `mix_blocks` in one sweep, four positions of every block at a time: the same additions in the
/// same order as `scalar_mix_blocks`, where that makes `count + 1` sweeps over the output.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd_mix {
    use core::arch::wasm32::*;

    /// `super::scalar_mix_blocks`, which rows that do not suit this path fall back to. The block
    /// counts of the hidden and feed-forward widths of the models served (384, 768, 1024, 1536,
    /// 3072, 4096: 3, 2, 6 and 8 blocks) each get their own copy, where the loops unroll.
    pub fn mix_blocks(row: &[f32], out: &mut [f32], dct: &[f32], block: usize) {
        let count = row.len() / block.max(1);
        if !block.is_multiple_of(4) || out.len() != row.len() || dct.len() != count * count {
            return super::scalar_mix_blocks(row, out, dct, block);
        }
        match count {
            2 => mix::<2>(row, out, dct, block),
            3 => mix::<3>(row, out, dct, block),
            6 => mix::<6>(row, out, dct, block),
            8 => mix::<8>(row, out, dct, block),
            _ => super::scalar_mix_blocks(row, out, dct, block),
        }
    }

    #[inline(always)]
    fn mix<const N: usize>(row: &[f32], out: &mut [f32], dct: &[f32], block: usize) {
        assert!(row.len() == N * block && out.len() == N * block && dct.len() == N * N);
        // Hidden from the optimizer: inlined, they become splats V8 rebuilds per use.
        let weights: [[v128; N]; N] =
            core::hint::black_box(core::array::from_fn(|k| core::array::from_fn(|n| f32x4_splat(dct[k * N + n]))));
        let (rp, op) = (row.as_ptr(), out.as_mut_ptr());
        for j in (0..block).step_by(4) {
            // SAFETY: j + 3 < block, so every lane read lies in block n of `row` and every lane
            // written in block k of `out`, as the assert bounds them.
            unsafe {
                let inputs: [v128; N] = core::array::from_fn(|n| v128_load(rp.add(n * block + j) as *const v128));
                for (k, weights) in weights.iter().enumerate() {
                    let mut sum = f32x4_splat(0.0);
                    for (w, input) in weights.iter().zip(&inputs) {
                        sum = f32x4_add(sum, f32x4_mul(*w, *input));
                    }
                    v128_store(op.add(k * block + j) as *mut v128, sum);
                }
            }
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod simd_mix {
    pub(super) use super::scalar_mix_blocks as mix_blocks;
}

/// Quantizes `row` symmetrically to `levels` into `out`; returns the scale (0 for an all-zero
/// or non-finite row, whose values then are all 0).
pub fn quantize_row(row: &[f32], levels: f32, out: &mut [i8]) -> f32 {
    quantize_row_offset(row, levels, 0, out)
}

/// `quantize_row` with `offset` added to every value written (the relaxed matmul kernel reads
/// activations +64); an all-zero or non-finite row is written as all `offset`.
pub fn quantize_row_offset(row: &[f32], levels: f32, offset: i8, out: &mut [i8]) -> f32 {
    // A non-finite value makes the whole row unusable; it quantizes to zeros, not to garbage.
    let largest = simd::largest_magnitude(row);
    if !(largest > 0.0 && largest.is_finite()) {
        out.fill(offset);
        return 0.0;
    }
    simd::quantize(row, levels / largest, levels, offset, out);
    largest / levels
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    //! The two passes of `quantize_row` on SIMD128: every linear layer runs them on every row.
    use core::arch::wasm32::*;

    use crate::simd_lowering::{abs, sign_mask, trunc_in_range};

    /// max |v| of `row`, or infinity when a value is not finite.
    pub fn largest_magnitude(row: &[f32]) -> f32 {
        let (mut most, mut bad) = (f32x4_splat(0.0), i32x4_splat(0));
        let (limit, sign) = (core::hint::black_box(f32x4_splat(f32::MAX)), sign_mask());
        let chunks = row.chunks_exact(4);
        let tail = chunks.remainder();
        for chunk in chunks {
            // SAFETY: chunk holds 4 floats; v128_load has no alignment requirement.
            let magnitude = abs(unsafe { v128_load(chunk.as_ptr() as *const v128) }, sign);
            // NaN fails `<=` too.
            bad = v128_or(bad, v128_not(f32x4_le(magnitude, limit)));
            most = f32x4_pmax(most, magnitude);
        }
        if v128_any_true(bad) || tail.iter().any(|v| !v.is_finite()) {
            return f32::INFINITY;
        }
        let lanes =
            [f32x4_extract_lane::<0>(most), f32x4_extract_lane::<1>(most), f32x4_extract_lane::<2>(most), f32x4_extract_lane::<3>(most)];
        lanes.iter().chain(tail).fold(0f32, |m, v| m.max(v.abs()))
    }

    /// `out[i] = clamp(nearest(row[i] · inverse), ±levels) + offset`.
    pub fn quantize(row: &[f32], inverse: f32, levels: f32, offset: i8, out: &mut [i8]) {
        // Hidden from the optimizer: inlined, they become `v128.const`s V8 rebuilds per use.
        let (scale, high, low, shift) =
            core::hint::black_box((f32x4_splat(inverse), f32x4_splat(levels), f32x4_splat(-levels), i8x16_splat(offset)));
        let whole = row.len() / 16 * 16;
        for (chunk, dst) in row[..whole].chunks_exact(16).zip(out[..whole].chunks_exact_mut(16)) {
            // SAFETY: chunk holds 16 floats and dst 16 bytes; no alignment is required.
            unsafe {
                let p = chunk.as_ptr();
                let q = |i: usize| {
                    let v = f32x4_nearest(f32x4_mul(v128_load(p.add(4 * i) as *const v128), scale));
                    trunc_in_range(f32x4_pmax(low, f32x4_pmin(high, v)))
                };
                let bytes = i8x16_narrow_i16x8(i16x8_narrow_i32x4(q(0), q(1)), i16x8_narrow_i32x4(q(2), q(3)));
                v128_store(dst.as_mut_ptr() as *mut v128, i8x16_add(bytes, shift));
            }
        }
        super::scalar_quantize(&row[whole..], inverse, levels, offset, &mut out[whole..row.len()]);
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod simd {
    pub fn largest_magnitude(row: &[f32]) -> f32 {
        row.iter().fold(0f32, |m, v| if v.is_finite() { m.max(v.abs()) } else { f32::INFINITY })
    }

    pub fn quantize(row: &[f32], inverse: f32, levels: f32, offset: i8, out: &mut [i8]) {
        super::scalar_quantize(row, inverse, levels, offset, out);
    }
}

fn scalar_quantize(row: &[f32], inverse: f32, levels: f32, offset: i8, out: &mut [i8]) {
    for (q, &v) in out.iter_mut().zip(row) {
        // Ties to even: one `f32.nearest` in wasm (`round` is a libm call per value).
        *q = ((v * inverse).round_ties_even().clamp(-levels, levels) as i8).wrapping_add(offset);
    }
}

/// An int8 matrix with one scale per row.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedRows {
    pub rows: usize,
    pub cols: usize,
    /// `rows × cols` row-major.
    pub values: Vec<i8>,
    pub scales: Vec<f32>,
    /// Rows stored rotated (`rotate`): a linear layer's weights, whose inputs are rotated too.
    pub rotated: bool,
}

impl QuantizedRows {
    /// Quantizes a row-major `rows × cols` f32 matrix.
    pub fn from_f32(values: &[f32], rows: usize, cols: usize, rotated: bool) -> Self {
        let mut out = QuantizedRows::zeros(rows, cols, rotated);
        out.set_rows(0, values);
        out
    }

    /// An all-zero matrix, filled later row block by row block (`set_rows`).
    pub fn zeros(rows: usize, cols: usize, rotated: bool) -> Self {
        QuantizedRows { rows, cols, values: vec![0; rows * cols], scales: vec![0.0; rows], rotated }
    }

    /// Quantizes whole f32 rows (rotated first when the matrix is) into rows `first..`;
    /// `values.len()` must be a multiple of `cols`.
    pub fn set_rows(&mut self, first: usize, values: &[f32]) {
        let cols = self.cols.max(1);
        let rotation = self.rotated.then(|| Rotation::new(cols));
        let (mut work, mut scratch) = (vec![0f32; cols], vec![0f32; cols]);
        for (i, row) in values.chunks_exact(cols).enumerate() {
            let r = first + i;
            let row = match &rotation {
                Some(rotation) => rotation.apply(row, &mut work, &mut scratch),
                None => row,
            };
            self.scales[r] = quantize_row(row, WEIGHT_LEVELS, &mut self.values[r * cols..(r + 1) * cols]);
        }
    }

    /// A stored matrix, checked for consistent sizes and finite scales.
    pub fn from_parts(name: &str, values: Vec<i8>, scales: Vec<f32>, rows: usize, cols: usize, rotated: bool) -> Result<Self> {
        if values.len() != rows * cols || scales.len() != rows {
            return Err(EmbedError::weights(
                name,
                format!(
                    "q8 tensor of {rows}×{cols} needs {} values and {rows} scales, got {} and {}",
                    rows * cols,
                    values.len(),
                    scales.len()
                ),
            ));
        }
        if let Some(bad) = scales.iter().find(|s| !s.is_finite() || **s < 0.0) {
            return Err(EmbedError::weights(name, format!("q8 scale {bad} is not a finite non-negative number")));
        }
        Ok(QuantizedRows { rows, cols, values, scales, rotated })
    }

    /// Row `r` as f32 into `out`, back in the original basis.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        self.dequantize_row_with(r, out, self.rotated.then(|| Rotation::new(self.cols)).as_ref());
    }

    /// `dequantize_row` with the rotation's tables built by the caller, once for many rows.
    fn dequantize_row_with(&self, r: usize, out: &mut [f32], rotation: Option<&Rotation>) {
        let scale = self.scales[r];
        for (o, &q) in out.iter_mut().zip(&self.values[r * self.cols..(r + 1) * self.cols]) {
            *o = q as f32 * scale;
        }
        if let Some(rotation) = rotation {
            rotation.undo(out);
        }
    }

    /// The whole matrix as f32, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let rotation = self.rotated.then(|| Rotation::new(self.cols));
        let mut out = vec![0f32; self.rows * self.cols];
        for (r, row) in out.chunks_exact_mut(self.cols.max(1)).enumerate() {
            self.dequantize_row_with(r, row, rotation.as_ref());
        }
        out
    }
}

/// A weight matrix as a model holds it: f32, or q8.
#[derive(Clone, Debug)]
pub enum Matrix {
    /// Row-major.
    F32(Vec<f32>),
    Q8(QuantizedRows),
}

impl Matrix {
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Matrix::F32(values) => values.clone(),
            Matrix::Q8(rows) => rows.dequantize(),
        }
    }
}

/// How a q8 load quantizes a float matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantize {
    /// Each row as it is (the word table: rows are gathered, not multiplied).
    Rows,
    /// Each row rotated first (a linear layer's weights: its inputs are rotated to match).
    RotatedRows,
}

/// A safetensors file of `(name, dtype, shape, little-endian bytes)` with this scheme's metadata
/// (`rotated`: the I8 tensors stored rotated). I8 tensors go last, so every float tensor starts
/// 4-byte aligned.
pub fn write_safetensors(entries: &[(String, &str, Vec<usize>, Vec<u8>)], rotated: &[String]) -> Vec<u8> {
    let mut order: Vec<&(String, &str, Vec<usize>, Vec<u8>)> = entries.iter().collect();
    order.sort_by_key(|(name, dtype, _, _)| (*dtype == "I8", name.clone()));
    let mut header = serde_json::Map::new();
    let rotated = serde_json::to_string(rotated).unwrap_or_else(|_| "[]".into());
    header.insert("__metadata__".into(), serde_json::json!({ SCHEME_KEY: SCHEME, VERSION_KEY: VERSION, ROTATED_KEY: rotated }));
    let mut offset = 0usize;
    for (name, dtype, shape, bytes) in &order {
        header.insert(name.clone(), serde_json::json!({ "dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes.len()] }));
        offset += bytes.len();
    }
    let mut json = serde_json::Value::Object(header).to_string().into_bytes();
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for (_, _, _, bytes) in order {
        out.extend_from_slice(bytes);
    }
    out
}

/// Checks a q8 file's metadata (the scheme and version this engine reads, or a clear error) and
/// returns the names of the tensors stored rotated.
pub fn read_metadata(file: &str, metadata: Option<&HashMap<String, String>>) -> Result<Vec<String>> {
    let get = |key: &str| metadata.and_then(|m| m.get(key)).map(String::as_str);
    match (get(SCHEME_KEY), get(VERSION_KEY)) {
        (Some(SCHEME), Some(VERSION)) => serde_json::from_str(get(ROTATED_KEY).unwrap_or("[]"))
            .map_err(|e| EmbedError::weights(file, format!("metadata {ROTATED_KEY} is not a JSON list of tensor names: {e}"))),
        (None, _) => Err(EmbedError::weights(
            file,
            format!("holds int8 tensors but its metadata names no {SCHEME_KEY}; webembed reads only its own {SCHEME} files"),
        )),
        (scheme, version) => Err(EmbedError::weights(
            file,
            format!(
                "uses quantization {:?} version {:?}; this webembed reads {SCHEME} version {VERSION} (convert the model again with this version)",
                scheme.unwrap_or(""),
                version.unwrap_or("")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_within_half_a_step() {
        let values: Vec<f32> = (0..48).map(|i| ((i * 37 % 19) as f32 - 9.0) / 3.0).collect();
        let q = QuantizedRows::from_f32(&values, 4, 12, false);
        let back = q.dequantize();
        for (r, (row, back)) in values.chunks(12).zip(back.chunks(12)).enumerate() {
            let step = q.scales[r];
            for (a, b) in row.iter().zip(back) {
                assert!((a - b).abs() <= step * 0.5 + 1e-6, "row {r}: {a} vs {b}");
            }
            assert_eq!(q.values[r * 12..(r + 1) * 12].iter().map(|v| v.unsigned_abs()).max(), Some(127));
        }
    }

    #[test]
    fn rotation_is_undone_by_unrotate_and_keeps_dot_products() {
        let x: Vec<f32> = (0..384).map(|i| ((i * 7919) % 257) as f32 / 128.0 - 1.0).collect();
        let w: Vec<f32> = (0..384).map(|i| ((i * 104729) % 263) as f32 / 131.0 - 1.0).collect();
        let (mut xr, mut wr) = (x.clone(), w.clone());
        rotate(&mut xr);
        rotate(&mut wr);
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f32>();
        assert!((dot(&x, &w) - dot(&xr, &wr)).abs() < 1e-3);
        unrotate(&mut xr);
        assert!(x.iter().zip(&xr).all(|(a, b)| (a - b).abs() < 1e-5));
        assert_eq!((hadamard_block(384), hadamard_block(1536), hadamard_block(1024), hadamard_block(7)), (128, 512, 512, 1));
    }

    #[test]
    fn zero_and_non_finite_rows_quantize_to_zero() {
        let mut out = [1i8; 3];
        assert_eq!(quantize_row(&[0.0, 0.0, 0.0], 127.0, &mut out), 0.0);
        assert_eq!(out, [0, 0, 0]);
        assert_eq!(quantize_row(&[1.0, f32::NAN, 2.0], 63.0, &mut out), 0.0);
    }

    #[test]
    fn metadata_of_another_scheme_or_version_is_refused() {
        let ours = HashMap::from([(SCHEME_KEY.to_string(), SCHEME.to_string()), (VERSION_KEY.to_string(), VERSION.to_string())]);
        assert!(read_metadata("m", Some(&ours)).unwrap().is_empty());
        let newer = HashMap::from([(SCHEME_KEY.to_string(), SCHEME.to_string()), (VERSION_KEY.to_string(), "2".to_string())]);
        let err = read_metadata("m", Some(&newer)).unwrap_err();
        assert_eq!(err.code(), "E_WEIGHTS");
        assert!(err.to_string().contains("version \"2\""), "{err}");
        assert_eq!(read_metadata("m", None).unwrap_err().code(), "E_WEIGHTS");
    }
}
