//! One sentence-transformers pooling mode over each row's tokens, written into its columns of
//! the output row (several modes are concatenated).

pub mod check;

use super::{prelude, KernelShape};

uniform!(
    /// One pooling mode over one pass's rows.
    PoolingShape {
        seq_len,
        /// Leading tokens left out: the prompt's, when the model pools without it.
        skip,
        /// `pooling_code(mode)`.
        mode,
        /// Where this mode's columns start in an output row of `output_width`.
        column,
        output_width,
        /// Output row of this pass's first batch row (large batches run in several passes).
        first_row,
        rows,
        /// Always 0: max pooling builds -inf from it at run time (Tint rejects a constant -inf).
        zero,
    }
);

pub fn source(shape: &KernelShape) -> String {
    format!("{}const HIDDEN: u32 = {}u;\n{}", prelude::<PoolingShape>(), shape.hidden, include_str!("pooling.wgsl"))
}

/// Workgroup counts: one thread per (channel, row).
pub fn groups(hidden: usize, rows: usize) -> (u32, u32, u32) {
    (hidden.div_ceil(64) as u32, rows as u32, 1)
}
