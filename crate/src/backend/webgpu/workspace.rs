//! Activation buffers and the bind groups over them, kept from batch to batch: they are made
//! again only when a batch needs more room than the last, so a steady stream of encodes
//! allocates nothing on the GPU.

use super::device::{GpuBuffer, GpuDevice};
use super::gpu_weights::GpuWeights;
use super::kernels::{Kernels, SLOT_BYTES};
use crate::error::Result;

/// Uniform slots, one per distinct kernel shape of a pass. Every layer's kernels of one kind see
/// the same shape, so one slot serves them all.
pub mod slot {
    pub const ROWS: u64 = 0;
    pub const QKV: u64 = 1;
    pub const ATTENTION_OUT: u64 = 2;
    pub const INTERMEDIATE: u64 = 3;
    pub const OUTPUT: u64 = 4;
    pub const ATTENTION: u64 = 5;
    pub const NORMALIZE: u64 = 6;
    /// Pooling modes take the slots from here on, one each.
    pub const POOLING: u64 = 7;
}

/// How much room a workspace has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// Tokens in one pass (rows × seq_len).
    pub tokens: usize,
    /// Batch rows in one pass.
    pub rows: usize,
    /// Output rows of a whole batch (several passes).
    pub outputs: usize,
}

impl Capacity {
    pub fn covers(&self, other: &Capacity) -> bool {
        self.tokens >= other.tokens && self.rows >= other.rows && self.outputs >= other.outputs
    }

    pub fn max(&self, other: &Capacity) -> Capacity {
        Capacity { tokens: self.tokens.max(other.tokens), rows: self.rows.max(other.rows), outputs: self.outputs.max(other.outputs) }
    }
}

pub struct LayerGroups {
    pub qkv: wgpu::BindGroup,
    pub attention: wgpu::BindGroup,
    pub attention_out: wgpu::BindGroup,
    pub attention_norm: wgpu::BindGroup,
    pub intermediate: wgpu::BindGroup,
    pub output: wgpu::BindGroup,
    pub output_norm: wgpu::BindGroup,
}

pub struct Buffers {
    pub params: GpuBuffer,
    pub words: GpuBuffer,
    pub positions: GpuBuffer,
    pub lengths: GpuBuffer,
    pub hidden: GpuBuffer,
    pub qkv: GpuBuffer,
    pub context: GpuBuffer,
    pub projected: GpuBuffer,
    pub attended: GpuBuffer,
    pub inner: GpuBuffer,
    pub pooled: GpuBuffer,
    pub staging: GpuBuffer,
}

pub struct Workspace {
    pub capacity: Capacity,
    pub slot_stride: u64,
    pub buffers: Buffers,
    pub embeddings: wgpu::BindGroup,
    pub layers: Vec<LayerGroups>,
    /// One per pooling mode, each reading its own uniform slot.
    pub pooling: Vec<wgpu::BindGroup>,
    pub normalize: wgpu::BindGroup,
}

/// The sizes a workspace's buffers are made from.
pub struct Dimensions {
    pub hidden: usize,
    pub intermediate: usize,
    pub output_width: usize,
    pub pooling_modes: usize,
}

fn storage(gpu: &GpuDevice, label: &str, bytes: usize) -> Result<GpuBuffer> {
    use wgpu::BufferUsages as U;
    gpu.buffer(label, bytes as u64, U::STORAGE | U::COPY_DST | U::COPY_SRC)
}

impl Buffers {
    fn new(gpu: &GpuDevice, dims: &Dimensions, capacity: Capacity, params_bytes: u64) -> Result<Self> {
        use wgpu::BufferUsages as U;
        let f = std::mem::size_of::<f32>();
        let tokens = capacity.tokens;
        let pooled_bytes = capacity.outputs * dims.output_width * f;
        Ok(Buffers {
            params: gpu.buffer("params", params_bytes, U::UNIFORM | U::COPY_DST)?,
            words: storage(gpu, "words", tokens * dims.hidden * f)?,
            positions: storage(gpu, "positions", tokens * 4)?,
            lengths: storage(gpu, "lengths", capacity.rows * 4)?,
            hidden: storage(gpu, "hidden", tokens * dims.hidden * f)?,
            qkv: storage(gpu, "qkv", tokens * 3 * dims.hidden * f)?,
            context: storage(gpu, "context", tokens * dims.hidden * f)?,
            projected: storage(gpu, "projected", tokens * dims.hidden * f)?,
            attended: storage(gpu, "attended", tokens * dims.hidden * f)?,
            inner: storage(gpu, "inner", tokens * dims.intermediate * f)?,
            pooled: storage(gpu, "pooled", pooled_bytes)?,
            staging: gpu.buffer("staging", pooled_bytes as u64, U::MAP_READ | U::COPY_DST)?,
        })
    }
}

