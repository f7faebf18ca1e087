//! The pre-norm rotary stack (ModernBERT, Gemma3, Qwen3) on the GPU: its weights, its workspace
//! and one pass over a slice of a batch. Per layer:
//!
//! ```text
//! qkv = matmul(h) → rotary(qkv: q/k norms, rotation) → attention(window, groups, causal)
//!   → matmul(context) → residual_norm(x += [post norm](·); h = mlp_norm(x))
//!   → matmul(h) → gated → matmul(middle) → residual_norm(x += [post norm](·); h = next norm(x))
//! ```
//!
//! where the next norm is the next layer's attention norm, or the final norm after the last
//! layer; the pass starts with `x = [embedding norm](words)`, `h = [attention norm](x)`.

use super::device::{GpuBuffer, GpuDevice};
use super::gpu_weights::{linear, GpuLinear};
use super::kernels::attention::AttentionShape;
use super::kernels::gated::GatedShape;
use super::kernels::matmul::{self, MatmulShape};
use super::kernels::residual_norm::{ResidualNormShape, ACCUMULATE, NORM_OUT, NORM_SOURCE};
use super::kernels::rotary::RotaryShape;
use super::kernels::{self, row_groups, Kernels, PreNormKernels, SLOT_BYTES};
use crate::error::{EmbedError, Result};
use crate::model::prenorm::rotary_table;
use crate::model::{ModelParameters, NormParameters};
use crate::spec::{EncoderSpec, LayerKind};

/// Uniform slots of a pre-norm pass (after them, one per pooling mode).
pub mod slot {
    pub const NORM_START: u64 = 0;
    pub const NORM_ADD: u64 = 1;
    pub const QKV: u64 = 2;
    pub const ATTENTION_OUT: u64 = 3;
    pub const GATE_UP: u64 = 4;
    pub const DOWN: u64 = 5;
    pub const ROTARY: u64 = 6;
    pub const ATTENTION_FULL: u64 = 7;
    pub const ATTENTION_WINDOW: u64 = 8;
    pub const GATED: u64 = 9;
    pub const NORMALIZE: u64 = 10;
    pub const POOLING: u64 = 11;
}

struct LayerWeights {
    /// Weight then bias (`2 × hidden`), as the residual-norm kernel reads a norm.
    attention_norm: Option<GpuBuffer>,
    qkv: GpuLinear,
    /// q_norm then k_norm (`2 × head_dim`).
    head_norms: Option<GpuBuffer>,
    attention_out: GpuLinear,
    post_attention_norm: Option<GpuBuffer>,
    mlp_norm: GpuBuffer,
    gate_up: GpuLinear,
    down: GpuLinear,
    post_mlp_norm: Option<GpuBuffer>,
    /// Which rotary table and attention window this layer uses.
    kind: LayerKind,
}

pub struct PreNormWeights {
    layers: Vec<LayerWeights>,
    embedding_norm: Option<GpuBuffer>,
    final_norm: GpuBuffer,
    /// Bound where a norm is absent (the kernel's flags leave it unread).
    unused: GpuBuffer,
    /// Whether blocks' outputs are normalized before they join the residual (Gemma3).
    post_norms: bool,
}

fn norm(gpu: &GpuDevice, label: &str, parameters: &NormParameters) -> Result<GpuBuffer> {
    let hidden = parameters.weight.len();
    let bias = if parameters.bias.is_empty() { vec![0.0; hidden] } else { parameters.bias.clone() };
    gpu.upload(label, bytemuck::cast_slice(&[parameters.weight.clone(), bias].concat()))
}

fn optional_norm(gpu: &GpuDevice, label: &str, parameters: &Option<NormParameters>) -> Result<Option<GpuBuffer>> {
    parameters.as_ref().map(|p| norm(gpu, label, p)).transpose()
}

