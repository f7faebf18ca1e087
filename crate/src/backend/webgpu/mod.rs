//! The WebGPU backend: the whole network, pooling and Normalize as WGSL kernels through wgpu
//! (navigator.gpu in the browser, Vulkan natively): BERT / XLM-R's post-norm stack
//! (`workspace.rs`, `gpu_weights.rs`) or the pre-norm rotary stack of ModernBERT, Gemma3 and
//! Qwen3 (`prenorm.rs`). Weights are uploaded once; a batch is one or more passes (as many rows
//! as the adapter's binding limit allows per pass) and one readback.

pub mod device;
pub mod gpu_weights;
pub mod kernels;
pub mod prenorm;
pub mod workspace;

use self::device::{DeviceOptions, GpuDevice};
use self::gpu_weights::GpuWeights;
use self::kernels::attention::AttentionShape;
use self::kernels::matmul::{self, MatmulShape};
use self::kernels::normalize::NormalizeShape;
use self::kernels::pooling::PoolingShape;
use self::kernels::{pooling_code, row_groups, KernelShape, Kernels, RowShape, Uniform};
use self::prenorm::{PreNormWeights, PreNormWorkspace};
use self::workspace::{slot, Capacity, Dimensions, Workspace};
use crate::backend::{Backend, Embeddings, Head, TokenBatch};
use crate::error::{EmbedError, Result};
use crate::model::{self, ModelParameters, WordTable};
use crate::spec::{Architecture, EncoderSpec, HiddenAct};

/// The network on the GPU, with its workspace once a batch has needed one. (One per backend:
/// the variants' sizes do not matter.)
#[allow(clippy::large_enum_variant)]
enum Stack {
    Bert { weights: GpuWeights, workspace: Option<Workspace> },
    PreNorm { weights: PreNormWeights, workspace: Option<PreNormWorkspace> },
}

/// What every workspace has after the network: the pooled rows, their staging copy, the uniforms.
struct Pooled<'a> {
    params: &'a device::GpuBuffer,
    slot_stride: u64,
    pooled: &'a device::GpuBuffer,
    staging: &'a device::GpuBuffer,
    pooling: &'a [wgpu::BindGroup],
    normalize: &'a wgpu::BindGroup,
    pooling_slot: u64,
    normalize_slot: u64,
}

/// Tokens one pass may hold at most, whatever the adapter allows: batch 32 × 512 tokens, so the
/// activations of a small model stay near 200 MB.
const MAX_PASS_TOKENS: usize = 32 * 512;

pub struct WebGpuBackend {
    gpu: GpuDevice,
    kernels: Kernels,
    stack: Stack,
    spec: EncoderSpec,
    /// The model's word table, shared with the CPU backend (not copied): rows are gathered per batch.
    words: WordTable,
    /// Added to a pair's second-segment word rows as they are gathered (see `model::gather_rows`).
    type_deltas: Vec<f32>,
    head: Head,
    dims: Dimensions,
    heads: usize,
    max_pass_tokens: usize,
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
        if spec.architecture == Architecture::Static {
            return Err(EmbedError::WebGpu(
                "a static model has no forward pass to run on the GPU: its table is averaged on the CPU".into(),
            ));
        }
        let prenorm = spec.architecture.is_prenorm();
        let widest = if prenorm {
            spec.qkv_width().max(2 * spec.intermediate_size).max(spec.hidden_size)
        } else {
            (3 * spec.hidden_size).max(spec.intermediate_size)
        };
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
        let qk_norm = matches!(spec.architecture, Architecture::Gemma3 | Architecture::Qwen3);
        let kernels = Kernels::compile(&gpu, &KernelShape::for_encoder(spec, &gpu, q8), prenorm.then_some(qk_norm));
        let stack = if prenorm {
            let weights = gpu.out_of_memory_scope(|| PreNormWeights::upload(&gpu, model, q8)).await?;
            Stack::PreNorm { weights, workspace: None }
        } else {
            let weights = gpu.out_of_memory_scope(|| GpuWeights::upload(&gpu, model, q8)).await?;
            Stack::Bert { weights, workspace: None }
        };
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
            spec: spec.clone(),
            gpu,
            kernels,
            stack,
            head,
            max_pass_tokens,
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

    fn capacity(&self) -> Option<Capacity> {
        match &self.stack {
            Stack::Bert { workspace, .. } => workspace.as_ref().map(|w| w.capacity),
            Stack::PreNorm { workspace, .. } => workspace.as_ref().map(|w| w.capacity),
        }
    }

