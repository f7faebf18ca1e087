//! The matmul kernel against the CPU path's packed matmul (and GELU), on every M, N, K given.

use super::{groups, pack_q8, quantize_groups, MatmulShape, MatmulTiling, Q8_GROUP};
use crate::backend::cpu::activations::gelu_erf_in_place;
use crate::backend::cpu::matmul::PackedWeights;
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, Kernel, KernelShape};
use crate::error::Result;

/// The largest side a sweep puts on more than one of M, N, K at once.
const PAIRED_SIDE_LIMIT: usize = 384;

/// Every (M, N, K) over `sizes` except those with two or more sides past 384: each side still
/// takes every size, 1536 (whole tiles on every side) against every other size on the other sides. The 16
/// shapes left out of the 216 are 83% of the sweep's arithmetic (7.5 of 9.1 GMAC, minutes on a
/// software adapter) and reach no tile edge or size the others miss.
pub fn sweep(sizes: &[usize]) -> Vec<(usize, usize, usize)> {
    let all = sizes.iter().flat_map(|&m| sizes.iter().flat_map(move |&n| sizes.iter().map(move |&k| (m, n, k))));
    all.filter(|&(m, n, k)| [m, n, k].iter().filter(|&&side| side > PAIRED_SIDE_LIMIT).count() <= 1).collect()
}

/// The uniform of an (M, N, K) product, GELU (erf) applied to its outputs or not.
fn uniform(m: usize, n: usize, k: usize, gelu: bool) -> MatmulShape {
    let shape = MatmulShape::new(m, n, k);
    if gelu {
        shape.activated(crate::spec::HiddenAct::GeluErf)
    } else {
        shape
    }
}

/// matmul (with and without the fused GELU) on the `sweep` of `sizes`, in both tilings: the
/// adapter's own and the other, so a software adapter checks the GPU's kernel too.
pub async fn check_matmul(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let mut reports = Vec::new();
    for tiling in MatmulTiling::ALL {
        reports.extend(check_matmul_shapes(gpu, tiling, &sweep(sizes)).await?);
    }
    Ok(reports)
}

/// The name a report gives the kernel: which matmul, in which tiling.
fn kernel_name(name: &str, tiling: MatmulTiling) -> String {
    format!("{name} ({tiling:?} tiling)")
}

/// matmul on the given (M, N, K); GELU fused on every other one.
pub async fn check_matmul_shapes(gpu: &GpuDevice, tiling: MatmulTiling, shapes: &[(usize, usize, usize)]) -> Result<Vec<KernelReport>> {
    let f16 = gpu.shader_f16;
    let kernel_shape = KernelShape { tiling, ..shape(64, 32, f16) };
    let pipeline = build(gpu, Kernel::Matmul, &kernel_shape);
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
        let (x, y) = groups(m, n);
        let inputs = [bytes(&input), weight_bytes, bytes(&bias), vec![0u8; m * n * 4]];
        let got = run(gpu, &pipeline, &uniform(m, n, k, gelu), &inputs, (x, y, 1)).await?;
        let name = kernel_name(if gelu { "matmul+gelu" } else { "matmul" }, tiling);
        reports.push(compare(&name, format!("M={m} N={n} K={k}"), &got, &expected, tolerance, |_| true));
    }
    Ok(reports)
}

/// The q8 variant (`pack_q8` weights) on the `sweep` of `sizes` in both tilings, against the f32
/// kernel's reference on the dequantized weights; GELU fused on every other shape.
pub async fn check_matmul_q8(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let mut reports = Vec::new();
    for tiling in MatmulTiling::ALL {
        reports.extend(check_matmul_q8_tiling(gpu, tiling, sizes).await?);
    }
    Ok(reports)
}

async fn check_matmul_q8_tiling(gpu: &GpuDevice, tiling: MatmulTiling, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let kernel_shape = KernelShape { q8_weights: true, tiling, ..shape(64, 32, false) };
    let pipeline = build(gpu, Kernel::Matmul, &kernel_shape);
    let mut numbers = Numbers(7);
    let mut reports = Vec::new();
    for (m, n, k) in sweep(sizes) {
        let input = numbers.take(m * k);
        let (values, scales) = quantize_groups(&numbers.take(n * k), n, k);
        let bias = numbers.take(n);
        let groups_per_row = k.div_ceil(Q8_GROUP);
        let dequantized: Vec<f32> =
            values.iter().enumerate().map(|(i, &q)| q as f32 * scales[(i / k) * groups_per_row + (i % k) / Q8_GROUP]).collect();
        let gelu = (m + n + k) % 2 == 1;
        let mut expected = PackedWeights::pack(&dequantized, &bias, n, k).apply(&input, m);
        if gelu {
            gelu_erf_in_place(&mut expected);
        }
        let (x, y) = groups(m, n);
        let inputs = [bytes(&input), pack_q8(&values, &scales, n, k), bytes(&bias), vec![0u8; m * n * 4]];
        let got = run(gpu, &pipeline, &uniform(m, n, k, gelu), &inputs, (x, y, 1)).await?;
        let name = kernel_name(if gelu { "matmul-q8+gelu" } else { "matmul-q8" }, tiling);
        reports.push(compare(&name, format!("M={m} N={n} K={k}"), &got, &expected, 1e-5, |_| true));
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::sweep;
    use crate::backend::webgpu::kernels::check::AWKWARD;

    #[test]
    fn the_sweep_puts_every_size_on_every_side_against_every_other_size() {
        let shapes = sweep(&AWKWARD);
        assert_eq!(shapes.len(), 216 - 16);
        for &big in &AWKWARD {
            for &a in &AWKWARD[..5] {
                for &b in &AWKWARD[..5] {
                    for shape in [(big, a, b), (a, big, b), (a, b, big)] {
                        assert!(shapes.contains(&shape), "{shape:?}");
                    }
                }
            }
        }
    }
}