impl PreNormWeights {
    /// Uploads the stack, one layer at a time; `q8`: the linear layers in q8.
    pub fn upload(gpu: &GpuDevice, model: &dyn ModelParameters, q8: bool) -> Result<Self> {
        let spec = model.spec();
        let ends = model.prenorm_ends()?;
        let mut layers = Vec::with_capacity(spec.num_layers);
        let mut post_norms = false;
        for (index, kind) in spec.layers.iter().enumerate() {
            let p = model.prenorm_layer(index)?;
            let label = format!("layers.{index}");
            post_norms |= p.post_attention_norm.is_some();
            let head_norms = match (&p.query_norm, &p.key_norm) {
                (Some(q), Some(k)) => {
                    Some(gpu.upload(&format!("{label}.qk_norm"), bytemuck::cast_slice(&[q.clone(), k.clone()].concat()))?)
                }
                _ => None,
            };
            layers.push(LayerWeights {
                attention_norm: optional_norm(gpu, &format!("{label}.attention_norm"), &p.attention_norm)?,
                qkv: linear(gpu, &format!("{label}.qkv"), &p.qkv, q8)?,
                head_norms,
                attention_out: linear(gpu, &format!("{label}.attention_out"), &p.attention_out, q8)?,
                post_attention_norm: optional_norm(gpu, &format!("{label}.post_attention_norm"), &p.post_attention_norm)?,
                mlp_norm: norm(gpu, &format!("{label}.mlp_norm"), &p.mlp_norm)?,
                gate_up: linear(gpu, &format!("{label}.gate_up"), &p.gate_up, q8)?,
                down: linear(gpu, &format!("{label}.down"), &p.down, q8)?,
                post_mlp_norm: optional_norm(gpu, &format!("{label}.post_mlp_norm"), &p.post_mlp_norm)?,
                kind: *kind,
            });
        }
        Ok(PreNormWeights {
            layers,
            embedding_norm: optional_norm(gpu, "embedding_norm", &ends.embedding_norm)?,
            final_norm: norm(gpu, "final_norm", &ends.final_norm)?,
            unused: gpu.upload("unused", &[0u8; 16])?,
            post_norms,
        })
    }
}

struct LayerGroups {
    qkv: wgpu::BindGroup,
    rotary: wgpu::BindGroup,
    attention: wgpu::BindGroup,
    attention_out: wgpu::BindGroup,
    after_attention: wgpu::BindGroup,
    gate_up: wgpu::BindGroup,
    gated: wgpu::BindGroup,
    down: wgpu::BindGroup,
    after_mlp: wgpu::BindGroup,
}

/// Activation buffers and bind groups of the pre-norm pass (see `workspace.rs` for BERT's).
pub struct PreNormWorkspace {
    pub capacity: super::workspace::Capacity,
    pub slot_stride: u64,
    pub params: GpuBuffer,
    words: GpuBuffer,
    positions: GpuBuffer,
    lengths: GpuBuffer,
    pub pooled: GpuBuffer,
    pub staging: GpuBuffer,
    start: wgpu::BindGroup,
    layers: Vec<LayerGroups>,
    pub pooling: Vec<wgpu::BindGroup>,
    pub normalize: wgpu::BindGroup,
    /// Kept alive for the bind groups over them.
    _buffers: Vec<GpuBuffer>,
}

fn storage(gpu: &GpuDevice, label: &str, floats: usize) -> Result<GpuBuffer> {
    use wgpu::BufferUsages as U;
    gpu.buffer(label, (floats.max(1) * 4) as u64, U::STORAGE | U::COPY_DST | U::COPY_SRC)
}

