// The gated MLP's middle: middle[t][i] = activate(gate_up[t][i]) · gate_up[t][WIDTH + i] (GeGLU,
// SwiGLU), one thread per value.
// Prepended by mod.rs: `struct Shape` (from the Rust uniform, with the activation's code), the
// codes and the activation functions.

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> gate_up: array<f32>;
@group(0) @binding(2) var<storage, read_write> middle: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let index = (group.x + group.y * 65535u) * 256u + lane;
    if (index >= shape.count) {
        return;
    }
    let row = index / shape.width;
    let column = index % shape.width;
    let at = row * 2u * shape.width + column;
    middle[index] = activate(gate_up[at]) * gate_up[at + shape.width];
}
