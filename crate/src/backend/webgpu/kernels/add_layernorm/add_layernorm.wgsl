// output = LayerNorm(input + residual), one workgroup per token: the post-attention and
// post-FFN step of every BERT layer.
// Prepended by mod.rs: `struct Shape` (from the Rust uniform), the codes, HIDDEN, PER_LANE, EPS and row_statistics.wgsl.

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read> norm_weight: array<f32>;
@group(0) @binding(4) var<storage, read> norm_bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let token = group.x + group.y * 65535u;
    if (token >= shape.tokens) {
        return;
    }
    let base = token * HIDDEN;
    var values: array<f32, PER_LANE>;
    for (var i = 0u; i < PER_LANE; i++) {
        let c = lane + i * 64u;
        if (c < HIDDEN) {
            values[i] = input[base + c] + residual[base + c];
        }
    }
    layer_norm_row(&values, lane, base);
}
