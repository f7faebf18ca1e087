//! The gated middle against the CPU path's (`backend::cpu::norms::gated`), for every activation
//! the pre-norm families use.

use super::{groups, GatedShape};
use crate::backend::cpu::norms::gated;
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::{bytes, compare, run, shape, KernelReport, Numbers};
use crate::backend::webgpu::kernels::{build, Kernel};
use crate::error::Result;
use crate::spec::HiddenAct;

pub async fn check_gated(gpu: &GpuDevice, sizes: &[usize]) -> Result<Vec<KernelReport>> {
    let mut numbers = Numbers(17);
    let kernel = build(gpu, Kernel::Gated, &shape(64, 32, false));
    let mut reports = Vec::new();
    for act in [HiddenAct::GeluErf, HiddenAct::GeluTanh, HiddenAct::Silu] {
        for &width in sizes {
            let tokens = 5;
            let gate_up = numbers.take(tokens * 2 * width).iter().map(|v| v * 6.0).collect::<Vec<_>>();
            let expected = gated(&gate_up, width, act);
            let inputs = [bytes(&gate_up), vec![0u8; tokens * width * 4]];
            let got = run(gpu, &kernel, &GatedShape::new(tokens, width, act), &inputs, groups(tokens * width)).await?;
            reports.push(compare("gated", format!("{act:?} width={width}"), &got, &expected, 1e-5, |_| true));
        }
    }
    Ok(reports)
}
