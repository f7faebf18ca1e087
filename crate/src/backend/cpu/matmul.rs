//! `y = x · Wᵀ + b` for the encoder's linear layers, on weights packed once at load time.
//!
//! Written by hand rather than through candle's `gemm` because `gemm`'s WebAssembly kernel
//! multiplies and adds separately; with relaxed SIMD the same tile runs on fused multiply-adds,
//! which is what lets the wasm CPU path outrun onnxruntime-web (see bench/).

use std::mem::MaybeUninit;

/// Output columns per packed panel: two 4-lane vectors.
pub const PANEL: usize = 8;
/// Rows of `x` per micro-tile: 4 rows × 2 vectors = 8 accumulators. V8 keeps two of the 16 xmm
/// registers for itself; 5 or 6 rows spill and run 20–25% slower (measured in Chromium 156).
const ROWS: usize = 4;
/// Rows of `x` per cache block, so a block stays in L2 while every panel of `W` streams past it.
const BLOCK_ROWS: usize = 96;

/// A `len`-long matmul output, handed to `fill` uninitialised: the matmuls write every output of
/// every tile once, so zeroing it first (2% of a q8 encode) bought nothing.
///
/// # Safety
/// `fill` must write every one of the `len` elements.
pub unsafe fn unzeroed_output(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    fill(&mut out.spare_capacity_mut()[..len]);
    // SAFETY: the caller's `fill` initialised all `len` elements.
    unsafe { out.set_len(len) };
    out
}

/// A weight matrix `out × in` stored as `ceil(out / 8)` panels of `in × 8`, zero-padded.
pub struct PackedWeights {
    pub out_features: usize,
    pub in_features: usize,
    panels: Vec<f32>,
    /// Bias padded to a whole number of panels.
    bias: Vec<f32>,
}

impl PackedWeights {
    /// `weight` is row-major `out × in` (PyTorch's `Linear.weight`).
    pub fn pack(weight: &[f32], bias: &[f32], out_features: usize, in_features: usize) -> Self {
        assert_eq!(weight.len(), out_features * in_features);
        assert_eq!(bias.len(), out_features);
        let panel_count = out_features.div_ceil(PANEL);
        let mut panels = vec![0f32; panel_count * in_features * PANEL];
        for o in 0..out_features {
            let (panel, lane) = (o / PANEL, o % PANEL);
            let base = panel * in_features * PANEL;
            for k in 0..in_features {
                panels[base + k * PANEL + lane] = weight[o * in_features + k];
            }
        }
        let mut padded_bias = bias.to_vec();
        padded_bias.resize(panel_count * PANEL, 0.0);
        PackedWeights { out_features, in_features, panels, bias: padded_bias }
    }

    /// Packs a matrix given as row-major `in × out` (the transpose of `pack`'s layout), without bias.
    pub fn pack_transposed(matrix: &[f32], in_features: usize, out_features: usize) -> Self {
        assert_eq!(matrix.len(), out_features * in_features);
        let panel_count = out_features.div_ceil(PANEL);
        let mut panels = vec![0f32; panel_count * in_features * PANEL];
        for k in 0..in_features {
            for o in 0..out_features {
                panels[(o / PANEL) * in_features * PANEL + k * PANEL + o % PANEL] = matrix[k * out_features + o];
            }
        }
        PackedWeights { out_features, in_features, panels, bias: vec![0.0; panel_count * PANEL] }
    }

    /// The weight back in PyTorch's `out × in` layout, and the bias: what the WebGPU backend
    /// uploads, so neither backend keeps a second unpacked copy.
    pub fn unpack(&self) -> (Vec<f32>, Vec<f32>) {
        let (n, k_len) = (self.out_features, self.in_features);
        let mut weight = vec![0f32; n * k_len];
        for o in 0..n {
            let base = (o / PANEL) * k_len * PANEL + o % PANEL;
            for k in 0..k_len {
                weight[o * k_len + k] = self.panels[base + k * PANEL];
            }
        }
        (weight, self.bias[..n].to_vec())
    }