impl PreNormWorkspace {
    pub fn new(
        gpu: &GpuDevice,
        kernels: &Kernels,
        weights: &PreNormWeights,
        spec: &EncoderSpec,
        dims: &super::workspace::Dimensions,
        capacity: super::workspace::Capacity,
    ) -> Result<Self> {
        use wgpu::BufferUsages as U;
        let k = prenorm_kernels(kernels)?;
        let slot_stride = SLOT_BYTES.next_multiple_of(gpu.limits.min_uniform_buffer_offset_alignment as u64);
        let params = gpu.buffer("params", (slot::POOLING + dims.pooling_modes as u64) * slot_stride, U::UNIFORM | U::COPY_DST)?;
        let (tokens, hidden, ff) = (capacity.tokens, spec.hidden_size, spec.intermediate_size);
        let words = storage(gpu, "words", tokens * hidden)?;
        let positions = storage(gpu, "positions", tokens)?;
        let lengths = storage(gpu, "lengths", capacity.rows)?;
        let x = storage(gpu, "residual", tokens * hidden)?;
        let h = storage(gpu, "normed", tokens * hidden)?;
        let qkv = storage(gpu, "qkv", tokens * spec.qkv_width())?;
        let context = storage(gpu, "context", tokens * spec.query_width())?;
        let projected = storage(gpu, "projected", tokens * hidden)?;
        let gate_up = storage(gpu, "gate_up", tokens * 2 * ff)?;
        let middle = storage(gpu, "middle", tokens * ff)?;
        let pooled = storage(gpu, "pooled", capacity.outputs * dims.output_width)?;
        let staging = gpu.buffer("staging", (capacity.outputs * dims.output_width * 4).max(4) as u64, U::MAP_READ | U::COPY_DST)?;
        // Rotary tables for every position a pass can hold, one pair per (theta, factor).
        let mut tables: Vec<((f64, f64), GpuBuffer, GpuBuffer)> = Vec::new();
        for kind in &spec.layers {
            let key = (kind.rope_theta, kind.rope_factor);
            if !tables.iter().any(|(k, _, _)| *k == key) {
                let (cos, sin) = rotary_table(kind.rope_theta, kind.rope_factor, spec.head_dim, tokens);
                tables.push((
                    key,
                    gpu.upload("rotary.cos", bytemuck::cast_slice(&cos))?,
                    gpu.upload("rotary.sin", bytemuck::cast_slice(&sin))?,
                ));
            }
        }
        let group = |pipeline: &wgpu::ComputePipeline, slot: u64, buffers: &[&GpuBuffer]| {
            let uniform = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &params.buffer,
                offset: slot * slot_stride,
                size: wgpu::BufferSize::new(SLOT_BYTES),
            });
            gpu.bind(pipeline, uniform, buffers)
        };
        let unused = &weights.unused;
        let first_norm = weights.layers.first().and_then(|l| l.attention_norm.as_ref()).unwrap_or(unused);
        let start =
            group(&k.residual_norm, slot::NORM_START, &[&words, weights.embedding_norm.as_ref().unwrap_or(unused), &x, first_norm, &h]);
        let mut layers = Vec::with_capacity(weights.layers.len());
        for (index, l) in weights.layers.iter().enumerate() {
            let (_, cos, sin) = tables
                .iter()
                .find(|(key, _, _)| *key == (l.kind.rope_theta, l.kind.rope_factor))
                .ok_or_else(|| EmbedError::WebGpu("no rotary table for a layer".into()))?;
            let next_norm = weights.layers.get(index + 1).and_then(|n| n.attention_norm.as_ref()).unwrap_or(&weights.final_norm);
            let attention_slot = if l.kind.window.is_some() { slot::ATTENTION_WINDOW } else { slot::ATTENTION_FULL };
            layers.push(LayerGroups {
                qkv: group(&kernels.matmul, slot::QKV, &[&h, &l.qkv.weight, &l.qkv.bias, &qkv]),
                rotary: group(&k.rotary, slot::ROTARY, &[&qkv, &positions, cos, sin, l.head_norms.as_ref().unwrap_or(unused)]),
                attention: group(&kernels.attention, attention_slot, &[&qkv, &lengths, &context]),
                attention_out: group(
                    &kernels.matmul,
                    slot::ATTENTION_OUT,
                    &[&context, &l.attention_out.weight, &l.attention_out.bias, &projected],
                ),
                after_attention: group(
                    &k.residual_norm,
                    slot::NORM_ADD,
                    &[&projected, l.post_attention_norm.as_ref().unwrap_or(unused), &x, &l.mlp_norm, &h],
                ),
                gate_up: group(&kernels.matmul, slot::GATE_UP, &[&h, &l.gate_up.weight, &l.gate_up.bias, &gate_up]),
                gated: group(&k.gated, slot::GATED, &[&gate_up, &middle]),
                down: group(&kernels.matmul, slot::DOWN, &[&middle, &l.down.weight, &l.down.bias, &projected]),
                after_mlp: group(
                    &k.residual_norm,
                    slot::NORM_ADD,
                    &[&projected, l.post_mlp_norm.as_ref().unwrap_or(unused), &x, next_norm, &h],
                ),
            });
        }
        let pooling =
            (0..dims.pooling_modes as u64).map(|mode| group(&kernels.pooling, slot::POOLING + mode, &[&h, &lengths, &pooled])).collect();
        let normalize = group(&kernels.normalize, slot::NORMALIZE, &[&pooled]);
        let mut kept = vec![x, h, qkv, context, projected, gate_up, middle];
        for (_, cos, sin) in tables {
            kept.push(cos);
            kept.push(sin);
        }
        Ok(PreNormWorkspace {
            capacity,
            slot_stride,
            params,
            words,
            positions,
            lengths,
            pooled,
            staging,
            start,
            layers,
            pooling,
            normalize,
            _buffers: kept,
        })
    }
}

fn prenorm_kernels(kernels: &Kernels) -> Result<&PreNormKernels> {
    kernels.prenorm.as_ref().ok_or_else(|| EmbedError::WebGpu("the pre-norm kernels were not compiled".into()))
}

/// What one pre-norm pass needs besides its workspace.
pub struct PassInput<'a> {
    pub spec: &'a EncoderSpec,
    pub weights: &'a PreNormWeights,
    pub kernels: &'a Kernels,
    /// Gathered (and scaled) word rows of the pass's tokens.
    pub words: &'a [f32],
    pub positions: &'a [u32],
    pub lengths: &'a [u32],
    pub seq_len: usize,
}

