// Rotary position embeddings, in place on qkv, one workgroup per (token, head) of the query and
// key heads: first the head's RMSNorm when the model has q/k norms (Gemma3, Qwen3), then
// x·cos + rotate_half(x)·sin at the token's position (channel i pairs with i + HALF, both at
// frequency i). The angles' cosines and sines come from tables the CPU computed as transformers
// does (positions × HALF each), not from the GPU's own cos and sin.
// Prepended by mod.rs: `struct Shape` (from the Rust uniform), the codes, HEAD_DIM, HALF, PAIRS,
// STRIDE, EPS and QK_NORM.

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> cos_table: array<f32>;
@group(0) @binding(4) var<storage, read> sin_table: array<f32>;
// The query heads' norm weight then the key heads' (HEAD_DIM each; unused without QK_NORM).
@group(0) @binding(5) var<storage, read> head_norms: array<f32>;

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

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let token = group.x + group.z * 65535u;
    if (token >= shape.tokens) {
        return;
    }
    let head = group.y;
    let base = token * STRIDE + head * HEAD_DIM;
    var first: array<f32, PAIRS>;
    var second: array<f32, PAIRS>;
    for (var p = 0u; p < PAIRS; p++) {
        let i = lane + p * 64u;
        if (i < HALF) {
            first[p] = qkv[base + i];
            second[p] = qkv[base + i + HALF];
        }
    }
    if (QK_NORM) {
        var squares = 0.0;
        for (var p = 0u; p < PAIRS; p++) {
            if (lane + p * 64u < HALF) {
                squares += first[p] * first[p] + second[p] * second[p];
            }
        }
        let scale = inverseSqrt(workgroup_sum(squares, lane) / f32(HEAD_DIM) + EPS);
        // Query heads come before key heads in qkv: the first `shape.query_heads` use the query norm.
        let norm = select(HEAD_DIM, 0u, head < shape.query_heads);
        for (var p = 0u; p < PAIRS; p++) {
            let i = lane + p * 64u;
            if (i < HALF) {
                first[p] = first[p] * scale * head_norms[norm + i];
                second[p] = second[p] * scale * head_norms[norm + i + HALF];
            }
        }
    }
    let angle = positions[token] * HALF;
    for (var p = 0u; p < PAIRS; p++) {
        let i = lane + p * 64u;
        if (i < HALF) {
            let c = cos_table[angle + i];
            let s = sin_table[angle + i];
            qkv[base + i] = first[p] * c - second[p] * s;
            qkv[base + i + HALF] = second[p] * c + first[p] * s;
        }
    }
}
