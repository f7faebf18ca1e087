//! `output = activation(input · weightᵀ + bias)`: the encoder's linear layers, with the FFN's
//! activation fused into the store.

pub mod bench;
pub mod check;

use super::{activation_code, prelude, KernelShape};
use crate::backend::webgpu::device::GpuDevice;
use crate::quantize::{quantize_row, WEIGHT_LEVELS};
use crate::spec::HiddenAct;

uniform!(
    /// `input` rows × depth, `weight` cols × depth (PyTorch's layout), `output` rows × cols;
    /// `activation`: the code (`activation_code`) of the function applied to each output.
    MatmulShape { rows, cols, depth, activation }
);

impl MatmulShape {
    pub fn new(rows: usize, cols: usize, depth: usize) -> Self {
        MatmulShape { rows: rows as u32, cols: cols as u32, depth: depth as u32, activation: activation_code(None) }
    }

    /// The same product with `activation` applied to each output (the FFN's first layer).
    pub fn activated(self, activation: HiddenAct) -> Self {
        MatmulShape { activation: activation_code(Some(activation)), ..self }
    }
}

/// Output rows, output columns and depth of one workgroup's step (matmul.wgsl's thread layout
/// fixes the columns: 16 threads across, 8 columns each).
pub const TILE_ROWS: usize = 16;
pub const TILE_COLS: usize = 128;
pub const TILE_DEPTH: usize = 16;
// q8 staging reads one scale per column per depth slice, and a word of four int8 per vec4.
const _: () = assert!(Q8_GROUP.is_multiple_of(TILE_DEPTH) && TILE_DEPTH.is_multiple_of(4));
// matmul.wgsl's column layout (16 threads, 8 columns 16 apart) is written for 128 columns, and
// every tiling's threads cover the tile's rows.
const _: () = assert!(
    TILE_COLS == 128
        && TILE_ROWS.is_multiple_of(MatmulTiling::Gpu.thread_rows())
        && TILE_ROWS.is_multiple_of(MatmulTiling::Software.thread_rows())
);

/// How a workgroup's tile is split among its threads. A GPU runs 32 threads per instruction and
/// wants many of them: 64 threads of 4 rows each. A software adapter (lavapipe, SwiftShader) runs
/// 4 to 8, and pays per thread for staging and for each depth slice: 16 threads of 16 rows each
/// run its matmuls 1.6–1.7× faster (M = 16..256, K = 384, both adapters), and every GPU test runs
/// on one. Both are checked on every adapter (`check::check_matmul`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulTiling {
    Gpu,
    Software,
}

impl MatmulTiling {
    pub const ALL: [MatmulTiling; 2] = [MatmulTiling::Gpu, MatmulTiling::Software];

    pub fn for_device(gpu: &GpuDevice) -> Self {
        if gpu.software {
            MatmulTiling::Software
        } else {
            MatmulTiling::Gpu
        }
    }

    /// Output rows per thread (each thread has 8 columns).
    pub const fn thread_rows(self) -> usize {
        match self {
            MatmulTiling::Gpu => 4,
            MatmulTiling::Software => 16,
        }
    }
}