/// Writes the pass's inputs and uniforms and records its work (submitted by the caller).
pub fn record_pass(gpu: &GpuDevice, workspace: &PreNormWorkspace, input: &PassInput, encoder: &mut wgpu::CommandEncoder) -> Result<()> {
    let PassInput { spec, weights, kernels, seq_len, .. } = *input;
    let k = prenorm_kernels(kernels)?;
    let rows = input.lengths.len();
    let tokens = rows * seq_len;
    let (hidden, ff) = (spec.hidden_size, spec.intermediate_size);
    gpu.write(&workspace.words, 0, bytemuck::cast_slice(input.words));
    gpu.write(&workspace.positions, 0, bytemuck::cast_slice(input.positions));
    gpu.write(&workspace.lengths, 0, bytemuck::cast_slice(input.lengths));
    let write = |slot: u64, bytes: &[u8]| gpu.write(&workspace.params, slot * workspace.slot_stride, bytes);
    let first_has_norm = weights.layers.first().is_some_and(|l| l.attention_norm.is_some());
    let start_flags = if weights.embedding_norm.is_some() { NORM_SOURCE } else { 0 } | if first_has_norm { NORM_OUT } else { 0 };
    let add_flags = ACCUMULATE | NORM_OUT | if weights.post_norms { NORM_SOURCE } else { 0 };
    write(slot::NORM_START, bytemuck::bytes_of(&ResidualNormShape::new(tokens, start_flags)));
    write(slot::NORM_ADD, bytemuck::bytes_of(&ResidualNormShape::new(tokens, add_flags)));
    write(slot::QKV, bytemuck::bytes_of(&MatmulShape::new(tokens, spec.qkv_width(), hidden)));
    write(slot::ATTENTION_OUT, bytemuck::bytes_of(&MatmulShape::new(tokens, hidden, spec.query_width())));
    write(slot::GATE_UP, bytemuck::bytes_of(&MatmulShape::new(tokens, 2 * ff, hidden)));
    write(slot::DOWN, bytemuck::bytes_of(&MatmulShape::new(tokens, hidden, ff)));
    write(slot::ROTARY, bytemuck::bytes_of(&RotaryShape::new(tokens, spec.num_heads)));
    write(slot::ATTENTION_FULL, bytemuck::bytes_of(&AttentionShape::new(rows, seq_len)));
    let window = spec.layers.iter().find_map(|l| l.window);
    write(slot::ATTENTION_WINDOW, bytemuck::bytes_of(&AttentionShape::new(rows, seq_len).windowed(window)));
    write(slot::GATED, bytemuck::bytes_of(&GatedShape::new(tokens, ff, spec.hidden_act)));

    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("pre-norm pass"), timestamp_writes: None });
    let rows_dispatch = row_groups(tokens);
    let dispatch =
        |pass: &mut wgpu::ComputePass<'_>, pipeline: &wgpu::ComputePipeline, group: &wgpu::BindGroup, groups: (u32, u32, u32)| {
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        };
    let matmul_groups = |cols: usize| {
        let (x, y) = matmul::groups(tokens, cols);
        (x, y, 1)
    };
    dispatch(&mut pass, &k.residual_norm, &workspace.start, (rows_dispatch.0, rows_dispatch.1, 1));
    for layer in &workspace.layers {
        dispatch(&mut pass, &kernels.matmul, &layer.qkv, matmul_groups(spec.qkv_width()));
        dispatch(&mut pass, &k.rotary, &layer.rotary, kernels::rotary::groups(tokens, spec.num_heads + spec.num_kv_heads));
        dispatch(&mut pass, &kernels.attention, &layer.attention, kernels::attention::groups(seq_len, spec.num_heads, rows));
        dispatch(&mut pass, &kernels.matmul, &layer.attention_out, matmul_groups(hidden));
        dispatch(&mut pass, &k.residual_norm, &layer.after_attention, (rows_dispatch.0, rows_dispatch.1, 1));
        dispatch(&mut pass, &kernels.matmul, &layer.gate_up, matmul_groups(2 * ff));
        dispatch(&mut pass, &k.gated, &layer.gated, kernels::gated::groups(tokens * ff));
        dispatch(&mut pass, &kernels.matmul, &layer.down, matmul_groups(hidden));
        dispatch(&mut pass, &k.residual_norm, &layer.after_mlp, (rows_dispatch.0, rows_dispatch.1, 1));
    }
    Ok(())
}
