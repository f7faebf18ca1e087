//! `output = activation(input · weightᵀ + bias)`: the encoder's linear layers, with the FFN's
//! activation fused into the store.

pub mod bench;
pub mod check;

use super::{activation_code, prelude, KernelShape};
use crate::quantize::{quantize_row, WEIGHT_LEVELS};
use crate::spec::HiddenAct;

uniform!(
    /// `input` rows × depth, `weight` cols × depth (PyTorch's layout), `output` rows × cols.
    MatmulShape { rows, cols, depth, padding }
);

impl MatmulShape {
    pub fn new(rows: usize, cols: usize, depth: usize) -> Self {
        MatmulShape { rows: rows as u32, cols: cols as u32, depth: depth as u32, padding: 0 }
    }
}

pub fn source(shape: &KernelShape, activation: Option<HiddenAct>) -> String {
    let q8_access = format!("const Q8_GROUP: u32 = {Q8_GROUP}u;\n{Q8_ACCESS}");
    let (enable, weight, access) = match (shape.q8_weights, shape.f16_weights) {
        (true, _) => ("", "u32", q8_access.as_str()),
        (false, true) => ("enable f16;\n", "f16", FLOAT_ACCESS),
        (false, false) => ("", "f32", FLOAT_ACCESS),
    };
    format!(
        "{enable}{}alias Weight = {weight};\nconst ACTIVATION: u32 = {}u;\n{}\n{}\n{access}",
        prelude::<MatmulShape>(),
        activation_code(activation),
        include_str!("../activations.wgsl"),
        include_str!("matmul.wgsl"),
    )
}

/// How the kernel reads float weights: one value each, no scale.
const FLOAT_ACCESS: &str = "fn weight_at(col: u32, k: u32) -> f32 { return f32(weight[col * shape.depth + k]); }
fn weight_scale(col: u32) -> f32 { return 1.0; }";

/// Inputs per q8 scale along a row: re-quantizing the CPU's rotated rows unrotated with one
/// scale per row left all-MiniLM-L6-v2 at mean cosine 0.99893 on WebGPU (bar 0.999).
pub const Q8_GROUP: usize = 32;

/// How it reads q8 weights (`pack_q8`): a row's int8 values four to a word, sign-extended, times
/// the scale of their group; the scales follow all rows.
const Q8_ACCESS: &str = "fn weight_at(col: u32, k: u32) -> f32 {
    let words = (shape.depth + 3u) / 4u;
    let q = extractBits(bitcast<i32>(weight[col * words + k / 4u]), (k % 4u) * 8u, 8u);
    let groups = (shape.depth + Q8_GROUP - 1u) / Q8_GROUP;
    return f32(q) * bitcast<f32>(weight[shape.cols * words + col * groups + k / Q8_GROUP]);
}
fn weight_scale(col: u32) -> f32 { return 1.0; }";

/// A row-major `rows × depth` f32 matrix quantized to int8 with one scale per `Q8_GROUP`
/// inputs of a row: the values (row-major) and the scales (`rows × ceil(depth / Q8_GROUP)`).
pub fn quantize_groups(values: &[f32], rows: usize, depth: usize) -> (Vec<i8>, Vec<f32>) {
    let groups = depth.div_ceil(Q8_GROUP);
    let mut quantized = vec![0i8; rows * depth];
    let mut scales = vec![0f32; rows * groups];
    for r in 0..rows {
        for g in 0..groups {
            let span = r * depth + g * Q8_GROUP..r * depth + ((g + 1) * Q8_GROUP).min(depth);
            scales[r * groups + g] = quantize_row(&values[span.clone()], WEIGHT_LEVELS, &mut quantized[span]);
        }
    }
    (quantized, scales)
}

/// `quantize_groups`' output as the q8 kernel reads it: each row's values four to a
/// little-endian u32 (the row padded with zeros to a whole word), then the scales as f32 bits.
pub fn pack_q8(values: &[i8], scales: &[f32], rows: usize, depth: usize) -> Vec<u8> {
    let words = depth.div_ceil(4);
    let mut out = vec![0u8; (rows * words + scales.len()) * 4];
    for (r, row) in values.chunks_exact(depth.max(1)).take(rows).enumerate() {
        for (k, &q) in row.iter().enumerate() {
            out[(r * words) * 4 + k] = q as u8;
        }
    }
    for (i, scale) in scales.iter().enumerate() {
        out[(rows * words + i) * 4..][..4].copy_from_slice(&scale.to_le_bytes());
    }
    out
}

/// Workgroup counts for a `rows × cols` output (32×32 tiles).
pub fn groups(rows: usize, cols: usize) -> (u32, u32) {
    (cols.div_ceil(32) as u32, rows.div_ceil(32) as u32)
}
