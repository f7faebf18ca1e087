//! `y = x · Wᵀ + b` with q8 weights (`crate::quantize`): each row of `x` is quantized to 7 bits,
//! the integer dot products run on SIMD, and `y = acc · scale_x · scale_w + b`. The accumulations
//! are exact (|acc| ≤ K · 127 · 63 < 2^24, so even its f32 conversion is), so the relaxed-SIMD
//! build, the SIMD128 build and native code give identical results; `check_kernel` proves it
//! against a scalar reference on every build (natively in `cargo test`, in wasm from Chromium).
//!
//! Written by hand because no wasm int8 GEMM exists to reuse: relaxed SIMD's i8 dot does 16
//! multiply-adds per instruction where the f32 kernel's FMA does 4.

use std::mem::MaybeUninit;

use super::matmul::unzeroed_output;
use crate::quantize::{quantize_row_offset, QuantizedRows, Rotation, ACTIVATION_LEVELS};

/// Outputs per packed panel.
pub const PANEL: usize = 8;
/// Inputs per group: the four bytes one i32 lane of a dot product sums.
const GROUP: usize = 4;
/// Rows of `x` per cache block, so a block stays in L2 while every panel of `W` streams past it.
const BLOCK_ROWS: usize = 96;

/// A q8 weight matrix `out × in` as `ceil(out / 8)` panels; a panel holds, for each group of four
/// inputs, the 8 outputs' 4 bytes in order (`[group][output][4]`), zero-padded.
pub struct PackedQ8 {
    pub out_features: usize,
    pub in_features: usize,
    groups: usize,
    panels: Vec<i8>,
    /// Row scales and bias, padded to whole panels.
    scales: Vec<f32>,
    bias: Vec<f32>,
    /// Σ_k q[o][k] per output: the relaxed kernel adds 64 to every activation and takes
    /// 64 · sum back off.
    sums: Vec<i32>,
    /// Weights stored rotated (`quantize::rotate`): inputs are rotated the same way.
    rotated: bool,
    rotation: Option<Rotation>,
}

impl PackedQ8 {
    pub fn pack(weight: &QuantizedRows, bias: &[f32]) -> Self {
        let (n, k) = (weight.rows, weight.cols);
        assert_eq!(bias.len(), n);
        let groups = k.div_ceil(GROUP);
        let panel_count = n.div_ceil(PANEL);
        let panel_len = groups * PANEL * GROUP;
        let mut panels = vec![0i8; panel_count * panel_len];
        let mut sums = vec![0i32; panel_count * PANEL];
        for (o, sum) in sums.iter_mut().enumerate().take(n) {
            let base = (o / PANEL) * panel_len + (o % PANEL) * GROUP;
            for (i, &q) in weight.values[o * k..(o + 1) * k].iter().enumerate() {
                panels[base + (i / GROUP) * PANEL * GROUP + i % GROUP] = q;
                *sum += q as i32;
            }
        }
        let mut scales = weight.scales.clone();
        scales.resize(panel_count * PANEL, 0.0);
        let mut padded_bias = bias.to_vec();
        padded_bias.resize(panel_count * PANEL, 0.0);
        let rotation = weight.rotated.then(|| Rotation::new(k));
        PackedQ8 { out_features: n, in_features: k, groups, panels, scales, bias: padded_bias, sums, rotated: weight.rotated, rotation }
    }

    /// The weight back as rows (for uploading to another backend or writing a q8 file), and the bias.
    pub fn unpack(&self) -> (QuantizedRows, Vec<f32>) {
        let (n, k) = (self.out_features, self.in_features);
        let panel_len = self.groups * PANEL * GROUP;
        let mut values = vec![0i8; n * k];
        for o in 0..n {
            let base = (o / PANEL) * panel_len + (o % PANEL) * GROUP;
            for i in 0..k {
                values[o * k + i] = self.panels[base + (i / GROUP) * PANEL * GROUP + i % GROUP];
            }
        }
        let weight = QuantizedRows { rows: n, cols: k, values, scales: self.scales[..n].to_vec(), rotated: self.rotated };
        (weight, self.bias[..n].to_vec())
    }