/// One pipeline for every linear layer: the activation is read from the uniform, not compiled in,
/// because each pipeline costs seconds to compile on a software adapter (SwiftShader) at every load.
pub fn source(shape: &KernelShape) -> String {
    let q8_access = format!("const Q8_GROUP: u32 = {Q8_GROUP}u;\n{Q8_STAGING}");
    let (enable, weight, access) = match (shape.q8_weights, shape.f16_weights) {
        (true, _) => ("", "u32", q8_access.as_str()),
        (false, true) => ("enable f16;\n", "f16", FLOAT_STAGING),
        (false, false) => ("", "f32", FLOAT_STAGING),
    };
    let thread_rows = shape.tiling.thread_rows();
    let (multiply, store): (String, String) = (0..thread_rows)
        .map(|r| {
            let (even, odd) = (2 * r, 2 * r + 1);
            (
                format!(
                    "            let a{r} = input_tile[rows + {r}u * SLICE + q];\n\
                     \x20           acc[{even}] += vec4(dot(a{r}, b0), dot(a{r}, b1), dot(a{r}, b2), dot(a{r}, b3));\n\
                     \x20           acc[{odd}] += vec4(dot(a{r}, b4), dot(a{r}, b5), dot(a{r}, b6), dot(a{r}, b7));\n"
                ),
                format!("    store(row + {r}u, col, acc[{even}]);\n    store(row + {r}u, col + 64u, acc[{odd}]);\n"),
            )
        })
        .unzip();
    let kernel =
        include_str!("matmul.wgsl").replace("            // MULTIPLY EACH ROW\n", &multiply).replace("    // STORE EACH ROW\n", &store);
    format!(
        "{enable}{}alias Weight = {weight};\n\
         const TILE_ROWS: u32 = {TILE_ROWS}u;\nconst TILE_COLS: u32 = {TILE_COLS}u;\nconst TILE_DEPTH: u32 = {TILE_DEPTH}u;\n\
         const THREAD_ROWS: u32 = {thread_rows}u;\n{}\n{kernel}\n{access}",
        prelude::<MatmulShape>(),
        include_str!("../activations.wgsl"),
    )
}

/// How the kernel stages a depth slice of float weights: four depths of a column per vec4.
const FLOAT_STAGING: &str = "fn stage_weights(lane: u32, col0: u32, k0: u32) {
    for (var i = 0u; i < TILE_COLS * SLICE / THREADS; i++) {
        let index = lane + i * THREADS;
        let c = index / SLICE;
        let k = k0 + (index % SLICE) * 4u;
        var v = vec4<f32>(0.0);
        if (col0 + c < shape.cols) {
            let at = (col0 + c) * shape.depth + k;
            v = within_depth(vec4(f32(weight[at]), f32(weight[at + 1u]), f32(weight[at + 2u]), f32(weight[at + 3u])), k);
        }
        weight_tile[c * COLUMN_STRIDE + index % SLICE] = v;
    }
}";

/// Inputs per q8 scale along a row: re-quantizing the CPU's rotated rows unrotated with one
/// scale per row left all-MiniLM-L6-v2 at mean cosine 0.99893 on WebGPU (bar 0.999).
pub const Q8_GROUP: usize = 32;

/// How it stages q8 weights (`pack_q8`): a word of four int8 values per load, sign-extended, times
/// the scale of their group (one per column in a slice); the scales follow all rows. Words past a
/// row's depth are zero-padded by `pack_q8`, and the inputs there are zero too.
const Q8_STAGING: &str = "fn stage_weights(lane: u32, col0: u32, k0: u32) {
    let words = (shape.depth + 3u) / 4u;
    let groups = (shape.depth + Q8_GROUP - 1u) / Q8_GROUP;
    for (var i = 0u; i < TILE_COLS * SLICE / THREADS; i++) {
        let index = lane + i * THREADS;
        let c = index / SLICE;
        let word = k0 / 4u + index % SLICE;
        var v = vec4<f32>(0.0);
        if (col0 + c < shape.cols && word < words) {
            let packed = bitcast<i32>(weight[(col0 + c) * words + word]);
            let scale = bitcast<f32>(weight[shape.cols * words + (col0 + c) * groups + k0 / Q8_GROUP]);
            v = vec4(f32(extractBits(packed, 0u, 8u)), f32(extractBits(packed, 8u, 8u)),
                     f32(extractBits(packed, 16u, 8u)), f32(extractBits(packed, 24u, 8u))) * scale;
        }
        weight_tile[c * COLUMN_STRIDE + index % SLICE] = v;
    }
}";

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

/// Workgroup counts for a `rows × cols` output.
pub fn groups(rows: usize, cols: usize) -> (u32, u32) {
    (cols.div_ceil(TILE_COLS) as u32, rows.div_ceil(TILE_ROWS) as u32)
}