/// Builds bind groups over one set of buffers.
struct Binder<'a> {
    gpu: &'a GpuDevice,
    buffers: &'a Buffers,
    slot_stride: u64,
}

impl Binder<'_> {
    fn group(&self, pipeline: &wgpu::ComputePipeline, slot: u64, buffers: &[&GpuBuffer]) -> wgpu::BindGroup {
        let uniform = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffers.params.buffer,
            offset: slot * self.slot_stride,
            size: wgpu::BufferSize::new(SLOT_BYTES),
        });
        self.gpu.bind(pipeline, uniform, buffers)
    }
}

impl Workspace {
    pub fn new(gpu: &GpuDevice, kernels: &Kernels, weights: &GpuWeights, dims: &Dimensions, capacity: Capacity) -> Result<Self> {
        let slot_stride = SLOT_BYTES.next_multiple_of(gpu.limits.min_uniform_buffer_offset_alignment as u64);
        let slots = slot::POOLING + dims.pooling_modes as u64;
        let buffers = Buffers::new(gpu, dims, capacity, slots * slot_stride)?;
        let b = &buffers;
        let binder = Binder { gpu, buffers: b, slot_stride };
        let bert = kernels.bert.as_ref().ok_or_else(|| crate::error::EmbedError::WebGpu("the BERT kernels were not compiled".into()))?;
        let embeddings = binder.group(
            &bert.embeddings,
            slot::ROWS,
            &[
                &b.words,
                &b.positions,
                &weights.positions,
                &weights.token_type,
                &weights.embedding_norm.weight,
                &weights.embedding_norm.bias,
                &b.hidden,
            ],
        );
        let layers = weights
            .layers
            .iter()
            .map(|l| LayerGroups {
                qkv: binder.group(&kernels.matmul, slot::QKV, &[&b.hidden, &l.qkv.weight, &l.qkv.bias, &b.qkv]),
                attention: binder.group(&kernels.attention, slot::ATTENTION, &[&b.qkv, &b.lengths, &b.context]),
                attention_out: binder.group(
                    &kernels.matmul,
                    slot::ATTENTION_OUT,
                    &[&b.context, &l.attention_out.weight, &l.attention_out.bias, &b.projected],
                ),
                attention_norm: binder.group(
                    &bert.add_layernorm,
                    slot::ROWS,
                    &[&b.projected, &b.hidden, &l.attention_norm.weight, &l.attention_norm.bias, &b.attended],
                ),
                intermediate: binder.group(
                    &kernels.matmul,
                    slot::INTERMEDIATE,
                    &[&b.attended, &l.intermediate.weight, &l.intermediate.bias, &b.inner],
                ),
                output: binder.group(&kernels.matmul, slot::OUTPUT, &[&b.inner, &l.output.weight, &l.output.bias, &b.projected]),
                output_norm: binder.group(
                    &bert.add_layernorm,
                    slot::ROWS,
                    &[&b.projected, &b.attended, &l.output_norm.weight, &l.output_norm.bias, &b.hidden],
                ),
            })
            .collect();
        let pooling = (0..dims.pooling_modes as u64)
            .map(|mode| binder.group(&kernels.pooling, slot::POOLING + mode, &[&b.hidden, &b.lengths, &b.pooled]))
            .collect();
        let normalize = binder.group(&kernels.normalize, slot::NORMALIZE, &[&b.pooled]);
        Ok(Workspace { capacity, slot_stride, buffers, embeddings, layers, pooling, normalize })
    }
}
