//! `output = activation(input · weightᵀ + bias)`: the encoder's linear layers, with the FFN's
//! activation fused into the store.

pub mod bench;
pub mod check;

use super::{activation_code, prelude, KernelShape};
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
    let (enable, weight) = if shape.f16_weights { ("enable f16;\n", "f16") } else { ("", "f32") };
    format!(
        "{enable}{}alias Weight = {weight};\nconst ACTIVATION: u32 = {}u;\n{}\n{}",
        prelude::<MatmulShape>(),
        activation_code(activation),
        include_str!("../activations.wgsl"),
        include_str!("matmul.wgsl"),
    )
}

/// Workgroup counts for a `rows × cols` output (32×32 tiles).
pub fn groups(rows: usize, cols: usize) -> (u32, u32) {
    (cols.div_ceil(32) as u32, rows.div_ceil(32) as u32)
}
