//! The normalize kernel against `crate::pooling::normalize`, an all-zero row included.

use super::NormalizeShape;
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, Kernel};
use crate::error::Result;
use crate::pooling;

/// Normalize on rows of every width in `sizes`.
pub async fn check_normalize(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let kernel = build(gpu, Kernel::Normalize, &shape(64, 32, false));
    let mut numbers = Numbers(5);
    let mut reports = Vec::new();
    for &width in sizes {
        let rows = 3;
        let mut values = numbers.take(rows * width);
        // An all-zero row must stay zero (norm clamped), not become NaN.
        values[..width].fill(0.0);
        let mut expected = values.clone();
        expected.chunks_exact_mut(width).for_each(pooling::normalize);
        let got = run(gpu, &kernel, &NormalizeShape::new(rows, width), &[bytes(&values)], (rows as u32, 1, 1)).await?;
        reports.push(compare("normalize", format!("rows={rows} width={width}"), &got, &expected, 1e-6, |_| true));
    }
    Ok(reports)
}
