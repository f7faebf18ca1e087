//! The residual + LayerNorm kernel against an f64 reference, for every hidden size given.

use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, layer_norm_reference, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, row_groups, Kernel, RowShape};
use crate::error::Result;

pub async fn check_add_layernorm(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let mut numbers = Numbers(3);
    let mut reports = Vec::new();
    for &hidden in sizes {
        let kernel = build(gpu, Kernel::AddLayerNorm, &shape(hidden, 32, false));
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
            let inputs = [bytes(&input), bytes(&residual), bytes(&weight), bytes(&bias), vec![0u8; rows * hidden * 4]];
            let (x, y) = row_groups(rows);
            let uniform = RowShape { tokens: rows as u32, ..Default::default() };
            let got = run(gpu, &kernel, &uniform, &inputs, (x, y, 1)).await?;
            reports.push(compare("add_layernorm", format!("rows={rows} hidden={hidden}"), &got, &expected, 1e-5, |_| true));
        }
    }
    Ok(reports)
}
