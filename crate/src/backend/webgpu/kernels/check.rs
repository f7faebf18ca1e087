//! What every kernel check shares, and `check_kernels`, which gathers them. Each kernel is run
//! alone against the CPU path's result on awkward shapes (1, 7, 33, 130, 384, 1536 and padded
//! batches). The checks live in the library, not in tests/, so the same checks run natively
//! (`cargo test`, Vulkan on lavapipe) and in the browser (`checkKernels()`, WebGPU).

use serde::Serialize;

use super::{Uniform, SLOT_BYTES};
use crate::backend::webgpu::device::{GpuBuffer, GpuDevice};
use crate::error::{EmbedError, Result};

/// The sizes the conventions ask every kernel to be checked on.
pub const AWKWARD: [usize; 6] = [1, 7, 33, 130, 384, 1536];

#[derive(Clone, Debug, Serialize)]
pub struct KernelReport {
    pub kernel: String,
    pub shape: String,
    /// Largest |gpu − cpu| over the output, divided by the largest |cpu| (at least 1).
    pub error: f64,
    pub tolerance: f64,
    pub passed: bool,
}

/// Deterministic values in [-1, 1).
pub struct Numbers(pub u64);

impl Numbers {
    pub fn take(&mut self, count: usize) -> Vec<f32> {
        (0..count)
            .map(|_| {
                self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }
}

/// Little-endian bytes of a slice, as buffers take them.
pub fn bytes<T: bytemuck::Pod>(values: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(values).to_vec()
}

/// Runs `pipeline` once over `inputs` (bindings 1…) with `shape` as its uniform; the last input
/// is the output, read back.
pub async fn run<U: Uniform>(
    gpu: &GpuDevice,
    pipeline: &wgpu::ComputePipeline,
    shape: &U,
    inputs: &[Vec<u8>],
    groups: (u32, u32, u32),
) -> Result<Vec<f32>> {
    run_reading(gpu, pipeline, shape, inputs, groups, inputs.len().saturating_sub(1)).await
}

/// `run`, reading back input `output` (a kernel that works in place).
pub async fn run_reading<U: Uniform>(
    gpu: &GpuDevice,
    pipeline: &wgpu::ComputePipeline,
    shape: &U,
    inputs: &[Vec<u8>],
    groups: (u32, u32, u32),
    output: usize,
) -> Result<Vec<f32>> {
    use wgpu::BufferUsages as U;
    let uniform = gpu.buffer("check.shape", SLOT_BYTES, U::UNIFORM | U::COPY_DST)?;
    gpu.write(&uniform, 0, bytemuck::bytes_of(shape));
    let buffers: Vec<GpuBuffer> = inputs
        .iter()
        .map(|bytes| {
            let buffer = gpu.buffer("check.input", bytes.len() as u64, U::STORAGE | U::COPY_DST | U::COPY_SRC)?;
            gpu.write(&buffer, 0, bytes);
            Ok(buffer)
        })
        .collect::<Result<_>>()?;
    let group = gpu.bind(pipeline, uniform.buffer.as_entire_binding(), &buffers.iter().collect::<Vec<_>>());
    let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("kernel check") });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
    }
    gpu.queue.submit([encoder.finish()]);
    let read = buffers.get(output).ok_or_else(|| EmbedError::WebGpu("no output".into()))?;
    let size = inputs.get(output).map(|b| b.len()).unwrap_or(0) as u64;
    let staging = gpu.buffer("check.staging", size, U::MAP_READ | U::COPY_DST)?;
    gpu.read(read, &staging, size.next_multiple_of(4)).await
}

/// The report for one case: the largest error over the outputs `only` selects, relative to the
/// largest expected magnitude.
pub fn compare(kernel: &str, shape: String, got: &[f32], expected: &[f32], tolerance: f64, only: impl Fn(usize) -> bool) -> KernelReport {
    let mut worst = 0f64;
    let mut scale = 1f64;
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        if !only(i) {
            continue;
        }
        if e.is_finite() {
            scale = scale.max(e.abs() as f64);
        }
        // Equal infinities (max pooling over no tokens) and equal NaNs agree.
        let same = g == e || (g.is_nan() && e.is_nan());
        let diff = (g as f64 - e as f64).abs();
        worst = worst.max(match (same, diff.is_nan()) {
            (true, _) => 0.0,
            (false, true) => f64::INFINITY,
            (false, false) => diff,
        });
    }
    let error = if got.len() < expected.len() { f64::INFINITY } else { worst / scale };
    KernelReport { kernel: kernel.into(), shape, error, tolerance, passed: error <= tolerance }
}

/// Every check; `quick` trims the matmul sweep to sizes up to 384 (for slow software adapters).
pub async fn check_kernels(gpu: &GpuDevice, quick: bool) -> Result<Vec<KernelReport>> {
    let matmul_sizes: &[usize] = if quick { &AWKWARD[..5] } else { &AWKWARD };
    let mut reports = super::matmul::check::check_matmul(gpu, matmul_sizes).await?;
    reports.extend(super::matmul::check::check_matmul_q8(gpu, matmul_sizes).await?);
    reports.extend(super::attention::check::check_attention(gpu).await?);
    reports.extend(super::add_layernorm::check::check_add_layernorm(gpu, &AWKWARD).await?);
    reports.extend(super::embeddings::check::check_embeddings(gpu, &AWKWARD).await?);
    reports.extend(super::pooling::check::check_pooling(gpu).await?);
    reports.extend(super::normalize::check::check_normalize(gpu, &AWKWARD).await?);
    reports.extend(super::residual_norm::check::check_residual_norm(gpu, &AWKWARD[..5]).await?);
    reports.extend(super::rotary::check::check_rotary(gpu).await?);
    reports.extend(super::gated::check::check_gated(gpu, &AWKWARD).await?);
    gpu.check()?;
    Ok(reports)
}

/// LayerNorm of one row in f64, the reference for both LayerNorm kernels.
pub fn layer_norm_reference(row: &[f32], weight: &[f32], bias: &[f32], eps: f64) -> Vec<f32> {
    let n = row.len() as f64;
    let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    row.iter().zip(weight).zip(bias).map(|((&v, &w), &b)| ((v as f64 - mean) * inv * w as f64 + b as f64) as f32).collect()
}

/// A kernel shape for the checks: only what the checked kernel reads matters.
pub fn shape(hidden: usize, head_dim: usize, f16_weights: bool) -> super::KernelShape {
    let heads = (hidden / head_dim).max(1);
    super::KernelShape {
        hidden,
        head_dim,
        heads,
        kv_heads: heads,
        attention_scale: 1.0 / (head_dim as f64).sqrt(),
        causal: false,
        rms_norm: false,
        layer_norm_eps: 1e-12,
        f16_weights,
        q8_weights: false,
        tiling: super::matmul::MatmulTiling::Gpu,
    }
}
