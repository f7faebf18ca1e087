// context = softmax(SCALE · q·kᵀ + mask) · v for one head, fused: 64 queries per workgroup walk
// the keys in tiles staged in workgroup memory with a running (online) softmax, so the
// batch × heads × seq² score matrix (400 MB at batch 32 × seq 512) never exists.
// qkv holds each token's queries, keys and values side by side (tokens × STRIDE: query heads from
// 0, key heads from KEY_OFFSET, value heads from VALUE_OFFSET; query head h reads key/value head
// h / KV_GROUP). Keys at or past a row's length are padding and never enter the softmax, nor do
// keys more than `shape.window` positions from the query or, when CAUSAL, after it: the
// workgroup walks only the keys one of its queries may see.
// Prepended by mod.rs: `struct Shape` (from the Rust uniform), the codes, HEAD_DIM, KEY_TILE,
// SCALE, STRIDE, KEY_OFFSET, VALUE_OFFSET, KV_GROUP, CONTEXT_WIDTH, CAUSAL.

@group(0) @binding(0) var<uniform> shape: Shape;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read_write> context: array<f32>;

// Head vectors are handled as vec4s (HEAD_DIM is a multiple of 4; the backend checks at load): a quarter
// of the private array elements, which lavapipe otherwise mishandles at head size 64.
const QUADS: u32 = HEAD_DIM / 4u;

var<workgroup> key_tile: array<vec4<f32>, KEY_TILE * QUADS>;
var<workgroup> value_tile: array<vec4<f32>, KEY_TILE * QUADS>;
var<workgroup> row_length: u32;

fn load_quad(index: u32) -> vec4<f32> {
    return vec4<f32>(qkv[index], qkv[index + 1u], qkv[index + 2u], qkv[index + 3u]);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let row = group.z;
    let head = group.y;
    let query = group.x * 64u + lane;
    if (lane == 0u) {
        row_length = lengths[row];
    }
    // Every lane walks the same keys: the loop bound must be provably uniform.
    let length = workgroupUniformLoad(&row_length);
    let is_query = query < shape.seq_len;
    let stride = STRIDE;
    let head_offset = head * HEAD_DIM;
    let kv_offset = (head / KV_GROUP) * HEAD_DIM;
    let row_base = row * shape.seq_len;
    // The keys this workgroup's queries may see, [first_key, end_key): uniform across it.
    let window = shape.window;
    let first_query = group.x * 64u;
    var first_key = 0u;
    if (window != 0xffffffffu && first_query > window) {
        first_key = first_query - window;
    }
    var end_key = length;
    let last_query = first_query + 63u;
    if (CAUSAL) {
        end_key = min(end_key, last_query + 1u);
    }
    if (window != 0xffffffffu) {
        end_key = min(end_key, last_query + min(window, length) + 1u);
    }

    var q: array<vec4<f32>, QUADS>;
    if (is_query) {
        let base = (row_base + query) * stride + head_offset;
        for (var d = 0u; d < QUADS; d++) {
            q[d] = load_quad(base + 4u * d) * SCALE;
        }
    }
    var acc: array<vec4<f32>, QUADS>;
    var running_max = -3.0e38;
    var running_sum = 0.0;
    for (var k0 = first_key; k0 < end_key; k0 += KEY_TILE) {
        let count = min(KEY_TILE, end_key - k0);
        for (var i = lane; i < count * QUADS; i += 64u) {
            let base = (row_base + k0 + i / QUADS) * stride + kv_offset + 4u * (i % QUADS);
            key_tile[i] = load_quad(base + KEY_OFFSET);
            value_tile[i] = load_quad(base + VALUE_OFFSET);
        }
        workgroupBarrier();
        for (var j = 0u; j < count; j++) {
            let key = k0 + j;
            // Outside this query's window, or after it in a causal model: weight exp(-inf) = 0.
            let distance = max(key, query) - min(key, query);
            if ((CAUSAL && key > query) || (window != 0xffffffffu && distance > window)) {
                continue;
            }
            var s = 0.0;
            for (var d = 0u; d < QUADS; d++) {
                s += dot(q[d], key_tile[j * QUADS + d]);
            }
            if (s > running_max) {
                // A new maximum: rescale what has been summed so far (rare after the first keys).
                let correction = exp(running_max - s);
                running_sum *= correction;
                for (var d = 0u; d < QUADS; d++) {
                    acc[d] *= correction;
                }
                running_max = s;
            }
            let p = exp(s - running_max);
            running_sum += p;
            for (var d = 0u; d < QUADS; d++) {
                acc[d] = fma(vec4<f32>(p), value_tile[j * QUADS + d], acc[d]);
            }
        }
        workgroupBarrier();
    }
    if (is_query) {
        // running_sum ≥ 1 whenever a key counted (the largest score adds exp(0)); with no keys
        // acc is 0 and so is the result.
        let inverse = 1.0 / max(running_sum, 1e-30);
        let base = (row_base + query) * CONTEXT_WIDTH + head_offset;
        for (var d = 0u; d < QUADS; d++) {
            let v = acc[d] * inverse;
            context[base + 4u * d] = v.x;
            context[base + 4u * d + 1u] = v.y;
            context[base + 4u * d + 2u] = v.z;
            context[base + 4u * d + 3u] = v.w;
        }
    }
}
