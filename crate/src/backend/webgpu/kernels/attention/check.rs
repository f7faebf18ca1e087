//! The attention kernel against the CPU path's attention on padded batches.

use super::{groups, AttentionShape};
use crate::backend::cpu::attention::{attention, repad, unpad};
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, Kernel};
use crate::error::Result;

/// Attention over padded batches: `(seq_len, lengths)` per case, for head sizes 32 and 64.
pub async fn check_attention(gpu: &GpuDevice) -> Result<Vec<KernelReport>> {
    let cases: [(usize, &[usize]); 6] =
        [(1, &[1]), (7, &[7, 3]), (33, &[33, 1, 20]), (130, &[130, 65]), (384, &[200, 384]), (512, &[512, 479])];
    check_attention_cases(gpu, &[(2, 32), (3, 64)], &cases).await
}

/// Attention for each (heads, head_dim) on each (seq_len, lengths).
pub async fn check_attention_cases(
    gpu: &GpuDevice,
    head_shapes: &[(usize, usize)],
    cases: &[(usize, &[usize])],
) -> Result<Vec<KernelReport>> {
    let mut numbers = Numbers(2);
    let mut reports = Vec::new();
    for &(heads, head_dim) in head_shapes {
        let hidden = heads * head_dim;
        let kernel = build(gpu, Kernel::Attention, &shape(hidden, head_dim, false));
        for &(seq_len, lengths) in cases {
            let batch = lengths.len();
            let qkv = numbers.take(batch * seq_len * 3 * hidden).iter().map(|v| v * 3.0).collect::<Vec<_>>();
            let mut expected = vec![0f32; batch * seq_len * hidden];
            repad(
                &attention(&unpad(&qkv, 3 * hidden, seq_len, lengths), lengths, heads, head_dim),
                hidden,
                seq_len,
                lengths,
                &mut expected,
            );
            let lengths_u32: Vec<u32> = lengths.iter().map(|&l| l as u32).collect();
            let inputs = [bytes(&qkv), bytes(&lengths_u32), vec![0u8; batch * seq_len * hidden * 4]];
            let got = run(gpu, &kernel, &AttentionShape::new(batch, seq_len), &inputs, groups(seq_len, heads, batch)).await?;
            // Padded query rows hold unspecified values on both backends.
            let real = |i: usize| (i / hidden) % seq_len < lengths[i / hidden / seq_len];
            let case = format!("heads={heads}×{head_dim} seq={seq_len} lengths={lengths:?}");
            reports.push(compare("attention", case, &got, &expected, 1e-5, real));
        }
    }
    Ok(reports)
}
