//! The WebGPU backend: the whole encoder, pooling and Normalize as WGSL kernels through wgpu
//! (navigator.gpu in the browser, Vulkan natively). Weights are uploaded once; a batch is one
//! or more passes (as many rows as the adapter's binding limit allows per pass) and one readback.

pub mod device;
pub mod gpu_weights;
pub mod kernels;
pub mod workspace;

use self::device::{DeviceOptions, GpuDevice};
use self::gpu_weights::GpuWeights;
use self::kernels::attention::AttentionShape;
use self::kernels::matmul::{self, MatmulShape};
use self::kernels::normalize::NormalizeShape;
use self::kernels::pooling::PoolingShape;
use self::kernels::{pooling_code, row_groups, KernelShape, Kernels, RowShape, Uniform};
use self::workspace::{slot, Capacity, Dimensions, Workspace};
use crate::backend::{Backend, Embeddings, Head, TokenBatch};
use crate::error::{EmbedError, Result};
use crate::model::{self, ModelParameters, WordTable};
use crate::spec::HiddenAct;

/// Tokens one pass may hold at most, whatever the adapter allows: batch 32 × 512 tokens, so the
/// activations of a small model stay near 200 MB.
const MAX_PASS_TOKENS: usize = 32 * 512;

pub struct WebGpuBackend {
    gpu: GpuDevice,
    kernels: Kernels,
    weights: GpuWeights,
    /// The model's word table, shared with the CPU backend (not copied): rows are gathered per batch.
    words: WordTable,
    /// Added to a pair's second-segment word rows as they are gathered (see `model::gather_rows`).
    type_deltas: Vec<f32>,
    head: Head,
    dims: Dimensions,
    heads: usize,
    max_pass_tokens: usize,
    workspace: Option<Workspace>,
    /// Test hook: the device is destroyed when this many more batches have started.
    lose_device_countdown: Option<usize>,
    /// The linear layers hold q8 weights (`kernels::matmul::pack_q8`).
    q8: bool,
    /// The FFN's activation, applied in its first matmul's store.
    activation: HiddenAct,
}

impl WebGpuBackend {
    /// Opens a device and uploads `encoder`'s weights. Fails with `E_WEBGPU` (saying why) when
    /// there is no adapter or the model does not fit its limits.
    pub async fn new(model: &dyn ModelParameters, head: Head, options: DeviceOptions) -> Result<Self> {
        let gpu = GpuDevice::open(options).await?;
        Self::on_device(gpu, model, head).await
    }

    pub async fn on_device(gpu: GpuDevice, model: &dyn ModelParameters, head: Head) -> Result<Self> {
        let spec = model.spec();
        if spec.architecture == crate::spec::Architecture::Static {
            return Err(EmbedError::WebGpu(
                "a static model has no forward pass to run on the GPU: its table is averaged on the CPU".into(),
            ));
        }
        if spec.architecture.is_prenorm() {
            return Err(EmbedError::WebGpu(format!("{:?} runs on the CPU backend", spec.architecture)));
        }
        let widest = (3 * spec.hidden_size).max(spec.intermediate_size);
        let max_pass_tokens = ((gpu.max_binding() / (widest * 4) as u64) as usize).min(MAX_PASS_TOKENS);
        let longest = spec.max_position_embeddings;
        if max_pass_tokens == 0 {
            return Err(EmbedError::WebGpu(format!(
                "this adapter's largest storage binding ({} bytes) cannot hold even one token's activations",
                gpu.max_binding()
            )));
        }
        if max_pass_tokens < longest.min(512) {
            return Err(EmbedError::WebGpu(format!(
                "this adapter's largest storage binding ({:.1} MB) cannot hold the activations of one {}-token sequence",
                gpu.max_binding() as f64 / 1e6,
                longest.min(512)
            )));
        }
        if !spec.head_dim().is_multiple_of(4) {
            return Err(EmbedError::WebGpu(format!(
                "the attention kernel needs a head size divisible by 4; this model's is {}",
                spec.head_dim()
            )));
        }
        let q8 = model.is_q8();
        let kernels = Kernels::compile(&gpu, &KernelShape::for_encoder(spec, &gpu, q8));
        let weights = gpu.out_of_memory_scope(|| GpuWeights::upload(&gpu, model, q8)).await?;
        gpu.check()?;
        Ok(WebGpuBackend {
            dims: Dimensions {
                hidden: spec.hidden_size,
                intermediate: spec.intermediate_size,
                output_width: head.pooling.output_dimension(),
                pooling_modes: head.pooling.modes.len(),
            },
            heads: spec.num_heads,
            words: model.word_table().clone(),
            type_deltas: model.type_deltas().to_vec(),
            gpu,
            kernels,
            weights,
            head,
            max_pass_tokens,
            workspace: None,
            lose_device_countdown: None,
            q8,
            activation: spec.hidden_act,
        })
    }

