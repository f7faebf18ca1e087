//! A linear layer packed for this backend's matmul kernels, f32 or q8: every family's linear
//! layers (and Dense modules) run through it.

use super::matmul::PackedWeights;
use super::matmul_q8::PackedQ8;
use super::parallel;
use crate::model::LinearParameters;
use crate::quantize::Matrix;

/// A linear layer packed for its matmul kernel: f32, or q8 (int8 weights and activations).
pub enum PackedLinear {
    F32(PackedWeights),
    Q8(PackedQ8),
}

impl PackedLinear {
    pub fn pack(linear: LinearParameters) -> Self {
        match linear.weight {
            Matrix::F32(weight) => PackedLinear::F32(PackedWeights::pack(&weight, &linear.bias, linear.out_features, linear.in_features)),
            Matrix::Q8(weight) => PackedLinear::Q8(PackedQ8::pack(&weight, &linear.bias)),
        }
    }

    pub fn in_features(&self) -> usize {
        match self {
            PackedLinear::F32(p) => p.in_features,
            PackedLinear::Q8(p) => p.in_features,
        }
    }

    pub fn out_features(&self) -> usize {
        match self {
            PackedLinear::F32(p) => p.out_features,
            PackedLinear::Q8(p) => p.out_features,
        }
    }

    /// The layer back in PyTorch's layout, for another backend; no second copy is kept.
    pub fn unpack(&self) -> LinearParameters {
        let (weight, bias) = match self {
            PackedLinear::F32(p) => {
                let (weight, bias) = p.unpack();
                (Matrix::F32(weight), bias)
            }
            PackedLinear::Q8(p) => {
                let (weight, bias) = p.unpack();
                (Matrix::Q8(weight), bias)
            }
        };
        LinearParameters { weight, bias, out_features: self.out_features(), in_features: self.in_features() }
    }

    /// `x · Wᵀ + b` for `rows` rows of `x` (row-major), on this thread.
    pub fn apply_rows(&self, x: &[f32], rows: usize) -> Vec<f32> {
        match self {
            PackedLinear::F32(p) => p.apply(x, rows),
            PackedLinear::Q8(p) => p.apply(x, rows),
        }
    }

    /// `apply_rows` with parts of the rows at once: rows are independent (q8 quantizes each row
    /// on its own).
    pub fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        parallel::map_rows(x, rows, self.in_features(), self.out_features(), |x, rows| self.apply_rows(x, rows))
    }
}

impl PackedLinear {
    /// Whether the weights are q8.
    pub fn is_q8(&self) -> bool {
        matches!(self, PackedLinear::Q8(_))
    }
}
