// output = activation(input · weightᵀ + bias): input rows × depth, weight cols × depth (PyTorch's
// Linear layout), output rows × cols. A workgroup owns a TILE_ROWS × TILE_COLS (16 × 128) output
// tile; each of its 16 × (TILE_ROWS / THREAD_ROWS) threads owns THREAD_ROWS rows × 8 columns of
// it, the columns 16 apart. TILE_DEPTH-deep slices of both operands are staged in workgroup memory
// as they lie in memory, four depths to a vec4, so staging copies whole vec4s (one bounds check
// and one store per four values) and a thread reads one vec4 per row and per column for four depths.
// Prepended by mod.rs: `struct Shape` (from the Rust uniform, with the activation's code), the
// codes, `alias Weight`, the tile sizes, THREAD_ROWS and the activation functions; appended:
// `stage_weights(lane, col0, k0)`, which fills `weight_tile` from f32, f16 or q8 weights (q8: int8
// values times their group's scale). The two marked lines are replaced by one line per row of
// the thread's block (mod.rs), so the accumulators are indexed by constants only (a loop index
// puts them in memory on lavapipe).

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<Weight>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

const SLICE: u32 = TILE_DEPTH / 4u;
// One vec4 more per weight column: the 8 threads of a GPU's quarter-warp read 8 columns in 8 banks.
const COLUMN_STRIDE: u32 = SLICE + 1u;
const THREADS: u32 = 16u * (TILE_ROWS / THREAD_ROWS);
var<workgroup> input_tile: array<vec4<f32>, TILE_ROWS * SLICE>;
var<workgroup> weight_tile: array<vec4<f32>, TILE_COLS * COLUMN_STRIDE>;

@compute @workgroup_size(16, TILE_ROWS / THREAD_ROWS, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
    let row0 = group.y * TILE_ROWS;
    let col0 = group.x * TILE_COLS;
    let rows = local.y * THREAD_ROWS * SLICE;
    let cols = local.x * COLUMN_STRIDE;
    var acc: array<vec4<f32>, THREAD_ROWS * 2u>;
    for (var k0 = 0u; k0 < shape.depth; k0 += TILE_DEPTH) {
        for (var i = 0u; i < TILE_ROWS * SLICE / THREADS; i++) {
            let index = lane + i * THREADS;
            input_tile[index] = input4(row0 + index / SLICE, k0 + (index % SLICE) * 4u);
        }
        stage_weights(lane, col0, k0);
        workgroupBarrier();
        for (var q = 0u; q < SLICE; q++) {
            let b0 = weight_tile[cols + q];
            let b1 = weight_tile[cols + 16u * COLUMN_STRIDE + q];
            let b2 = weight_tile[cols + 32u * COLUMN_STRIDE + q];
            let b3 = weight_tile[cols + 48u * COLUMN_STRIDE + q];
            let b4 = weight_tile[cols + 64u * COLUMN_STRIDE + q];
            let b5 = weight_tile[cols + 80u * COLUMN_STRIDE + q];
            let b6 = weight_tile[cols + 96u * COLUMN_STRIDE + q];
            let b7 = weight_tile[cols + 112u * COLUMN_STRIDE + q];
            // MULTIPLY EACH ROW
        }
        workgroupBarrier();
    }
    let row = row0 + local.y * THREAD_ROWS;
    let col = col0 + local.x;
    // STORE EACH ROW
}

// `v`, read at depths k .. k + 4 of a row, with the depths past the row's end zeroed. Those lanes
// were read from the next row or, at the buffer's end, past it: WGSL bounds every storage read, so
// such a read is safe and its value is never used.
fn within_depth(v: vec4<f32>, k: u32) -> vec4<f32> {
    return select(vec4<f32>(0.0), v, vec4(k, k + 1u, k + 2u, k + 3u) < vec4(shape.depth));
}

// input[row][k .. k + 4], zero past the matrix.
fn input4(row: u32, k: u32) -> vec4<f32> {
    if (row >= shape.rows) {
        return vec4<f32>(0.0);
    }
    let at = row * shape.depth + k;
    return within_depth(vec4(input[at], input[at + 1u], input[at + 2u], input[at + 3u]), k);
}

// Outputs of `row` in columns col, col + 16, col + 32 and col + 48, those inside the matrix.
fn store(row: u32, col: u32, values: vec4<f32>) {
    if (row >= shape.rows) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let c = col + j * 16u;
        if (c < shape.cols) {
            output[row * shape.cols + c] = activate(values[j] + bias[c]);
        }
    }
}