    pub fn adapter_name(&self) -> &str {
        &self.gpu.adapter_name
    }

    /// GPU buffers this backend holds (weights, workspace): flat across a stream of encodes.
    pub fn live_buffers(&self) -> usize {
        self.gpu.live_buffers()
    }

    pub fn uses_f16(&self) -> bool {
        self.gpu.shader_f16 && !self.q8
    }

    /// Whether the linear layers run on q8 weights (the model was loaded in q8).
    pub fn uses_q8(&self) -> bool {
        self.q8
    }

    /// Test hook: destroy the device once `batches` more batches have started.
    pub fn lose_device_after(&mut self, batches: usize) {
        self.lose_device_countdown = Some(batches);
    }

    async fn ensure_workspace(&mut self, needed: Capacity) -> Result<()> {
        if let Some(workspace) = &self.workspace {
            if workspace.capacity.covers(&needed) {
                return Ok(());
            }
        }
        // Grow to powers of two (bounded by the pass limit) so a stream of mixed batches settles quickly.
        let grown = Capacity {
            tokens: needed.tokens.next_power_of_two().min(self.max_pass_tokens).max(needed.tokens),
            rows: needed.rows.next_power_of_two(),
            outputs: needed.outputs.next_power_of_two(),
        };
        let capacity = match &self.workspace {
            Some(old) => old.capacity.max(&grown),
            None => grown,
        };
        // The old buffers go first, so peak GPU memory is one workspace.
        self.workspace = None;
        let (gpu, kernels, weights, dims) = (&self.gpu, &self.kernels, &self.weights, &self.dims);
        let workspace = gpu.out_of_memory_scope(|| Workspace::new(gpu, kernels, weights, dims, capacity)).await?;
        self.workspace = Some(workspace);
        Ok(())
    }

    fn write_slot<U: Uniform>(&self, workspace: &Workspace, slot: u64, uniform: &U) {
        self.gpu.write(&workspace.buffers.params, slot * workspace.slot_stride, bytemuck::bytes_of(uniform));
    }