    /// For quantized rows `xq` (row stride `groups · 4`) with their scales, calls
    /// `store(row, first_output, products)` with each tile's integer dot products
    /// `Σ_k q[o][k] · xq[r][k]` (at most `PANEL` of them per call).
    fn for_each_tile(&self, xq: &[i8], rows: usize, mut store: impl FnMut(usize, usize, &[i32])) {
        let (n, stride) = (self.out_features, self.groups * GROUP);
        let panel_len = self.groups * PANEL * GROUP;
        for block in (0..rows).step_by(BLOCK_ROWS) {
            let block_end = (block + BLOCK_ROWS).min(rows);
            for (p, panel) in self.panels.chunks_exact(panel_len).enumerate() {
                let col = p * PANEL;
                let width = PANEL.min(n - col);
                let sums = &self.sums[col..col + PANEL];
                let mut row = block;
                while row < block_end {
                    let count = kernel::ROWS.min(block_end - row);
                    let tile = kernel::tile(&xq[row * stride..], stride, count, panel, sums);
                    for (r, products) in tile.iter().take(count).enumerate() {
                        store(row + r, col, &products[..width]);
                    }
                    row += count;
                }
            }
        }
    }

    /// The integer dot products alone, `rows × out` row-major (for the kernel check).
    fn integer_products(&self, xq: &[i8], rows: usize) -> Vec<i32> {
        let n = self.out_features;
        let mut out = vec![0i32; rows * n];
        self.for_each_tile(xq, rows, |row, col, products| out[row * n + col..row * n + col + products.len()].copy_from_slice(products));
        out
    }

    /// Each row of `x` rotated when the weights are, then quantized to 7 bits plus the kernel's
    /// offset (row stride `groups · 4`, zero-padded), with its scale.
    fn quantize_input(&self, x: &[f32], rows: usize) -> (Vec<i8>, Vec<f32>) {
        let (k, stride) = (self.in_features, self.groups * GROUP);
        let mut xq = vec![0i8; rows * stride];
        let mut scales = vec![0f32; rows];
        let (mut work, mut scratch) = (vec![0f32; k], vec![0f32; k]);
        for r in 0..rows {
            let mut row = &x[r * k..(r + 1) * k];
            if let Some(rotation) = &self.rotation {
                row = rotation.apply(row, &mut work, &mut scratch);
            }
            let out = &mut xq[r * stride..r * stride + k];
            scales[r] = quantize_row_offset(row, ACTIVATION_LEVELS, kernel::ACTIVATION_OFFSET, out);
        }
        (xq, scales)
    }

    /// `x` is row-major `rows × in`; returns row-major `rows × out`.
    pub fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.in_features);
        let n = self.out_features;
        let (xq, x_scales) = self.quantize_input(x, rows);
        let fill = |y: &mut [MaybeUninit<f32>]| {
            self.for_each_tile(&xq, rows, |row, col, products| {
                let out = &mut y[row * n + col..row * n + col + products.len()];
                let (scales, bias) = (&self.scales[col..col + PANEL], &self.bias[col..col + PANEL]);
                let value = |i: usize, p: i32| p as f32 * (x_scales[row] * scales[i]) + bias[i];
                if let (Ok(out), Ok(products)) =
                    (<&mut [MaybeUninit<f32>; PANEL]>::try_from(&mut *out), <&[i32; PANEL]>::try_from(products))
                {
                    // Whole panels in fixed-size arrays, so the compiler vectorizes the epilogue.
                    for i in 0..PANEL {
                        out[i].write(value(i, products[i]));
                    }
                } else {
                    for (i, (o, &p)) in out.iter_mut().zip(products).enumerate() {
                        o.write(value(i, p));
                    }
                }
            });
        };
        // SAFETY: `for_each_tile` hands every (row, output) to its `store` (blocks cover rows
        // 0..rows, panels outputs 0..n), so `fill` writes every element.
        unsafe { unzeroed_output(rows * n, fill) }
    }
}

/// Runs this build's integer kernel against a scalar reference on every M, N, K in `sizes`;
/// returns one line per shape whose integers differ (none when the kernel is right).
pub fn check_kernel(sizes: &[usize]) -> Vec<String> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |levels: i64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state % (2 * levels as u64 + 1)) as i64 - levels) as i8
    };
    let mut failures = Vec::new();
    for &m in sizes {
        for &n in sizes {
            for &k in sizes {
                let values: Vec<i8> = (0..n * k).map(|_| next(127)).collect();
                let weight = QuantizedRows { rows: n, cols: k, values, scales: vec![1.0; n], rotated: false };
                let packed = PackedQ8::pack(&weight, &vec![0.0; n]);
                let stride = packed.groups * GROUP;
                let mut xq = vec![0i8; m * stride];
                for r in 0..m {
                    for i in 0..k {
                        xq[r * stride + i] = next(ACTIVATION_LEVELS as i64);
                    }
                }
                let offset: Vec<i8> =
                    xq.iter().enumerate().map(|(i, &q)| if i % stride < k { q + kernel::ACTIVATION_OFFSET } else { 0 }).collect();
                let got = packed.integer_products(&offset, m);
                let mismatches = (0..m * n)
                    .filter(|&i| {
                        let (r, o) = (i / n, i % n);
                        let expected: i32 = (0..k).map(|j| weight.values[o * k + j] as i32 * xq[r * stride + j] as i32).sum();
                        got[i] != expected
                    })
                    .count();
                if mismatches > 0 {
                    failures.push(format!("M={m} N={n} K={k}: {mismatches} of {} integers differ", m * n));
                }
            }
        }
    }
    failures
}

