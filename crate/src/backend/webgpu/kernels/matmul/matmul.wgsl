// output = activation(input · weightᵀ + bias): input rows × depth, weight cols × depth (PyTorch's
// Linear layout), output rows × cols. Each 16×4 workgroup owns a TILE_ROWS × TILE_COLS (16 × 128)
// output tile and each thread a 4×8 block of it; TILE_DEPTH-deep slices of both operands are
// staged in workgroup memory. Why this shape: a thread does 32 FMAs per three vec4 reads of
// workgroup memory (a 4×4 block did 16 per two), and a text of a few tokens pads to 16 rows, not
// 32: software adapters (lavapipe, SwiftShader) pay for each read of workgroup memory, and every
// GPU test runs on one.
// Prepended by mod.rs: `struct Shape` (from the Rust uniform, with the activation's code), the codes, `alias Weight`, the
// tile sizes and the activation functions; appended: `stage_weights(lane, col0, k0)`, which fills `weight_tile` from f32, f16
// or q8 weights (q8: int8 values times their group's scale).

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<Weight>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

// Stored k-major as vec4s along rows/cols, so a thread reads its 4 rows (8 cols) in one (two) loads.
var<workgroup> input_tile: array<vec4<f32>, TILE_DEPTH * TILE_ROWS / 4u>;
var<workgroup> weight_tile: array<vec4<f32>, TILE_DEPTH * TILE_COLS / 4u>;

@compute @workgroup_size(16, 4, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
    let row0 = group.y * TILE_ROWS;
    let col0 = group.x * TILE_COLS;
    var acc: array<vec4<f32>, 8>;
    for (var k0 = 0u; k0 < shape.depth; k0 += TILE_DEPTH) {
        // Consecutive lanes read consecutive k: coalesced rows.
        for (var i = 0u; i < TILE_ROWS * TILE_DEPTH / 64u; i++) {
            let index = lane + i * 64u;
            let r = index / TILE_DEPTH;
            let k = index % TILE_DEPTH;
            var a = 0.0;
            if (row0 + r < shape.rows && k0 + k < shape.depth) {
                a = input[(row0 + r) * shape.depth + k0 + k];
            }
            input_tile[k * (TILE_ROWS / 4u) + r / 4u][r % 4u] = a;
        }
        stage_weights(lane, col0, k0);
        workgroupBarrier();
        for (var k = 0u; k < TILE_DEPTH; k++) {
            let a = input_tile[k * (TILE_ROWS / 4u) + local.y];
            let b0 = weight_tile[k * (TILE_COLS / 4u) + local.x * 2u];
            let b1 = weight_tile[k * (TILE_COLS / 4u) + local.x * 2u + 1u];
            acc[0] = fma(vec4<f32>(a.x), b0, acc[0]);
            acc[1] = fma(vec4<f32>(a.x), b1, acc[1]);
            acc[2] = fma(vec4<f32>(a.y), b0, acc[2]);
            acc[3] = fma(vec4<f32>(a.y), b1, acc[3]);
            acc[4] = fma(vec4<f32>(a.z), b0, acc[4]);
            acc[5] = fma(vec4<f32>(a.z), b1, acc[5]);
            acc[6] = fma(vec4<f32>(a.w), b0, acc[6]);
            acc[7] = fma(vec4<f32>(a.w), b1, acc[7]);
        }
        workgroupBarrier();
    }
    // Constant indices into `acc`, so it stays in registers (a loop index puts it in memory on lavapipe).
    let row = row0 + local.y * 4u;
    let col = col0 + local.x * 8u;
    store(row, col, acc[0]);
    store(row, col + 4u, acc[1]);
    store(row + 1u, col, acc[2]);
    store(row + 1u, col + 4u, acc[3]);
    store(row + 2u, col, acc[4]);
    store(row + 2u, col + 4u, acc[5]);
    store(row + 3u, col, acc[6]);
    store(row + 3u, col + 4u, acc[7]);
}

// The four outputs of `row` from column `col` on, those inside the matrix.
fn store(row: u32, col: u32, values: vec4<f32>) {
    if (row >= shape.rows) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        if (col + j < shape.cols) {
            output[row * shape.cols + col + j] = activate(values[j] + bias[col + j]);
        }
    }
}
