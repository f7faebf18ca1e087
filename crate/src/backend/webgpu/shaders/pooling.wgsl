// One sentence-transformers pooling mode over each row's tokens, one thread per (row, channel);
// the same arithmetic as pooling.rs. Tokens [skip, length) count: `skip` is the prompt's length
// when the model pools without its prompt, else 0.
// Prepended by kernels.rs: HIDDEN.

struct Shape {
    seq_len: u32,
    skip: u32,
    mode: u32,
    // Where this mode's HIDDEN columns start in an output row of `output_width`.
    column: u32,
    output_width: u32,
    // Output row of this pass's first batch row (large batches run in several passes).
    first_row: u32,
    rows: u32,
    // Always 0.
    unused: u32,
}

const CLS: u32 = 0u;
const MAX: u32 = 1u;
const MEAN: u32 = 2u;
const MEAN_SQRT_LEN: u32 = 3u;
const WEIGHTED_MEAN: u32 = 4u;
const LAST_TOKEN: u32 = 5u;

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
        case CLS: {
            value = token(row, select(0u, first, first < length), channel);
        }
        case LAST_TOKEN: {
            if (length > first) {
                value = token(row, length - 1u, channel);
            }
        }
        case MAX: {
            // -inf when no token counts, as pooling.rs gives. Built from a runtime value: Tint
            // rejects -inf as a constant.
            value = bitcast<f32>(0xff800000u | shape.unused);
            for (var t = first; t < length; t++) {
                value = max(value, token(row, t, channel));
            }
        }
        default: {
            var sum = 0.0;
            var weight_sum = 0.0;
            for (var t = first; t < length; t++) {
                let weight = select(1.0, f32(t + 1u), shape.mode == WEIGHTED_MEAN);
                sum += token(row, t, channel) * weight;
                weight_sum += weight;
            }
            let denominator = max(weight_sum, 1e-9);
            value = sum / select(denominator, sqrt(denominator), shape.mode == MEAN_SQRT_LEN);
        }
    }
    output[(shape.first_row + row) * shape.output_width + shape.column + channel] = value;
}
