// Each output row divided by its L2 norm (clamped at 1e-12, as torch.nn.functional.normalize),
// one workgroup per row.

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let row = group.x;
    if (row >= shape.rows) {
        return;
    }
    let base = row * shape.width;
    var squares = 0.0;
    for (var c = lane; c < shape.width; c += 64u) {
        squares += output[base + c] * output[base + c];
    }
    partial[lane] = squares;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        if (lane < stride) {
            partial[lane] += partial[lane + stride];
        }
        workgroupBarrier();
    }
    let norm = max(sqrt(partial[0]), 1e-12);
    for (var c = lane; c < shape.width; c += 64u) {
        output[base + c] = output[base + c] / norm;
    }
}
