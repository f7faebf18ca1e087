//! The inner loop of a search: one query against every stored row. An int8 row is kept as two
//! planes of 4-bit nibbles (`v + 128 = 16 · high + low`), and the scan reads only the high plane:
//! half the bytes of int8, and the scan is bound by memory bandwidth. It only has to find the
//! candidates (the best documents of a 4-bit score), which `store` then scores again with whole
//! int8 rows. The query is the signed 8-bit operand of relaxed SIMD's i8 dot and the nibbles
//! (0..=15) the 7-bit one, so every CPU and build returns the same integers, and eight products
//! fit an i16 lane before widening. Written by hand because no wasm library scans 4-bit rows.

/// Dimensions a stored row is padded to: one kernel step is 16 plane bytes, 32 dimensions.
pub const ROW_ALIGN: usize = 32;
/// Largest |value| of the quantized query.
const QUERY_LEVELS: f32 = 127.0;

/// Where dimension `i` of a row lives in a plane: byte `(i / 32) · 16 + i % 16`, in the low
/// nibble for `i % 32 < 16`, else the high one; the kernel splits 16 bytes into two runs of 16
/// consecutive dimensions with one mask and one shift.
#[inline]
pub fn nibble_place(i: usize) -> (usize, u32) {
    ((i / 32) * 16 + i % 16, if i % 32 < 16 { 0 } else { 4 })
}

/// Splits an int8 row (padded with zeros to a multiple of `ROW_ALIGN`) into its high and low
/// nibble planes (half as many bytes each).
pub fn split_row(row: &[i8], high: &mut [u8], low: &mut [u8]) {
    for ((block, h), l) in row.chunks_exact(32).zip(high.chunks_exact_mut(16)).zip(low.chunks_exact_mut(16)) {
        for j in 0..16 {
            let (a, b) = ((block[j] as i32 + 128) as u8, (block[16 + j] as i32 + 128) as u8);
            h[j] = (a >> 4) | (b & 0xf0);
            l[j] = (a & 15) | (b << 4);
        }
    }
}

/// The int8 row (padded to a multiple of `ROW_ALIGN`) back from its planes.
pub fn join_row(high: &[u8], low: &[u8], row: &mut [i8]) {
    for ((block, h), l) in row.chunks_exact_mut(32).zip(high.chunks_exact(16)).zip(low.chunks_exact(16)) {
        for j in 0..16 {
            block[j] = ((((h[j] & 15) << 4) | (l[j] & 15)) as i32 - 128) as i8;
            block[16 + j] = (((h[j] & 0xf0) | (l[j] >> 4)) as i32 - 128) as i8;
        }
    }
}

/// A query ready for `nibble_dots`: its values in [-127, 127], padded with zeros to the row
/// width, their scale and their sum.
pub struct NibbleQuery {
    pub values: Vec<i8>,
    pub scale: f32,
    pub sum: i32,
}

impl NibbleQuery {
    pub fn new(query: &[f32], width: usize) -> Self {
        let mut values = vec![0i8; width];
        let scale = crate::quantize::quantize_row(query, QUERY_LEVELS, &mut values[..query.len()]);
        let sum = values.iter().map(|&v| v as i32).sum();
        NibbleQuery { values, scale, sum }
    }

    /// The 4-bit score of a row from its `nibble_dots` integer and its int8 scale: each low
    /// nibble taken as its mean, 7.5.
    #[inline]
    pub fn score(&self, dot: i32, row_scale: f32) -> f32 {
        (16.0 * dot as f32 - 120.5 * self.sum as f32) * self.scale * row_scale
    }
}

/// `out[r] = Σ_i high_r[i] · q[i]` (exact integers), where `plane` holds `out.len()` rows of
/// `width / 2` bytes (`width` a multiple of `ROW_ALIGN`) and `high_r[i]` is row r's nibble `i`.
pub fn nibble_dots(plane: &[u8], width: usize, query: &NibbleQuery, out: &mut [i32]) {
    assert!(width.is_multiple_of(ROW_ALIGN) && plane.len() >= out.len() * width / 2 && query.values.len() == width);
    kernel::dots(plane, width / 2, &query.values, out);
}

/// The scalar reference `nibble_dots` must equal (for the kernel checks).
pub fn reference_dots(plane: &[u8], width: usize, query: &NibbleQuery, count: usize) -> Vec<i32> {
    let bytes = width / 2;
    (0..count)
        .map(|r| {
            (0..width)
                .map(|i| {
                    let (byte, shift) = nibble_place(i);
                    ((plane[r * bytes + byte] >> shift) & 15) as i32 * query.values[i] as i32
                })
                .sum()
        })
        .collect()
}

