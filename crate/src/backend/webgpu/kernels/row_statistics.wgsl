// Workgroup reductions over one row of HIDDEN values, shared by the LayerNorm kernels
// (prepended by mod.rs). 64 threads per row; each holds HIDDEN / 64 values.

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
    // Nobody may overwrite partial[0] for the next reduction before every lane has read it.
    workgroupBarrier();
    return total;
}

// LayerNorm of the row held in `values` (lane's share: indices lane, lane + 64, …) into `output`
// at `base`: two passes (mean, then squared deviations), as PyTorch computes it.
fn layer_norm_row(values: ptr<function, array<f32, PER_LANE>>, lane: u32, base: u32) {
    var sum = 0.0;
    for (var i = 0u; i < PER_LANE; i++) {
        if (lane + i * 64u < HIDDEN) {
            sum += (*values)[i];
        }
    }
    let mean = workgroup_sum(sum, lane) / f32(HIDDEN);
    var squares = 0.0;
    for (var i = 0u; i < PER_LANE; i++) {
        if (lane + i * 64u < HIDDEN) {
            let d = (*values)[i] - mean;
            squares += d * d;
        }
    }
    let inverse_std = inverseSqrt(workgroup_sum(squares, lane) / f32(HIDDEN) + EPS);
    for (var i = 0u; i < PER_LANE; i++) {
        let c = lane + i * 64u;
        if (c < HIDDEN) {
            output[base + c] = ((*values)[i] - mean) * inverse_std * norm_weight[c] + norm_bias[c];
        }
    }
}
