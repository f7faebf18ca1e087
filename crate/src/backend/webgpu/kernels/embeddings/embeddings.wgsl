// hidden = LayerNorm(word + position + token type), one workgroup per token. The word rows arrive
// already gathered (on the CPU: a 250k-token table is larger than a storage binding may be).
// Prepended by mod.rs: `struct Shape` (from the Rust uniform), the codes, HIDDEN, PER_LANE, EPS and row_statistics.wgsl.

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> words: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> position_table: array<f32>;
@group(0) @binding(4) var<storage, read> token_type: array<f32>;
@group(0) @binding(5) var<storage, read> norm_weight: array<f32>;
@group(0) @binding(6) var<storage, read> norm_bias: array<f32>;
@group(0) @binding(7) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let token = group.x + group.y * 65535u;
    if (token >= shape.tokens) {
        return;
    }
    let base = token * HIDDEN;
    let position = positions[token] * HIDDEN;
    var values: array<f32, PER_LANE>;
    for (var i = 0u; i < PER_LANE; i++) {
        let c = lane + i * 64u;
        if (c < HIDDEN) {
            values[i] = words[base + c] + token_type[c] + position_table[position + c];
        }
    }
    layer_norm_row(&values, lane, base);
}