#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod kernel {
    use core::arch::wasm32::*;

    use super::{GROUP, PANEL};

    pub const ROWS: usize = 4;
    const _: () = assert!(ROWS == 4, "tile() has one arm per row count");
    /// Activations in [-63, 63] are stored +64, in [1, 127], where the dot's second operand
    /// reads the same signed or unsigned on every CPU.
    pub const ACTIVATION_OFFSET: i8 = 64;

    #[inline(always)]
    pub fn tile(x: &[i8], stride: usize, rows: usize, panel: &[i8], sums: &[i32]) -> [[i32; PANEL]; ROWS] {
        match rows {
            4 => tile_n::<4>(x, stride, panel, sums),
            3 => tile_n::<3>(x, stride, panel, sums),
            2 => tile_n::<2>(x, stride, panel, sums),
            _ => tile_n::<1>(x, stride, panel, sums),
        }
    }

    /// One i16 dot (pmaddubsw on x86) then a widen by `i32x4.dot_i16x8` with ones (pmaddwd)
    /// instead of `i32x4.relaxed_dot_i8x16_i7x16_add`: without VNNI, V8 rebuilds that
    /// instruction's constant on every use, 5 instructions where these are 3. The ones stay in a
    /// register: `i32x4.extadd_pairwise_i16x8_s`, the same pmaddwd, loads its ones through an
    /// address V8 materializes at every use (measured 40 → 62 GOP/s, bench/cpu-matmul.mjs).
    /// The i16 pair sums cannot saturate: |w · a + w' · a'| ≤ 2 · 127 · 127 < 2^15.
    #[inline(always)]
    fn dot_add(w: v128, a: v128, acc: v128, ones: v128) -> v128 {
        i32x4_add(acc, i32x4_dot_i16x8(i16x8_relaxed_dot_i8x16_i7x16(w, a), ones))
    }

    #[inline(always)]
    fn tile_n<const R: usize>(x: &[i8], stride: usize, panel: &[i8], sums: &[i32]) -> [[i32; PANEL]; ROWS] {
        assert!(x.len() >= R * stride && panel.len() == stride * PANEL && sums.len() == PANEL);
        let mut lo = [i32x4_splat(0); R];
        let mut hi = [i32x4_splat(0); R];
        let (xp, wp) = (x.as_ptr(), panel.as_ptr());
        let ones = core::hint::black_box(i16x8_splat(1));
        for g in 0..stride / GROUP {
            // SAFETY: g < stride / 4, and the asserts bound every row and the panel.
            unsafe {
                let w0 = v128_load(wp.add(g * PANEL * GROUP) as *const v128);
                let w1 = v128_load(wp.add(g * PANEL * GROUP + 16) as *const v128);
                for r in 0..R {
                    let a = v128_load32_splat(xp.add(r * stride + g * GROUP) as *const u32);
                    lo[r] = dot_add(w0, a, lo[r], ones);
                    hi[r] = dot_add(w1, a, hi[r], ones);
                }
            }
        }
        let mut out = [[0i32; PANEL]; ROWS];
        for r in 0..R {
            unsafe {
                v128_store(out[r].as_mut_ptr() as *mut v128, lo[r]);
                v128_store(out[r].as_mut_ptr().add(4) as *mut v128, hi[r]);
            }
            for (value, sum) in out[r].iter_mut().zip(sums) {
                *value -= ACTIVATION_OFFSET as i32 * sum;
            }
        }
        out
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(target_feature = "relaxed-simd")))]
mod kernel {
    use core::arch::wasm32::*;

    use super::{GROUP, PANEL};

    /// Two rows: each holds four accumulators (two outputs each), so 8 stay in registers.
    pub const ROWS: usize = 2;
    pub const ACTIVATION_OFFSET: i8 = 0;

    #[inline(always)]
    pub fn tile(x: &[i8], stride: usize, rows: usize, panel: &[i8], _sums: &[i32]) -> [[i32; PANEL]; ROWS] {
        match rows {
            2 => tile_n::<2>(x, stride, panel),
            _ => tile_n::<1>(x, stride, panel),
        }
    }

