//! The pre-norm families' residual step (see `residual_norm.wgsl`): add a block's output to the
//! residual stream (normalized first where the model says), and normalize the result for the
//! next block, in one pass over each token.

pub mod check;

use super::{float, prelude, KernelShape};

uniform!(
    /// `tokens` rows; `flags` of `ACCUMULATE`, `NORM_SOURCE`, `NORM_OUT`.
    ResidualNormShape { tokens, flags, padding0, padding1 }
);

/// Add the source to the residual (else the residual becomes the source).
pub const ACCUMULATE: u32 = 1;
/// Normalize the source (with the source norm) before it joins the residual.
pub const NORM_SOURCE: u32 = 2;
/// Write the normalized residual (with the output norm) to `normed` (else the residual itself).
pub const NORM_OUT: u32 = 4;

impl ResidualNormShape {
    pub fn new(tokens: usize, flags: u32) -> Self {
        ResidualNormShape { tokens: tokens as u32, flags, ..Default::default() }
    }
}

pub fn source(shape: &KernelShape) -> String {
    format!(
        "{}const HIDDEN: u32 = {}u;\nconst PER_LANE: u32 = {}u;\nconst EPS: f32 = {};\nconst RMS: bool = {};\n\
         const ACCUMULATE: u32 = {ACCUMULATE}u;\nconst NORM_SOURCE: u32 = {NORM_SOURCE}u;\nconst NORM_OUT: u32 = {NORM_OUT}u;\n{}",
        prelude::<ResidualNormShape>(),
        shape.hidden,
        shape.hidden.div_ceil(64),
        float(shape.layer_norm_eps),
        shape.rms_norm,
        include_str!("residual_norm.wgsl"),
    )
}