/// Runs this build's scan kernel against `reference_dots` on awkward shapes; returns one line per
/// shape whose integers differ (none when the kernel is right).
pub fn check_kernel() -> Vec<String> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut failures = Vec::new();
    for (count, dimension) in [(1usize, 7usize), (7, 33), (33, 384), (130, 130), (5, 1024), (9, 1536)] {
        let width = dimension.div_ceil(ROW_ALIGN) * ROW_ALIGN;
        // Extremes included: every nibble 15 against a query of 127s is the largest i16 sum.
        let plane: Vec<u8> = (0..count * width / 2).map(|i| if i % 97 < 20 { 0xff } else { next() as u8 }).collect();
        let values: Vec<f32> = (0..dimension).map(|i| if i % 5 == 0 { 1.0 } else { (next() % 2001) as f32 / 1000.0 - 1.0 }).collect();
        let query = NibbleQuery::new(&values, width);
        let mut got = vec![0i32; count];
        nibble_dots(&plane, width, &query, &mut got);
        let want = reference_dots(&plane, width, &query, count);
        let wrong = got.iter().zip(&want).filter(|(g, w)| g != w).count();
        if wrong > 0 {
            failures.push(format!("{count} rows × {dimension}: {wrong} integers differ"));
        }
    }
    failures
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

#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod kernel {
    use core::arch::wasm32::*;

    const ROWS: usize = 4;
    /// Steps (16 plane bytes, two i16 dots) summed in i16 before widening: each dot lane is at
    /// most 2 · 15 · 127 = 3810, and 4 steps add 8 of them, 30 480 < 2^15.
    const STEPS_PER_WIDEN: usize = 4;

    pub fn dots(plane: &[u8], bytes: usize, query: &[i8], out: &mut [i32]) {
        // Built once and hidden from the optimizer: as an inline constant V8 rebuilds it per use.
        let mask = core::hint::black_box(u8x16_splat(15));
        // The widen as pmaddwd by ones from a register (extadd_pairwise reloads them: matmul_q8.rs).
        let ones = core::hint::black_box(i16x8_splat(1));
        let steps = bytes / 16;
        let mut r = 0;
        while r < out.len() {
            let rows = ROWS.min(out.len() - r);
            let mut acc = [i32x4_splat(0); ROWS];
            let mut step = 0;
            while step < steps {
                let end = (step + STEPS_PER_WIDEN).min(steps);
                let mut acc16 = [i16x8_splat(0); ROWS];
                for s in step..end {
                    // SAFETY: s < bytes / 16 and the caller asserted plane and query lengths.
                    unsafe {
                        let q_low = v128_load(query.as_ptr().add(32 * s) as *const v128);
                        let q_high = v128_load(query.as_ptr().add(32 * s + 16) as *const v128);
                        for (i, acc16) in acc16.iter_mut().enumerate().take(rows) {
                            let x = v128_load(plane.as_ptr().add((r + i) * bytes + 16 * s) as *const v128);
                            let low = v128_and(x, mask);
                            let high = v128_and(u16x8_shr(x, 4), mask);
                            *acc16 = i16x8_add(*acc16, i16x8_relaxed_dot_i8x16_i7x16(q_low, low));
                            *acc16 = i16x8_add(*acc16, i16x8_relaxed_dot_i8x16_i7x16(q_high, high));
                        }
                    }
                }
                for i in 0..rows {
                    acc[i] = i32x4_add(acc[i], i32x4_dot_i16x8(acc16[i], ones));
                }
                step = end;
            }
            for i in 0..rows {
                let v = acc[i];
                out[r + i] =
                    i32x4_extract_lane::<0>(v) + i32x4_extract_lane::<1>(v) + i32x4_extract_lane::<2>(v) + i32x4_extract_lane::<3>(v);
            }
            r += rows;
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
mod kernel {
    /// Sixteen i32 lanes per half step: the compiler widens and multiplies them as SIMD.
    pub fn dots(plane: &[u8], bytes: usize, query: &[i8], out: &mut [i32]) {
        for (r, out) in out.iter_mut().enumerate() {
            let row = &plane[r * bytes..(r + 1) * bytes];
            let mut lanes = [0i32; 16];
            for (x, q) in row.chunks_exact(16).zip(query.chunks_exact(32)) {
                for i in 0..16 {
                    lanes[i] += (x[i] & 15) as i32 * q[i] as i32 + (x[i] >> 4) as i32 * q[16 + i] as i32;
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
    fn nibble_dots_equal_the_scalar_reference() {
        assert_eq!(check_kernel(), Vec::<String>::new());
    }

    #[test]
    fn planes_give_every_int8_value_back() {
        let row: Vec<i8> = (0..64).map(|i| (i * 4 - 127).clamp(-127, 127) as i8).chain([-127, 127, 0, -1]).collect();
        let mut padded = row.clone();
        padded.resize(96, 0);
        let (mut high, mut low) = (vec![0u8; 48], vec![0u8; 48]);
        split_row(&padded, &mut high, &mut low);
        let mut back = vec![0i8; 96];
        join_row(&high, &low, &mut back);
        assert_eq!(back, padded);
        // The high plane holds each value's high nibble where `nibble_place` says.
        for (i, &v) in padded.iter().enumerate() {
            let (byte, shift) = nibble_place(i);
            assert_eq!((high[byte] >> shift) & 15, (v as i32 + 128) as u8 >> 4, "dimension {i}");
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
