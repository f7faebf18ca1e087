//! The attention kernel against the CPU path's attention on padded batches.

use super::{groups, AttentionShape};
use crate::backend::cpu::attention::{attention, attention_with, repad, unpad, AttentionLayout};
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, Kernel, KernelShape};
use crate::error::Result;

/// Attention over padded batches: `(seq_len, lengths)` per case, for head sizes 32 and 64.
pub async fn check_attention(gpu: &GpuDevice) -> Result<Vec<KernelReport>> {
    let cases: [(usize, &[usize]); 6] =
        [(1, &[1]), (7, &[7, 3]), (33, &[33, 1, 20]), (130, &[130, 65]), (384, &[200, 384]), (512, &[512, 479])];
    let mut reports = check_attention_cases(gpu, &[(2, 32), (3, 64)], &cases).await?;
    reports.extend(check_attention_layouts(gpu).await?);
    Ok(reports)
}

/// Grouped-query heads, windows (sliding layers) and causal masks, as the pre-norm families use
/// them, on padded batches longer than three windows.
pub async fn check_attention_layouts(gpu: &GpuDevice) -> Result<Vec<KernelReport>> {
    let layouts = [
        // ModernBERT's local layers: every head its own keys, a window of 4 each side.
        AttentionLayout { heads: 4, kv_heads: 4, head_dim: 16, scale: 0.25, window: Some(4), causal: false },
        // EmbeddingGemma's: one key/value head for two query heads of 48, bidirectional window 8.
        AttentionLayout { heads: 2, kv_heads: 1, head_dim: 48, scale: 0.1443, window: Some(8), causal: false },
        // Qwen3's: causal, groups of two.
        AttentionLayout { heads: 4, kv_heads: 2, head_dim: 24, scale: 0.2041, window: None, causal: true },
        // A causal sliding window.
        AttentionLayout { heads: 2, kv_heads: 2, head_dim: 8, scale: 0.35, window: Some(5), causal: true },
    ];
    let cases: [(usize, &[usize]); 3] = [(1, &[1]), (33, &[33, 7]), (130, &[130, 70, 1])];
    let mut numbers = Numbers(5);
    let mut reports = Vec::new();
    for layout in layouts {
        let shape = KernelShape {
            heads: layout.heads,
            kv_heads: layout.kv_heads,
            attention_scale: layout.scale as f64,
            causal: layout.causal,
            ..shape(layout.heads * layout.head_dim, layout.head_dim, false)
        };
        let kernel = build(gpu, Kernel::Attention, &shape);
        let (stride, width) = (layout.stride(), layout.heads * layout.head_dim);
        for &(seq_len, lengths) in &cases {
            let batch = lengths.len();
            let qkv = numbers.take(batch * seq_len * stride).iter().map(|v| v * 3.0).collect::<Vec<_>>();
            let mut expected = vec![0f32; batch * seq_len * width];
            repad(&attention_with(&unpad(&qkv, stride, seq_len, lengths), lengths, &layout), width, seq_len, lengths, &mut expected);
            let lengths_u32: Vec<u32> = lengths.iter().map(|&l| l as u32).collect();
            let inputs = [bytes(&qkv), bytes(&lengths_u32), vec![0u8; batch * seq_len * width * 4]];
            let uniform = AttentionShape::new(batch, seq_len).windowed(layout.window);
            let got = run(gpu, &kernel, &uniform, &inputs, groups(seq_len, layout.heads, batch)).await?;
            let real = |i: usize| (i / width) % seq_len < lengths[i / width / seq_len];
            let case = format!("{layout:?} seq={seq_len} lengths={lengths:?}");
            reports.push(compare("attention", case, &got, &expected, 1e-5, real));
        }
    }
    Ok(reports)
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
