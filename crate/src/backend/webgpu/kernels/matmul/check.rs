//! The matmul kernel against the CPU path's packed matmul (and GELU), on every M, N, K given.

use super::{groups, MatmulShape};
use crate::backend::cpu::activations::gelu_erf_in_place;
use crate::backend::cpu::matmul::PackedWeights;
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, Kernel};
use crate::error::Result;

/// matmul (with and without the fused GELU) on every M, N, K in `sizes`.
pub async fn check_matmul(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let shapes: Vec<(usize, usize, usize)> =
        sizes.iter().flat_map(|&m| sizes.iter().flat_map(move |&n| sizes.iter().map(move |&k| (m, n, k)))).collect();
    check_matmul_shapes(gpu, &shapes).await
}

/// matmul on the given (M, N, K); GELU fused on every other one.
pub async fn check_matmul_shapes(gpu: &GpuDevice, shapes: &[(usize, usize, usize)]) -> Result<Vec<KernelReport>> {
    let f16 = gpu.shader_f16;
    let kernel_shape = shape(64, 32, f16);
    let (plain, fused) = (build(gpu, Kernel::Matmul, &kernel_shape), build(gpu, Kernel::MatmulActivation, &kernel_shape));
    // f16 weights round each weight to 11 significant bits; f32 leaves only summation order.
    let tolerance = if f16 { 2e-3 } else { 1e-5 };
    let mut numbers = Numbers(1);
    let mut reports = Vec::new();
    for &(m, n, k) in shapes {
        let input = numbers.take(m * k);
        let weight = numbers.take(n * k);
        let bias = numbers.take(n);
        let gelu = (m + n + k) % 2 == 0;
        let mut expected = PackedWeights::pack(&weight, &bias, n, k).apply(&input, m);
        if gelu {
            gelu_erf_in_place(&mut expected);
        }
        let weight_bytes = if f16 { bytes(&weight.iter().map(|&w| half::f16::from_f32(w)).collect::<Vec<_>>()) } else { bytes(&weight) };
        let pipeline = if gelu { &fused } else { &plain };
        let (x, y) = groups(m, n);
        let inputs = [bytes(&input), weight_bytes, bytes(&bias), vec![0u8; m * n * 4]];
        let got = run(gpu, pipeline, &MatmulShape::new(m, n, k), &inputs, (x, y, 1)).await?;
        let name = if gelu { "matmul+gelu" } else { "matmul" };
        reports.push(compare(name, format!("M={m} N={n} K={k}"), &got, &expected, tolerance, |_| true));
    }
    Ok(reports)
}
