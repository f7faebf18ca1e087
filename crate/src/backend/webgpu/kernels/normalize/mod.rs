//! Each output row divided by its L2 norm (clamped at 1e-12, as torch's `F.normalize`).

pub mod check;

use super::prelude;

uniform!(
    /// `rows` output rows of `width` floats.
    NormalizeShape { rows, width, padding0, padding1 }
);

impl NormalizeShape {
    pub fn new(rows: usize, width: usize) -> Self {
        NormalizeShape { rows: rows as u32, width: width as u32, ..Default::default() }
    }
}

pub fn source() -> String {
    format!("{}{}", prelude::<NormalizeShape>(), include_str!("normalize.wgsl"))
}
