// The pre-norm families' residual step, one workgroup per token:
//   residual = (ACCUMULATE ? residual : 0) + (NORM_SOURCE ? source_norm(source) : source)
//   normed   = NORM_OUT ? out_norm(residual) : residual
// after attention and after the MLP (Gemma3 normalizes each block's output before adding it),
// and at the start (ModernBERT normalizes the embeddings). `normed` is the next block's input.
// A norm's buffer holds its weight then its bias (zeros where it has none); RMS picks RMSNorm
// (x · rsqrt(mean x² + eps) · w) over LayerNorm ((x - mean) · rsqrt(var + eps) · w + b).
// Prepended by mod.rs: `struct Shape` (from the Rust uniform), the codes, HIDDEN, PER_LANE, EPS, RMS and the flags.

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read> source_norm: array<f32>;
@group(0) @binding(3) var<storage, read_write> residual: array<f32>;
@group(0) @binding(4) var<storage, read> out_norm: array<f32>;
@group(0) @binding(5) var<storage, read_write> normed: array<f32>;

var<workgroup> partial: array<f32, 64>;

fn workgroup_sum(value: f32, lane: u32) -> f32 {
    partial[lane] = value;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        if (lane < stride) {
            partial[lane] += partial[lane + stride];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

// The row's shift and scale: LayerNorm's mean and 1/std (two passes, as PyTorch), RMSNorm's 0 and 1/rms.
fn statistics(values: ptr<function, array<f32, PER_LANE>>, lane: u32) -> vec2<f32> {
    var mean = 0.0;
    if (!RMS) {
        var sum = 0.0;
        for (var i = 0u; i < PER_LANE; i++) {
            if (lane + i * 64u < HIDDEN) {
                sum += (*values)[i];
            }
        }
        mean = workgroup_sum(sum, lane) / f32(HIDDEN);
    }
    var squares = 0.0;
    for (var i = 0u; i < PER_LANE; i++) {
        if (lane + i * 64u < HIDDEN) {
            let d = (*values)[i] - mean;
            squares += d * d;
        }
    }
    return vec2<f32>(mean, inverseSqrt(workgroup_sum(squares, lane) / f32(HIDDEN) + EPS));
}

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
            values[i] = source[base + c];
        }
    }
    if ((shape.flags & NORM_SOURCE) != 0u) {
        let s = statistics(&values, lane);
        for (var i = 0u; i < PER_LANE; i++) {
            let c = lane + i * 64u;
            if (c < HIDDEN) {
                values[i] = (values[i] - s.x) * s.y * source_norm[c] + source_norm[HIDDEN + c];
            }
        }
    }
    for (var i = 0u; i < PER_LANE; i++) {
        let c = lane + i * 64u;
        if (c < HIDDEN) {
            if ((shape.flags & ACCUMULATE) != 0u) {
                values[i] += residual[base + c];
            }
            residual[base + c] = values[i];
        }
    }
    var s = vec2<f32>(0.0, 1.0);
    let norm_out = (shape.flags & NORM_OUT) != 0u;
    if (norm_out) {
        s = statistics(&values, lane);
    }
    for (var i = 0u; i < PER_LANE; i++) {
        let c = lane + i * 64u;
        if (c < HIDDEN) {
            if (norm_out) {
                normed[base + c] = (values[i] - s.x) * s.y * out_norm[c] + out_norm[HIDDEN + c];
            } else {
                normed[base + c] = values[i];
            }
        }
    }
}
