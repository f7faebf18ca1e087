//! The residual step against the CPU path's norms (`backend::cpu::norms`), LayerNorm and RMSNorm,
//! with every combination of flags.

use super::{ResidualNormShape, ACCUMULATE, NORM_OUT, NORM_SOURCE};
use crate::backend::cpu::norms::norm_rows;
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, row_groups, Kernel, KernelShape};
use crate::error::Result;
use crate::model::NormParameters;
use crate::spec::NormKind;

pub async fn check_residual_norm(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let mut numbers = Numbers(11);
    let mut reports = Vec::new();
    for (kind, rms) in [(NormKind::LayerNorm, false), (NormKind::RmsNorm, true)] {
        for &hidden in sizes {
            let eps = 1e-6;
            let kernel = build(gpu, Kernel::ResidualNorm, &KernelShape { rms_norm: rms, layer_norm_eps: eps, ..shape(hidden, 32, false) });
            for flags in [ACCUMULATE | NORM_SOURCE | NORM_OUT, ACCUMULATE | NORM_OUT, NORM_SOURCE, 0] {
                let tokens = 3;
                let source = numbers.take(tokens * hidden).iter().map(|v| v * 4.0).collect::<Vec<_>>();
                let residual = numbers.take(tokens * hidden);
                let norm = |numbers: &mut Numbers| {
                    let weight: Vec<f32> = numbers.take(hidden).iter().map(|v| 1.0 + 0.3 * v).collect();
                    let bias = if rms { vec![0.0; hidden] } else { numbers.take(hidden) };
                    NormParameters { weight, bias }
                };
                let (a, b) = (norm(&mut numbers), norm(&mut numbers));
                let mut x = source.clone();
                if flags & NORM_SOURCE != 0 {
                    norm_rows(kind, &mut x, &a, eps);
                }
                if flags & ACCUMULATE != 0 {
                    x.iter_mut().zip(&residual).for_each(|(v, r)| *v += r);
                }
                let mut expected = x.clone();
                if flags & NORM_OUT != 0 {
                    norm_rows(kind, &mut expected, &b, eps);
                }
                let packed = |n: &NormParameters| bytes(&[n.weight.clone(), n.bias.clone()].concat());
                let inputs = [bytes(&source), packed(&a), bytes(&residual), packed(&b), vec![0u8; tokens * hidden * 4]];
                let got =
                    run(gpu, &kernel, &ResidualNormShape::new(tokens, flags), &inputs, (row_groups(tokens).0, row_groups(tokens).1, 1))
                        .await?;
                reports.push(compare("residual_norm", format!("{kind:?} hidden={hidden} flags={flags}"), &got, &expected, 1e-5, |_| true));
            }
        }
    }
    Ok(reports)
}
