//! The rotary kernel against the CPU path's per-head RMSNorm and rotation (`backend::cpu::prenorm`),
//! with the rotary tables the model code makes, for head sizes up to EmbeddingGemma's 256.

use super::{groups, RotaryShape};
use crate::backend::cpu::norms::rms_norm_row;
use crate::backend::cpu::prenorm::rotate;
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, Kernel, KernelShape};
use crate::error::Result;
use crate::model::prenorm::rotary_table;

pub async fn check_rotary(gpu: &GpuDevice) -> Result<Vec<KernelReport>> {
    let mut numbers = Numbers(13);
    let mut reports = Vec::new();
    // (heads, kv_heads, head_dim, qk_norm): ModernBERT's, Qwen3's, EmbeddingGemma's geometries.
    for (heads, kv_heads, head_dim, qk_norm) in [(4, 4, 16, false), (4, 2, 24, true), (3, 1, 256, true), (2, 2, 130, true)] {
        let eps = 1e-6;
        let kernel_shape = KernelShape { heads, kv_heads, layer_norm_eps: eps, ..shape(heads * head_dim, head_dim, false) };
        let kernel = build(gpu, Kernel::Rotary { qk_norm }, &kernel_shape);
        let stride = (heads + 2 * kv_heads) * head_dim;
        let positions_count = 40;
        let (cos, sin) = rotary_table(10000.0, 1.0, head_dim, positions_count);
        for tokens in [1usize, 7, 33] {
            let qkv = numbers.take(tokens * stride).iter().map(|v| v * 2.0).collect::<Vec<_>>();
            let positions: Vec<u32> = (0..tokens as u32).map(|t| (t * 7) % positions_count as u32).collect();
            let norms: Vec<f32> = numbers.take(2 * head_dim).iter().map(|v| 1.0 + 0.3 * v).collect();
            let mut expected = qkv.clone();
            let half = head_dim / 2;
            for (t, row) in expected.chunks_exact_mut(stride).enumerate() {
                let p = positions[t] as usize;
                for head in 0..heads + kv_heads {
                    let vector = &mut row[head * head_dim..(head + 1) * head_dim];
                    if qk_norm {
                        let weight = if head < heads { &norms[..head_dim] } else { &norms[head_dim..] };
                        rms_norm_row(vector, weight, eps);
                    }
                    rotate(vector, &cos[p * half..(p + 1) * half], &sin[p * half..(p + 1) * half]);
                }
            }
            let inputs = [bytes(&qkv), bytes(&positions), bytes(&cos), bytes(&sin), bytes(&norms)];
            // The output is the first buffer (in place): put it last for `run` by swapping the order back.
            let got = run_in_place(gpu, &kernel, &RotaryShape::new(tokens, heads), &inputs, groups(tokens, heads + kv_heads)).await?;
            // Values heads the kernel does not touch stay as they were on both sides.
            reports.push(compare(
                "rotary",
                format!("heads={heads}/{kv_heads}×{head_dim} norm={qk_norm} tokens={tokens}"),
                &got,
                &expected,
                1e-5,
                |_| true,
            ));
        }
    }
    Ok(reports)
}

/// `run` for a kernel whose output is its first buffer.
async fn run_in_place(
    gpu: &GpuDevice,
    kernel: &wgpu::ComputePipeline,
    shape: &RotaryShape,
    inputs: &[Vec<u8>],
    groups: (u32, u32, u32),
) -> Result<Vec<f32>> {
    crate::backend::webgpu::kernels::check::run_reading(gpu, kernel, shape, inputs, groups, 0).await
}