    async fn ensure_workspace(&mut self, needed: Capacity) -> Result<()> {
        let current = self.capacity();
        if current.is_some_and(|c| c.covers(&needed)) {
            return Ok(());
        }
        // Grow to powers of two (bounded by the pass limit) so a stream of mixed batches settles quickly.
        let grown = Capacity {
            tokens: needed.tokens.next_power_of_two().min(self.max_pass_tokens).max(needed.tokens),
            rows: needed.rows.next_power_of_two(),
            outputs: needed.outputs.next_power_of_two(),
        };
        let capacity = current.map_or(grown, |old| old.max(&grown));
        let (gpu, kernels, dims, spec) = (&self.gpu, &self.kernels, &self.dims, &self.spec);
        // The old buffers go first, so peak GPU memory is one workspace.
        match &mut self.stack {
            Stack::Bert { weights, workspace } => {
                *workspace = None;
                *workspace = Some(gpu.out_of_memory_scope(|| Workspace::new(gpu, kernels, weights, dims, capacity)).await?);
            }
            Stack::PreNorm { weights, workspace } => {
                *workspace = None;
                *workspace = Some(gpu.out_of_memory_scope(|| PreNormWorkspace::new(gpu, kernels, weights, spec, dims, capacity)).await?);
            }
        }
        Ok(())
    }