    #[inline(always)]
    fn tile_n<const R: usize>(x: &[i8], stride: usize, panel: &[i8]) -> [[i32; PANEL]; ROWS] {
        assert!(x.len() >= R * stride && panel.len() == stride * PANEL);
        // acc[r][j]: outputs 2j and 2j+1 of the panel, two partial sums each.
        let mut acc = [[i32x4_splat(0); 4]; R];
        let (xp, wp) = (x.as_ptr(), panel.as_ptr());
        for g in 0..stride / GROUP {
            // SAFETY: g < stride / 4, and the assert bounds every row and the panel.
            unsafe {
                let w0 = v128_load(wp.add(g * PANEL * GROUP) as *const v128);
                let w1 = v128_load(wp.add(g * PANEL * GROUP + 16) as *const v128);
                let w = [i16x8_extend_low_i8x16(w0), i16x8_extend_high_i8x16(w0), i16x8_extend_low_i8x16(w1), i16x8_extend_high_i8x16(w1)];
                for (r, row_acc) in acc.iter_mut().enumerate() {
                    // The group's four activations, twice, as i16: one per output of a pair.
                    let a = i16x8_extend_low_i8x16(v128_load32_splat(xp.add(r * stride + g * GROUP) as *const u32));
                    for (sum, &weights) in row_acc.iter_mut().zip(&w) {
                        *sum = i32x4_add(*sum, i32x4_dot_i16x8(weights, a));
                    }
                }
            }
        }
        let mut out = [[0i32; PANEL]; ROWS];
        for r in 0..R {
            for j in 0..4 {
                let mut lanes = [0i32; 4];
                unsafe { v128_store(lanes.as_mut_ptr() as *mut v128, acc[r][j]) };
                out[r][2 * j] = lanes[0] + lanes[1];
                out[r][2 * j + 1] = lanes[2] + lanes[3];
            }
        }
        out
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod kernel {
    use super::{GROUP, PANEL};

    pub const ROWS: usize = 4;
    pub const ACTIVATION_OFFSET: i8 = 0;

    /// Portable integer tile; the compiler vectorizes it.
    pub fn tile(x: &[i8], stride: usize, rows: usize, panel: &[i8], _sums: &[i32]) -> [[i32; PANEL]; ROWS] {
        let mut out = [[0i32; PANEL]; ROWS];
        for r in 0..rows {
            let xr = &x[r * stride..(r + 1) * stride];
            for (g, block) in panel.chunks_exact(PANEL * GROUP).enumerate() {
                let xg = &xr[g * GROUP..(g + 1) * GROUP];
                for (lane, w) in block.chunks_exact(GROUP).enumerate() {
                    out[r][lane] += w.iter().zip(xg).map(|(&w, &a)| w as i32 * a as i32).sum::<i32>();
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::matmul::PackedWeights;

    #[test]
    fn the_integer_kernel_equals_the_scalar_reference_on_awkward_shapes() {
        let failures = check_kernel(&[1, 7, 33, 130, 384]);
        assert!(failures.is_empty(), "{failures:?}");
    }

    #[test]
    fn pack_then_unpack_gives_the_rows_back() {
        let values: Vec<f32> = (0..13 * 19).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
        let rows = QuantizedRows::from_f32(&values, 13, 19, true);
        let bias: Vec<f32> = (0..13).map(|i| i as f32).collect();
        let (back, back_bias) = PackedQ8::pack(&rows, &bias).unpack();
        assert_eq!(back, rows);
        assert_eq!(back_bias, bias);
    }

    #[test]
    fn q8_stays_close_to_f32() {
        let (rows, out, inp) = (33, 130, 384);
        let noise =
            |n: usize, seed: usize| -> Vec<f32> { (0..n).map(|i| (((i + seed) * 2654435761) % 2001) as f32 / 1000.0 - 1.0).collect() };
        let (x, w, b) = (noise(rows * inp, 1), noise(out * inp, 2), noise(out, 3));
        let exact = PackedWeights::pack(&w, &b, out, inp).apply(&x, rows);
        let q8 = PackedQ8::pack(&QuantizedRows::from_f32(&w, out, inp, true), &b).apply(&x, rows);
        let (mut dot, mut ee, mut qq) = (0f64, 0f64, 0f64);
        for (e, q) in exact.iter().zip(&q8) {
            dot += (*e as f64) * (*q as f64);
            ee += (*e as f64).powi(2);
            qq += (*q as f64).powi(2);
        }
        let cosine = dot / (ee * qq).sqrt();
        assert!(cosine > 0.999, "cosine {cosine}");
    }
}
