//! The embedding sum + LayerNorm kernel against an f64 reference, for every hidden size given.

use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, layer_norm_reference, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, row_groups, Kernel, RowShape};
use crate::error::Result;

pub async fn check_embeddings(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let mut numbers = Numbers(6);
    let mut reports = Vec::new();
    for &hidden in sizes {
        let kernel = build(gpu, Kernel::Embeddings, &shape(hidden, 32, false));
        for rows in [1usize, 7, 130] {
            let words = numbers.take(rows * hidden);
            let weight = numbers.take(hidden);
            let bias = numbers.take(hidden);
            // Position ids out of order, into an 11-row table.
            let positions: Vec<u32> = (0..rows as u32).map(|r| (r * 7 + 3) % 11).collect();
            let table = numbers.take(11 * hidden);
            let token_type = numbers.take(hidden);
            let expected: Vec<f32> = (0..rows)
                .flat_map(|r| {
                    let p = positions[r] as usize;
                    let sum: Vec<f32> = (0..hidden).map(|c| words[r * hidden + c] + token_type[c] + table[p * hidden + c]).collect();
                    layer_norm_reference(&sum, &weight, &bias, 1e-12)
                })
                .collect();
            let inputs = [
                bytes(&words),
                bytes(&positions),
                bytes(&table),
                bytes(&token_type),
                bytes(&weight),
                bytes(&bias),
                vec![0u8; rows * hidden * 4],
            ];
            let (x, y) = row_groups(rows);
            let uniform = RowShape { tokens: rows as u32, ..Default::default() };
            let got = run(gpu, &kernel, &uniform, &inputs, (x, y, 1)).await?;
            reports.push(compare("embeddings", format!("rows={rows} hidden={hidden}"), &got, &expected, 1e-5, |_| true));
        }
    }
    Ok(reports)
}
