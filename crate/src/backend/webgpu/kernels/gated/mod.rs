//! The gated MLP's middle: the activation of one half of the first projection times the other
//! (see `gated.wgsl`).

pub mod check;

use super::{activation_code, prelude};
use crate::spec::HiddenAct;

uniform!(
    /// `count` values of `width` per token; `activation` picks the function (see `activation_code`).
    GatedShape { count, width, activation, padding0 }
);

impl GatedShape {
    pub fn new(tokens: usize, width: usize, activation: HiddenAct) -> Self {
        GatedShape { count: (tokens * width) as u32, width: width as u32, activation: activation_code(Some(activation)), padding0: 0 }
    }
}

pub fn source() -> String {
    format!("{}{}\n{}", prelude::<GatedShape>(), include_str!("../activations.wgsl"), include_str!("gated.wgsl"))
}

/// Workgroup counts for `count` values, 256 per workgroup, spilling into y past 65535.
pub fn groups(count: usize) -> (u32, u32, u32) {
    let groups = count.div_ceil(256) as u32;
    (groups.clamp(1, 65535), groups.div_ceil(65535).max(1), 1)
}