    /// Runs the encoder and pooling over `rows` (a slice of the batch's rows) into output rows
    /// starting at `first_row`.
    fn run_pass(&self, workspace: &Workspace, batch: &TokenBatch, rows: std::ops::Range<usize>) -> Result<()> {
        let seq_len = batch.seq_len;
        let row_count = rows.len();
        let tokens = row_count * seq_len;
        let token_range = rows.start * seq_len..rows.end * seq_len;
        let (hidden, intermediate) = (self.dims.hidden, self.dims.intermediate);
        let buffers = &workspace.buffers;
        let types = if batch.types.is_empty() { &[][..] } else { &batch.types[token_range.clone()] };
        let words = model::gather_rows(&self.words, &batch.ids[token_range.clone()], types, &self.type_deltas)?;
        let lengths: Vec<u32> = batch.lengths[rows.clone()].iter().map(|&l| l as u32).collect();
        self.gpu.write(&buffers.words, 0, bytemuck::cast_slice(&words));
        self.gpu.write(&buffers.positions, 0, bytemuck::cast_slice(&batch.positions[token_range]));
        self.gpu.write(&buffers.lengths, 0, bytemuck::cast_slice(&lengths));
        self.write_slot(workspace, slot::ROWS, &RowShape { tokens: tokens as u32, ..Default::default() });
        self.write_slot(workspace, slot::QKV, &MatmulShape::new(tokens, 3 * hidden, hidden));
        self.write_slot(workspace, slot::ATTENTION_OUT, &MatmulShape::new(tokens, hidden, hidden));
        self.write_slot(workspace, slot::INTERMEDIATE, &MatmulShape::new(tokens, intermediate, hidden).activated(self.activation));
        self.write_slot(workspace, slot::OUTPUT, &MatmulShape::new(tokens, hidden, intermediate));
        self.write_slot(workspace, slot::ATTENTION, &AttentionShape::new(row_count, seq_len));
        for (index, &mode) in self.head.pooling.modes.iter().enumerate() {
            let uniform = PoolingShape {
                seq_len: seq_len as u32,
                skip: batch.pool_skip as u32,
                mode: pooling_code(mode),
                column: (index * hidden) as u32,
                output_width: self.dims.output_width as u32,
                first_row: rows.start as u32,
                rows: row_count as u32,
                zero: 0,
            };
            self.write_slot(workspace, slot::POOLING + index as u64, &uniform);
        }

        let mut encoder = self.gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("encoder pass") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
            let rows_dispatch = row_groups(tokens);
            let k = &self.kernels;
            pass.set_pipeline(&k.embeddings);
            pass.set_bind_group(0, &workspace.embeddings, &[]);
            pass.dispatch_workgroups(rows_dispatch.0, rows_dispatch.1, 1);
            let matmul = |pass: &mut wgpu::ComputePass<'_>, pipeline, group, cols: usize| {
                let (x, y) = matmul::groups(tokens, cols);
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            };
            for layer in &workspace.layers {
                matmul(&mut pass, &k.matmul, &layer.qkv, 3 * self.dims.hidden);
                pass.set_pipeline(&k.attention);
                pass.set_bind_group(0, &layer.attention, &[]);
                let (x, y, z) = kernels::attention::groups(seq_len, self.heads, row_count);
                pass.dispatch_workgroups(x, y, z);
                matmul(&mut pass, &k.matmul, &layer.attention_out, self.dims.hidden);
                pass.set_pipeline(&k.add_layernorm);
                pass.set_bind_group(0, &layer.attention_norm, &[]);
                pass.dispatch_workgroups(rows_dispatch.0, rows_dispatch.1, 1);
                matmul(&mut pass, &k.matmul, &layer.intermediate, self.dims.intermediate);
                matmul(&mut pass, &k.matmul, &layer.output, self.dims.hidden);
                pass.set_pipeline(&k.add_layernorm);
                pass.set_bind_group(0, &layer.output_norm, &[]);
                pass.dispatch_workgroups(rows_dispatch.0, rows_dispatch.1, 1);
            }
            pass.set_pipeline(&k.pooling);
            for group in &workspace.pooling {
                pass.set_bind_group(0, group, &[]);
                let (x, y, z) = kernels::pooling::groups(hidden, row_count);
                pass.dispatch_workgroups(x, y, z);
            }
        }
        self.gpu.queue.submit([encoder.finish()]);
        Ok(())
    }

    async fn embed_batch(&mut self, batch: &TokenBatch) -> Result<Vec<f32>> {
        self.gpu.check()?;
        if let Some(countdown) = self.lose_device_countdown.as_mut() {
            if *countdown == 0 {
                self.lose_device_countdown = None;
                self.gpu.destroy();
            } else {
                *countdown -= 1;
            }
        }
        let rows_per_pass = (self.max_pass_tokens / batch.seq_len.max(1)).clamp(1, batch.batch.max(1));
        let needed = Capacity { tokens: rows_per_pass * batch.seq_len, rows: rows_per_pass, outputs: batch.batch };
        self.ensure_workspace(needed).await?;
        let workspace = self.workspace.as_ref().ok_or_else(|| EmbedError::WebGpu("no workspace".into()))?;
        let mut start = 0;
        while start < batch.batch {
            let end = (start + rows_per_pass).min(batch.batch);
            self.run_pass(workspace, batch, start..end)?;
            start = end;
        }
        let width = self.dims.output_width;
        if self.head.normalize {
            self.write_slot(workspace, slot::NORMALIZE, &NormalizeShape::new(batch.batch, width));
            let mut encoder = self.gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("normalize") });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
                pass.set_pipeline(&self.kernels.normalize);
                pass.set_bind_group(0, &workspace.normalize, &[]);
                pass.dispatch_workgroups(batch.batch as u32, 1, 1);
            }
            self.gpu.queue.submit([encoder.finish()]);
        }
        let bytes = (batch.batch * width * 4) as u64;
        self.gpu.read(&workspace.buffers.pooled, &workspace.buffers.staging, bytes).await
    }
}

impl Backend for WebGpuBackend {
    fn name(&self) -> &'static str {
        "webgpu"
    }

    fn embed<'a>(&'a mut self, batch: &'a TokenBatch) -> Embeddings<'a> {
        Box::pin(self.embed_batch(batch))
    }
}