    /// `x` is row-major `rows × in`; returns row-major `rows × out`.
    pub fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let (k_len, n) = (self.in_features, self.out_features);
        assert_eq!(x.len(), rows * k_len);
        let panel_len = k_len * PANEL;
        let fill = |y: &mut [MaybeUninit<f32>]| {
            for block in (0..rows).step_by(BLOCK_ROWS) {
                let block_end = (block + BLOCK_ROWS).min(rows);
                for (p, panel) in self.panels.chunks_exact(panel_len).enumerate() {
                    let bias = &self.bias[p * PANEL..(p + 1) * PANEL];
                    let col = p * PANEL;
                    let width = PANEL.min(n - col);
                    let mut row = block;
                    while row < block_end {
                        let count = ROWS.min(block_end - row);
                        let tile = kernel::tile(&x[row * k_len..], k_len, count, panel, bias);
                        for r in 0..count {
                            let out = &mut y[(row + r) * n + col..(row + r) * n + col + width];
                            // A whole panel as one fixed-size array: two vector stores.
                            match <&mut [MaybeUninit<f32>; PANEL]>::try_from(&mut *out) {
                                Ok(out) => *out = tile[r].map(MaybeUninit::new),
                                Err(_) => out.iter_mut().zip(&tile[r]).for_each(|(o, &v)| _ = o.write(v)),
                            }
                        }
                        row += count;
                    }
                }
            }
        };
        // SAFETY: the blocks cover rows 0..rows and the panels outputs 0..n (the last one's
        // `width` stops at n), so `fill` writes every element.
        unsafe { unzeroed_output(rows * n, fill) }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod kernel {
    use core::arch::wasm32::*;

    use super::{PANEL, ROWS};

    #[inline(always)]
    fn madd(a: v128, b: v128, c: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        {
            f32x4_relaxed_madd(a, b, c)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            f32x4_add(f32x4_mul(a, b), c)
        }
    }

    // `tile` has one arm per row count up to ROWS.
    const _: () = assert!(ROWS == 4);

    /// Up to `ROWS` rows of `x` (row stride `k_len`) times one panel, plus bias.
    #[inline(always)]
    pub fn tile(x: &[f32], k_len: usize, rows: usize, panel: &[f32], bias: &[f32]) -> [[f32; PANEL]; ROWS] {
        match rows {
            4 => tile_n::<4>(x, k_len, panel, bias),
            3 => tile_n::<3>(x, k_len, panel, bias),
            2 => tile_n::<2>(x, k_len, panel, bias),
            _ => tile_n::<1>(x, k_len, panel, bias),
        }
    }

    #[inline(always)]
    fn tile_n<const R: usize>(x: &[f32], k_len: usize, panel: &[f32], bias: &[f32]) -> [[f32; PANEL]; ROWS] {
        assert!(x.len() >= (R - 1) * k_len + k_len && panel.len() == k_len * PANEL && bias.len() == PANEL);
        let b0 = unsafe { v128_load(bias.as_ptr() as *const v128) };
        let b1 = unsafe { v128_load(bias.as_ptr().add(4) as *const v128) };
        let mut lo = [b0; R];
        let mut hi = [b1; R];
        let xp = x.as_ptr();
        let wp = panel.as_ptr();
        for k in 0..k_len {
            // SAFETY: k < k_len and the asserts above bound every row and the panel.
            unsafe {
                let w0 = v128_load(wp.add(k * PANEL) as *const v128);
                let w1 = v128_load(wp.add(k * PANEL + 4) as *const v128);
                for r in 0..R {
                    let a = v128_load32_splat(xp.add(r * k_len + k) as *const u32);
                    lo[r] = madd(a, w0, lo[r]);
                    hi[r] = madd(a, w1, hi[r]);
                }
            }
        }
        let mut out = [[0f32; PANEL]; ROWS];
        for r in 0..R {
            unsafe {
                v128_store(out[r].as_mut_ptr() as *mut v128, lo[r]);
                v128_store(out[r].as_mut_ptr().add(4) as *mut v128, hi[r]);
            }
        }
        out
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod kernel {
    use super::{PANEL, ROWS};

    /// Portable tile with the same summation order as the SIMD one; the compiler vectorizes it.
    pub fn tile(x: &[f32], k_len: usize, rows: usize, panel: &[f32], bias: &[f32]) -> [[f32; PANEL]; ROWS] {
        let mut out = [[0f32; PANEL]; ROWS];
        for r in 0..rows {
            let acc = &mut out[r];
            acc.copy_from_slice(bias);
            let xr = &x[r * k_len..(r + 1) * k_len];
            for (k, w) in panel.chunks_exact(PANEL).enumerate() {
                let a = xr[k];
                for lane in 0..PANEL {
                    acc[lane] += a * w[lane];
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(x: &[f32], w: &[f32], b: &[f32], rows: usize, out: usize, inp: usize) -> Vec<f64> {
        let mut y = vec![0f64; rows * out];
        for r in 0..rows {
            for o in 0..out {
                let mut s = b[o] as f64;
                for k in 0..inp {
                    s += x[r * inp + k] as f64 * w[o * inp + k] as f64;
                }
                y[r * out + o] = s;
            }
        }
        y
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn pack_transposed_equals_pack_of_the_transpose() {
        let (inp, out, rows) = (13, 19, 5);
        let w = values(out * inp, 4);
        let mut wt = vec![0f32; inp * out];
        for o in 0..out {
            for k in 0..inp {
                wt[k * out + o] = w[o * inp + k];
            }
        }
        let x = values(rows * inp, 5);
        let a = PackedWeights::pack(&w, &vec![0.0; out], out, inp).apply(&x, rows);
        let b = PackedWeights::pack_transposed(&wt, inp, out).apply(&x, rows);
        assert_eq!(a, b);
    }

    #[test]
    fn matches_f64_reference_on_awkward_shapes() {
        for &(rows, out, inp) in &[(1, 1, 1), (7, 33, 130), (33, 7, 384), (130, 384, 33), (97, 1536, 7), (6, 8, 1536), (200, 17, 64)] {
            let x = values(rows * inp, 1);
            let w = values(out * inp, 2);
            let b = values(out, 3);
            let got = PackedWeights::pack(&w, &b, out, inp).apply(&x, rows);
            let want = reference(&x, &w, &b, rows, out, inp);
            for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                let tolerance = 1e-5 * (inp as f64).sqrt() * (1.0 + r.abs());
                assert!((*g as f64 - r).abs() <= tolerance, "shape {rows}×{out}×{inp}, index {i}: {g} vs {r}");
            }
        }
    }
}
