// One sentence-transformers pooling mode over each row's tokens, one thread per (row, channel);
// the same arithmetic as pooling.rs. Tokens [skip, length) count: `skip` is the prompt's length
// when the model pools without its prompt, else 0.
// Prepended by mod.rs: `struct Shape` (from the Rust uniform), the codes, HIDDEN.

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

fn token(row: u32, t: u32, channel: u32) -> f32 {
    return hidden[(row * shape.seq_len + t) * HIDDEN + channel];
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let channel = id.x;
    let row = id.y;
    if (channel >= HIDDEN || row >= shape.rows) {
        return;
    }
    let length = lengths[row];
    let first = shape.skip;
    var value = 0.0;
    switch shape.mode {
        case POOL_CLS: {
            value = token(row, select(0u, first, first < length), channel);
        }
        case POOL_LAST_TOKEN: {
            if (length > first) {
                value = token(row, length - 1u, channel);
            }
        }
        case POOL_MAX: {
            // -inf when no token counts, as pooling.rs gives. Built from a runtime value: Tint
            // rejects -inf as a constant.
            value = bitcast<f32>(0xff800000u | shape.zero);
            for (var t = first; t < length; t++) {
                value = max(value, token(row, t, channel));
            }
        }
        default: {
            var sum = 0.0;
            var weight_sum = 0.0;
            for (var t = first; t < length; t++) {
                let weight = select(1.0, f32(t + 1u), shape.mode == POOL_WEIGHTED_MEAN);
                sum += token(row, t, channel) * weight;
                weight_sum += weight;
            }
            let denominator = max(weight_sum, 1e-9);
            value = sum / select(denominator, sqrt(denominator), shape.mode == POOL_MEAN_SQRT_LEN);
        }
    }
    output[(shape.first_row + row) * shape.output_width + shape.column + channel] = value;
}
