// output = activation(input · weightᵀ + bias): input rows × depth, weight cols × depth (PyTorch's
// Linear layout), output rows × cols. Each 8×8 workgroup owns a 32×32 output tile and each thread
// a 4×4 block of it; 32-deep slices of both operands are staged in workgroup memory, so every
// element read from global memory is used 32 times.
// Prepended by mod.rs: `struct Shape` (from the Rust uniform), the codes, `alias Weight`, `const ACTIVATION: u32` and the activation functions;
// appended: `weight_at(col, k)` and `weight_scale(col)`, which read f32, f16 or q8 weights (q8: int8 values, the row's
// scale applied once per output, so the tile holds exact small integers and accumulation stays f32).

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<Weight>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

const TILE: u32 = 32u;
// Stored k-major as vec4s along rows/cols, so a thread reads its 4 rows (cols) in one load.
var<workgroup> input_tile: array<vec4<f32>, 256>;
var<workgroup> weight_tile: array<vec4<f32>, 256>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
    let row0 = group.y * TILE;
    let col0 = group.x * TILE;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < shape.depth; k0 += TILE) {
        for (var i = 0u; i < 16u; i++) {
            // Consecutive lanes read consecutive k: coalesced rows of both operands.
            let index = lane + i * 64u;
            let r = index / TILE;
            let k = index % TILE;
            let gk = k0 + k;
            var a = 0.0;
            if (row0 + r < shape.rows && gk < shape.depth) {
                a = input[(row0 + r) * shape.depth + gk];
            }
            input_tile[k * 8u + r / 4u][r % 4u] = a;
            var w = 0.0;
            if (col0 + r < shape.cols && gk < shape.depth) {
                w = weight_at(col0 + r, gk);
            }
            weight_tile[k * 8u + r / 4u][r % 4u] = w;
        }
        workgroupBarrier();
        for (var k = 0u; k < TILE; k++) {
            let a = input_tile[k * 8u + local.y];
            let b = weight_tile[k * 8u + local.x];
            acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
            acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
            acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
            acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + local.y * 4u + i;
        if (row >= shape.rows) {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + local.x * 4u + j;
            if (col < shape.cols) {
                output[row * shape.cols + col] = activate(acc[i][j] * weight_scale(col) + bias[col]);
            }
        }
    }
}
