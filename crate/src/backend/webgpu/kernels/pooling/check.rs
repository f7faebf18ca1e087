//! The pooling kernel against `crate::pooling` for every mode, with and without a skipped prompt.

use super::{groups, PoolingShape};
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, pooling_code, Kernel};
use crate::error::Result;
use crate::pooling::{self, PoolingMode, PoolingSpec};

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
        let kernel = build(gpu, Kernel::Pooling, &shape(hidden, 32, false));
        let (seq_len, lengths) = (33usize, [33usize, 7, 1]);
        let hidden_states = numbers.take(lengths.len() * seq_len * hidden);
        for skip in [0usize, 3] {
            for mode in modes {
                let spec = PoolingSpec { modes: vec![mode], include_prompt: skip == 0, dimension: hidden };
                let mut expected = Vec::new();
                for (row, &length) in lengths.iter().enumerate() {
                    let mask: Vec<f32> = (0..seq_len).map(|t| if t < length && t >= skip { 1.0 } else { 0.0 }).collect();
                    pooling::pool(&spec, &hidden_states[row * seq_len * hidden..(row + 1) * seq_len * hidden], &mask, &mut expected);
                }
                let lengths_u32: Vec<u32> = lengths.iter().map(|&l| l as u32).collect();
                let inputs = [bytes(&hidden_states), bytes(&lengths_u32), vec![0u8; lengths.len() * hidden * 4]];
                let uniform = PoolingShape {
                    seq_len: seq_len as u32,
                    skip: skip as u32,
                    mode: pooling_code(mode),
                    output_width: hidden as u32,
                    rows: lengths.len() as u32,
                    ..Default::default()
                };
                let got = run(gpu, &kernel, &uniform, &inputs, groups(hidden, lengths.len())).await?;
                let case = format!("hidden={hidden} seq={seq_len} lengths={lengths:?} skip={skip}");
                reports.push(compare(&format!("pooling {mode:?}"), case, &got, &expected, 1e-6, |_| true));
            }
        }
    }
    Ok(reports)
}
