//! Every WGSL kernel run alone against the CPU path's result on awkward shapes (1, 7, 33, 130,
//! 384, 1536 and padded batches). Lives in the library, not in tests/, so the same checks run
//! natively (`cargo test`, Vulkan on lavapipe) and in the browser (`checkKernels()`, WebGPU).

use serde::Serialize;

use super::device::{f32_bytes, u32_bytes, GpuBuffer, GpuDevice};
use super::kernels::{build, matmul_groups, row_groups, Kernel, KernelShape};
use crate::backend::cpu::activations::gelu_erf_in_place;
use crate::backend::cpu::attention::attention;
use crate::backend::cpu::matmul::PackedWeights;
use crate::error::Result;
use crate::pooling::{self, PoolingMode, PoolingSpec};
use crate::spec::HiddenAct;

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
struct Numbers(u64);

impl Numbers {
    fn take(&mut self, count: usize) -> Vec<f32> {
        (0..count)
            .map(|_| {
                self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }
}

fn bytes_u32(values: &[u32]) -> Vec<u8> {
    u32_bytes(values.iter().copied())
}

/// Runs `pipeline` once over `inputs` (bindings 1…) with `shape` as its uniform; the last input
/// is the output, read back.
async fn run(gpu: &GpuDevice, pipeline: &wgpu::ComputePipeline, shape: [u32; 8], inputs: &[Vec<u8>], groups: (u32, u32, u32)) -> Result<Vec<f32>> {
    use wgpu::BufferUsages as U;
    let uniform = gpu.buffer("check.shape", 32, U::UNIFORM | U::COPY_DST)?;
    gpu.write(&uniform, 0, &bytes_u32(&shape));
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
    let output = buffers.last().ok_or_else(|| crate::error::EmbedError::WebGpu("no output".into()))?;
    let size = inputs.last().map(|b| b.len()).unwrap_or(0) as u64;
    let staging = gpu.buffer("check.staging", size, U::MAP_READ | U::COPY_DST)?;
    gpu.read(output, &staging, size.next_multiple_of(4)).await
}

fn compare(kernel: &str, shape: String, got: &[f32], expected: &[f32], tolerance: f64, only: impl Fn(usize) -> bool) -> KernelReport {
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

fn kernel_shape(hidden: usize, head_dim: usize, f16_weights: bool) -> KernelShape {
    KernelShape { hidden, head_dim, layer_norm_eps: 1e-12, activation: HiddenAct::GeluErf, f16_weights }
}

/// matmul (with and without the fused GELU) on every M, N, K in `sizes`.
pub async fn check_matmul(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let shapes: Vec<(usize, usize, usize)> = sizes.iter().flat_map(|&m| sizes.iter().flat_map(move |&n| sizes.iter().map(move |&k| (m, n, k)))).collect();
    check_matmul_shapes(gpu, &shapes).await
}

/// matmul on the given (M, N, K); GELU fused on every other one.
pub async fn check_matmul_shapes(gpu: &GpuDevice, shapes: &[(usize, usize, usize)]) -> Result<Vec<KernelReport>> {
    let f16 = gpu.shader_f16;
    let shape = kernel_shape(64, 32, f16);
    let (plain, fused) = (build(gpu, Kernel::Matmul, &shape), build(gpu, Kernel::MatmulActivation, &shape));
    // f16 weights round each weight to 11 significant bits; f32 leaves only summation order.
    let tolerance = if f16 { 2e-3 } else { 1e-5 };
    let mut numbers = Numbers(1);
    let mut reports = Vec::new();
    for &(m, n, k) in shapes {
        {
            {
                let input = numbers.take(m * k);
                let weight = numbers.take(n * k);
                let bias = numbers.take(n);
                let gelu = (m + n + k) % 2 == 0;
                let mut expected = PackedWeights::pack(&weight, &bias, n, k).apply(&input, m);
                if gelu {
                    gelu_erf_in_place(&mut expected);
                }
                let weight_bytes = if f16 {
                    weight.iter().flat_map(|&w| half::f16::from_f32(w).to_le_bytes()).collect()
                } else {
                    f32_bytes(&weight)
                };
                let pipeline = if gelu { &fused } else { &plain };
                let (x, y) = matmul_groups(m, n);
                let inputs = [f32_bytes(&input), weight_bytes, f32_bytes(&bias), vec![0u8; m * n * 4]];
                let got = run(gpu, pipeline, [m as u32, n as u32, k as u32, 0, 0, 0, 0, 0], &inputs, (x, y, 1)).await?;
                let name = if gelu { "matmul+gelu" } else { "matmul" };
                reports.push(compare(name, format!("M={m} N={n} K={k}"), &got, &expected, tolerance, |_| true));
            }
        }
    }
    Ok(reports)
}

/// Attention over padded batches: `(seq_len, lengths)` per case, for head sizes 32 and 64.
pub async fn check_attention(gpu: &GpuDevice) -> Result<Vec<KernelReport>> {
    let cases: [(usize, &[usize]); 6] = [(1, &[1]), (7, &[7, 3]), (33, &[33, 1, 20]), (130, &[130, 65]), (384, &[200, 384]), (512, &[512, 479])];
    check_attention_cases(gpu, &[(2, 32), (3, 64)], &cases).await
}

/// Attention for each (heads, head_dim) on each (seq_len, lengths).
pub async fn check_attention_cases(gpu: &GpuDevice, head_shapes: &[(usize, usize)], cases: &[(usize, &[usize])]) -> Result<Vec<KernelReport>> {
    let mut numbers = Numbers(2);
    let mut reports = Vec::new();
    for &(heads, head_dim) in head_shapes {
        let hidden = heads * head_dim;
        let kernel = build(gpu, Kernel::Attention, &kernel_shape(hidden, head_dim, false));
        for &(seq_len, lengths) in cases {
            let batch = lengths.len();
            let qkv = numbers.take(batch * seq_len * 3 * hidden).iter().map(|v| v * 3.0).collect::<Vec<_>>();
            let expected = attention(&qkv, batch, seq_len, heads, head_dim, lengths);
            let lengths_u32: Vec<u32> = lengths.iter().map(|&l| l as u32).collect();
            let inputs = [f32_bytes(&qkv), bytes_u32(&lengths_u32), vec![0u8; batch * seq_len * hidden * 4]];
            let groups = (seq_len.div_ceil(64) as u32, heads as u32, batch as u32);
            let got = run(gpu, &kernel, [batch as u32, seq_len as u32, 0, 0, 0, 0, 0, 0], &inputs, groups).await?;
            // Padded query rows hold unspecified values on both backends.
            let real = |i: usize| (i / hidden) % seq_len < lengths[i / hidden / seq_len];
            let shape = format!("heads={heads}×{head_dim} seq={seq_len} lengths={lengths:?}");
            reports.push(compare("attention", shape, &got, &expected, 1e-5, real));
        }
    }
    Ok(reports)
}

fn layer_norm_reference(row: &[f32], weight: &[f32], bias: &[f32], eps: f64) -> Vec<f32> {
    let n = row.len() as f64;
    let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    row.iter().zip(weight).zip(bias).map(|((&v, &w), &b)| ((v as f64 - mean) * inv * w as f64 + b as f64) as f32).collect()
}

/// residual + LayerNorm, and the embedding sum + LayerNorm, for hidden sizes in `sizes`.
pub async fn check_layer_norms(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let mut numbers = Numbers(3);
    let mut reports = Vec::new();
    for &hidden in sizes {
        let shape = kernel_shape(hidden, 32, false);
        let (add_layernorm, embeddings) = (build(gpu, Kernel::AddLayerNorm, &shape), build(gpu, Kernel::Embeddings, &shape));
        for rows in [1usize, 7, 130] {
            let input = numbers.take(rows * hidden);
            let residual = numbers.take(rows * hidden);
            let weight = numbers.take(hidden);
            let bias = numbers.take(hidden);
            let expected: Vec<f32> = (0..rows)
                .flat_map(|r| {
                    let sum: Vec<f32> = (0..hidden).map(|c| input[r * hidden + c] + residual[r * hidden + c]).collect();
                    layer_norm_reference(&sum, &weight, &bias, 1e-12)
                })
                .collect();
            let inputs = [f32_bytes(&input), f32_bytes(&residual), f32_bytes(&weight), f32_bytes(&bias), vec![0u8; rows * hidden * 4]];
            let (x, y) = row_groups(rows);
            let got = run(gpu, &add_layernorm, [rows as u32, 0, 0, 0, 0, 0, 0, 0], &inputs, (x, y, 1)).await?;
            reports.push(compare("add_layernorm", format!("rows={rows} hidden={hidden}"), &got, &expected, 1e-5, |_| true));

            // Embeddings: gathered word rows + position rows (ids out of order) + token type.
            let positions: Vec<u32> = (0..rows as u32).map(|r| (r * 7 + 3) % 11).collect();
            let table = numbers.take(11 * hidden);
            let token_type = numbers.take(hidden);
            let expected: Vec<f32> = (0..rows)
                .flat_map(|r| {
                    let p = positions[r] as usize;
                    let sum: Vec<f32> = (0..hidden).map(|c| input[r * hidden + c] + token_type[c] + table[p * hidden + c]).collect();
                    layer_norm_reference(&sum, &weight, &bias, 1e-12)
                })
                .collect();
            let inputs = [
                f32_bytes(&input),
                bytes_u32(&positions),
                f32_bytes(&table),
                f32_bytes(&token_type),
                f32_bytes(&weight),
                f32_bytes(&bias),
                vec![0u8; rows * hidden * 4],
            ];
            let got = run(gpu, &embeddings, [rows as u32, 0, 0, 0, 0, 0, 0, 0], &inputs, (x, y, 1)).await?;
            reports.push(compare("embeddings", format!("rows={rows} hidden={hidden}"), &got, &expected, 1e-5, |_| true));
        }
    }
    Ok(reports)
}

/// Every pooling mode on a padded batch, with and without a skipped prompt.
pub async fn check_pooling(gpu: &GpuDevice) -> Result<Vec<KernelReport>> {
    let modes = [
        PoolingMode::Cls,
        PoolingMode::Max,
        PoolingMode::Mean,
        PoolingMode::MeanSqrtLen,
        PoolingMode::WeightedMean,
        PoolingMode::LastToken,
    ];
    let mut numbers = Numbers(4);
    let mut reports = Vec::new();
    for hidden in [7usize, 130] {
        let kernel = build(gpu, Kernel::Pooling, &kernel_shape(hidden, 32, false));
        let (seq_len, lengths) = (33usize, [33usize, 7, 1]);
        let hidden_states = numbers.take(lengths.len() * seq_len * hidden);
        for skip in [0usize, 3] {
            for (index, &mode) in modes.iter().enumerate() {
                let spec = PoolingSpec { modes: vec![mode], include_prompt: skip == 0, dimension: hidden };
                let mut expected = Vec::new();
                for (row, &length) in lengths.iter().enumerate() {
                    let mask: Vec<f32> = (0..seq_len).map(|t| if t < length && t >= skip { 1.0 } else { 0.0 }).collect();
                    pooling::pool(&spec, &hidden_states[row * seq_len * hidden..(row + 1) * seq_len * hidden], &mask, &mut expected);
                }
                let lengths_u32: Vec<u32> = lengths.iter().map(|&l| l as u32).collect();
                let inputs = [f32_bytes(&hidden_states), bytes_u32(&lengths_u32), vec![0u8; lengths.len() * hidden * 4]];
                let shape = [seq_len as u32, skip as u32, index as u32, 0, hidden as u32, 0, lengths.len() as u32, 0];
                let groups = (hidden.div_ceil(64) as u32, lengths.len() as u32, 1);
                let got = run(gpu, &kernel, shape, &inputs, groups).await?;
                let name = format!("pooling {mode:?}");
                reports.push(compare(&name, format!("hidden={hidden} seq={seq_len} lengths={lengths:?} skip={skip}"), &got, &expected, 1e-6, |_| true));
            }
        }
    }
    Ok(reports)
}

/// Normalize on rows of every width in `sizes`.
pub async fn check_normalize(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let kernel = build(gpu, Kernel::Normalize, &kernel_shape(64, 32, false));
    let mut numbers = Numbers(5);
    let mut reports = Vec::new();
    for &width in sizes {
        let rows = 3;
        let mut values = numbers.take(rows * width);
        // An all-zero row must stay zero (norm clamped), not become NaN.
        values[..width].fill(0.0);
        let mut expected = values.clone();
        expected.chunks_exact_mut(width).for_each(pooling::normalize);
        let got = run(gpu, &kernel, [rows as u32, width as u32, 0, 0, 0, 0, 0, 0], &[f32_bytes(&values)], (rows as u32, 1, 1)).await?;
        reports.push(compare("normalize", format!("rows={rows} width={width}"), &got, &expected, 1e-6, |_| true));
    }
    Ok(reports)
}

/// Every check; `quick` trims the matmul sweep to sizes up to 384 (for slow software adapters).
pub async fn check_kernels(gpu: &GpuDevice, quick: bool) -> Result<Vec<KernelReport>> {
    let matmul_sizes: &[usize] = if quick { &AWKWARD[..5] } else { &AWKWARD };
    let mut reports = check_matmul(gpu, matmul_sizes).await?;
    reports.extend(check_attention(gpu).await?);
    reports.extend(check_layer_norms(gpu, &AWKWARD).await?);
    reports.extend(check_pooling(gpu).await?);
    reports.extend(check_normalize(gpu, &AWKWARD).await?);
    gpu.check()?;
    Ok(reports)
}
