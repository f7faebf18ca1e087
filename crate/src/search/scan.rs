//! The inner loop of a search: one query against every stored row. Integer rows use the same
//! exact-integer trick as the q8 matmul (`backend::cpu::matmul_q8`): the query is quantized to
//! 7 bits, so relaxed SIMD's i8 dot reads it the same on every CPU and every build returns the
//! same integers. Written by hand because the matmul kernel is tiled for many rows of `x` and
//! one query would leave most of its tile idle.

/// Bytes a stored int8 row is padded to, so the kernels read whole vectors.
pub const ROW_ALIGN: usize = 16;

/// An int8 query ready for `int8_dots`: its values (+`QUERY_OFFSET`), padded to the row stride.
pub struct Int8Query {
    pub values: Vec<i8>,
    pub scale: f32,
}

impl Int8Query {
    pub fn new(query: &[f32], stride: usize) -> Self {
        let mut values = vec![kernel::QUERY_OFFSET; stride];
        let scale = crate::quantize::quantize_row_offset(
            query,
            crate::quantize::ACTIVATION_LEVELS,
            kernel::QUERY_OFFSET,
            &mut values[..query.len()],
        );
        Int8Query { values, scale }
    }
}

/// `out[r] = Σ_i rows[r][i] · q[i]` for the quantized query `q` (exact integers), where `rows`
/// holds `out.len()` rows of `stride` bytes and `sums[r] = Σ_i rows[r][i]`.
pub fn int8_dots(rows: &[i8], stride: usize, query: &Int8Query, sums: &[i32], out: &mut [i32]) {
    assert!(
        rows.len() >= out.len() * stride && sums.len() >= out.len() && query.values.len() == stride && stride.is_multiple_of(ROW_ALIGN)
    );
    kernel::dots(rows, stride, &query.values, &sums[..out.len()], out);
}

/// `Σ a[i] · b[i]` in f32, eight lanes at a time (the compiler turns the lanes into SIMD).
pub fn f32_dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The scalar reference `int8_dots` must equal (for the kernel check).
pub fn reference_dots(rows: &[i8], stride: usize, query: &Int8Query, count: usize) -> Vec<i32> {
    (0..count)
        .map(|r| {
            let row = &rows[r * stride..(r + 1) * stride];
            row.iter().zip(&query.values).map(|(&v, &q)| v as i32 * (q as i32 - kernel::QUERY_OFFSET as i32)).sum()
        })
        .collect()
}

#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod kernel {
    use core::arch::wasm32::*;

    /// The query in [-63, 63] is stored +64, in [1, 127], which the dot's second operand reads
    /// the same signed or unsigned; 64 · Σ row comes back off.
    pub const QUERY_OFFSET: i8 = 64;
    const ROWS: usize = 4;

    pub fn dots(rows: &[i8], stride: usize, query: &[i8], sums: &[i32], out: &mut [i32]) {
        let groups = stride / 16;
        let mut r = 0;
        while r + ROWS <= out.len() {
            let mut acc = [i32x4_splat(0); ROWS];
            // SAFETY: rows holds out.len() · stride bytes and query stride bytes (asserted by the caller).
            unsafe {
                let base = rows.as_ptr().add(r * stride);
                for g in 0..groups {
                    let q = v128_load(query.as_ptr().add(16 * g) as *const v128);
                    for (i, acc) in acc.iter_mut().enumerate() {
                        let v = v128_load(base.add(i * stride + 16 * g) as *const v128);
                        *acc = i32x4_add(*acc, i32x4_extadd_pairwise_i16x8(i16x8_relaxed_dot_i8x16_i7x16(v, q)));
                    }
                }
            }
            for i in 0..ROWS {
                out[r + i] = horizontal_sum(acc[i]) - QUERY_OFFSET as i32 * sums[r + i];
            }
            r += ROWS;
        }
        for r in r..out.len() {
            let mut acc = i32x4_splat(0);
            unsafe {
                for g in 0..groups {
                    let q = v128_load(query.as_ptr().add(16 * g) as *const v128);
                    let v = v128_load(rows.as_ptr().add(r * stride + 16 * g) as *const v128);
                    acc = i32x4_add(acc, i32x4_extadd_pairwise_i16x8(i16x8_relaxed_dot_i8x16_i7x16(v, q)));
                }
            }
            out[r] = horizontal_sum(acc) - QUERY_OFFSET as i32 * sums[r];
        }
    }

    fn horizontal_sum(v: v128) -> i32 {
        i32x4_extract_lane::<0>(v) + i32x4_extract_lane::<1>(v) + i32x4_extract_lane::<2>(v) + i32x4_extract_lane::<3>(v)
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
mod kernel {
    pub const QUERY_OFFSET: i8 = 0;

    /// Sixteen i32 lanes per row: the compiler widens and multiplies them as SIMD (i16 dots on
    /// SIMD128).
    pub fn dots(rows: &[i8], stride: usize, query: &[i8], _sums: &[i32], out: &mut [i32]) {
        for (r, out) in out.iter_mut().enumerate() {
            let row = &rows[r * stride..(r + 1) * stride];
            let mut lanes = [0i32; 16];
            for (v, q) in row.chunks_exact(16).zip(query.chunks_exact(16)) {
                for i in 0..16 {
                    lanes[i] += v[i] as i32 * q[i] as i32;
                }
            }
            *out = lanes.iter().sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_dots_equal_the_scalar_reference() {
        for (count, dimension) in [(1usize, 7usize), (7, 33), (33, 384), (130, 130), (5, 1024)] {
            let stride = dimension.div_ceil(ROW_ALIGN) * ROW_ALIGN;
            let mut rows = vec![0i8; count * stride];
            let mut sums = vec![0i32; count];
            for r in 0..count {
                for i in 0..dimension {
                    let v = (((r * 131 + i * 71) % 255) as i32 - 127) as i8;
                    rows[r * stride + i] = v;
                    sums[r] += v as i32;
                }
            }
            let query: Vec<f32> = (0..dimension).map(|i| ((i * 37) % 19) as f32 - 9.0).collect();
            let query = Int8Query::new(&query, stride);
            let mut got = vec![0i32; count];
            int8_dots(&rows, stride, &query, &sums, &mut got);
            assert_eq!(got, reference_dots(&rows, stride, &query, count), "{count}×{dimension}");
        }
    }

    #[test]
    fn f32_dot_matches_a_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.25).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((f32_dot(&a, &b) - plain).abs() < 1e-3);
    }
}