    /// What every workspace has after the network.
    fn pooled(&self) -> Result<Pooled<'_>> {
        let missing = || EmbedError::WebGpu("no workspace".into());
        Ok(match &self.stack {
            Stack::Bert { workspace, .. } => {
                let w = workspace.as_ref().ok_or_else(missing)?;
                Pooled {
                    params: &w.buffers.params,
                    slot_stride: w.slot_stride,
                    pooled: &w.buffers.pooled,
                    staging: &w.buffers.staging,
                    pooling: &w.pooling,
                    normalize: &w.normalize,
                    pooling_slot: slot::POOLING,
                    normalize_slot: slot::NORMALIZE,
                }
            }
            Stack::PreNorm { workspace, .. } => {
                let w = workspace.as_ref().ok_or_else(missing)?;
                Pooled {
                    params: &w.params,
                    slot_stride: w.slot_stride,
                    pooled: &w.pooled,
                    staging: &w.staging,
                    pooling: &w.pooling,
                    normalize: &w.normalize,
                    pooling_slot: prenorm::slot::POOLING,
                    normalize_slot: prenorm::slot::NORMALIZE,
                }
            }
        })
    }

    fn write_slot<U: Uniform>(&self, params: &device::GpuBuffer, slot_stride: u64, slot: u64, uniform: &U) {
        self.gpu.write(params, slot * slot_stride, bytemuck::bytes_of(uniform));
    }

    /// Writes the pooling uniforms of a pass over `rows` and records the pooling into `encoder`.
    fn record_pooling(&self, batch: &TokenBatch, rows: &std::ops::Range<usize>, encoder: &mut wgpu::CommandEncoder) -> Result<()> {
        let pooled = self.pooled()?;
        for (index, &mode) in self.head.pooling.modes.iter().enumerate() {
            let uniform = PoolingShape {
                seq_len: batch.seq_len as u32,
                skip: batch.pool_skip as u32,
                mode: pooling_code(mode),
                column: (index * self.dims.hidden) as u32,
                output_width: self.dims.output_width as u32,
                first_row: rows.start as u32,
                rows: rows.len() as u32,
                zero: 0,
            };
            self.write_slot(pooled.params, pooled.slot_stride, pooled.pooling_slot + index as u64, &uniform);
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("pooling"), timestamp_writes: None });
        pass.set_pipeline(&self.kernels.pooling);
        for group in pooled.pooling {
            pass.set_bind_group(0, group, &[]);
            let (x, y, z) = kernels::pooling::groups(self.dims.hidden, rows.len());
            pass.dispatch_workgroups(x, y, z);
        }
        Ok(())
    }

    /// The word rows of `token_range`, gathered on the CPU (and scaled, for Gemma3).
    fn gathered_words(&self, batch: &TokenBatch, token_range: std::ops::Range<usize>) -> Result<Vec<f32>> {
        let types = if batch.types.is_empty() { &[][..] } else { &batch.types[token_range.clone()] };
        let mut words = model::gather_rows(&self.words, &batch.ids[token_range], types, &self.type_deltas)?;
        if let Some(scale) = self.spec.embedding_scale {
            words.iter_mut().for_each(|v| *v *= scale);
        }
        Ok(words)
    }

    /// A pre-norm pass over `rows` of the batch, pooled.
    fn run_prenorm_pass(&self, batch: &TokenBatch, rows: std::ops::Range<usize>) -> Result<()> {
        let Stack::PreNorm { weights, workspace: Some(workspace) } = &self.stack else {
            return Err(EmbedError::WebGpu("no pre-norm workspace".into()));
        };
        let seq_len = batch.seq_len;
        let token_range = rows.start * seq_len..rows.end * seq_len;
        let words = self.gathered_words(batch, token_range.clone())?;
        let lengths: Vec<u32> = batch.lengths[rows.clone()].iter().map(|&l| l as u32).collect();
        let input = prenorm::PassInput {
            spec: &self.spec,
            weights,
            kernels: &self.kernels,
            words: &words,
            positions: &batch.positions[token_range],
            lengths: &lengths,
            seq_len,
        };
        let mut encoder = self.gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("pre-norm pass") });
        prenorm::record_pass(&self.gpu, workspace, &input, &mut encoder)?;
        self.record_pooling(batch, &rows, &mut encoder)?;
        self.gpu.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Runs the encoder and pooling over `rows` (a slice of the batch's rows) into output rows
    /// starting at `first_row`.
    fn run_bert_pass(&self, batch: &TokenBatch, rows: std::ops::Range<usize>) -> Result<()> {
        let Stack::Bert { workspace: Some(workspace), .. } = &self.stack else {
            return Err(EmbedError::WebGpu("no workspace".into()));
        };
        let bert = self.kernels.bert.as_ref().ok_or_else(|| EmbedError::WebGpu("the BERT kernels were not compiled".into()))?;
        let seq_len = batch.seq_len;
        let row_count = rows.len();
        let tokens = row_count * seq_len;
        let token_range = rows.start * seq_len..rows.end * seq_len;
        let (hidden, intermediate) = (self.dims.hidden, self.dims.intermediate);
        let buffers = &workspace.buffers;
        let words = self.gathered_words(batch, token_range.clone())?;
        let lengths: Vec<u32> = batch.lengths[rows.clone()].iter().map(|&l| l as u32).collect();
        self.gpu.write(&buffers.words, 0, bytemuck::cast_slice(&words));
        self.gpu.write(&buffers.positions, 0, bytemuck::cast_slice(&batch.positions[token_range]));
        self.gpu.write(&buffers.lengths, 0, bytemuck::cast_slice(&lengths));
        self.write_slot(&buffers.params, workspace.slot_stride, slot::ROWS, &RowShape { tokens: tokens as u32, ..Default::default() });
        self.write_slot(&buffers.params, workspace.slot_stride, slot::QKV, &MatmulShape::new(tokens, 3 * hidden, hidden));
        self.write_slot(&buffers.params, workspace.slot_stride, slot::ATTENTION_OUT, &MatmulShape::new(tokens, hidden, hidden));
        self.write_slot(
            &buffers.params,
            workspace.slot_stride,
            slot::INTERMEDIATE,
            &MatmulShape::new(tokens, intermediate, hidden).activated(self.activation),
        );
        self.write_slot(&buffers.params, workspace.slot_stride, slot::OUTPUT, &MatmulShape::new(tokens, hidden, intermediate));
        self.write_slot(&buffers.params, workspace.slot_stride, slot::ATTENTION, &AttentionShape::new(row_count, seq_len));
        let mut encoder = self.gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("encoder pass") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
            let rows_dispatch = row_groups(tokens);
            let k = &self.kernels;
            pass.set_pipeline(&bert.embeddings);
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
                pass.set_pipeline(&bert.add_layernorm);
                pass.set_bind_group(0, &layer.attention_norm, &[]);
                pass.dispatch_workgroups(rows_dispatch.0, rows_dispatch.1, 1);
                matmul(&mut pass, &k.matmul, &layer.intermediate, self.dims.intermediate);
                matmul(&mut pass, &k.matmul, &layer.output, self.dims.hidden);
                pass.set_pipeline(&bert.add_layernorm);
                pass.set_bind_group(0, &layer.output_norm, &[]);
                pass.dispatch_workgroups(rows_dispatch.0, rows_dispatch.1, 1);
            }
        }
        self.record_pooling(batch, &rows, &mut encoder)?;
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
        let mut start = 0;
        while start < batch.batch {
            let end = (start + rows_per_pass).min(batch.batch);
            match &self.stack {
                Stack::Bert { .. } => self.run_bert_pass(batch, start..end)?,
                Stack::PreNorm { .. } => self.run_prenorm_pass(batch, start..end)?,
            }
            start = end;
        }
        let width = self.dims.output_width;
        let pooled = self.pooled()?;
        if self.head.normalize {
            self.write_slot(pooled.params, pooled.slot_stride, pooled.normalize_slot, &NormalizeShape::new(batch.batch, width));
            let mut encoder = self.gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("normalize") });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
                pass.set_pipeline(&self.kernels.normalize);
                pass.set_bind_group(0, pooled.normalize, &[]);
                pass.dispatch_workgroups(batch.batch as u32, 1, 1);
            }
            self.gpu.queue.submit([encoder.finish()]);
        }
        let bytes = (batch.batch * width * 4) as u64;
        self.gpu.read(pooled.pooled, pooled.staging, bytes).await
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
