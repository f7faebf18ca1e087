//! Times the matmul kernel alone (for bench/: GFLOP/s per shape, natively on Vulkan and in the
//! browser on WebGPU). `repeats` dispatches go in one submission, waited for by one readback, so
//! per-submit overhead is spread out as it is inside a real encoder pass.

use super::{groups, MatmulShape, MatmulTiling};
use crate::backend::webgpu::device::GpuDevice;
use crate::backend::webgpu::kernels::check::shape;
use crate::backend::webgpu::kernels::{build, Kernel, KernelShape, SLOT_BYTES};
use crate::error::Result;

/// Seconds for `repeats` matmuls of `rows × cols × depth` (f16 weights when the device has them),
/// after one untimed warm-up run. `now` reads a clock in seconds (the browser's or the OS's).
pub async fn time_matmul(gpu: &GpuDevice, rows: usize, cols: usize, depth: usize, repeats: usize, now: impl Fn() -> f64) -> Result<f64> {
    use wgpu::BufferUsages as U;
    let kernel_shape = KernelShape { tiling: MatmulTiling::for_device(gpu), ..shape(64, 32, gpu.shader_f16) };
    let pipeline = build(gpu, Kernel::Matmul, &kernel_shape);
    let weight_bytes = if gpu.shader_f16 { 2 } else { 4 };
    let storage = U::STORAGE | U::COPY_DST | U::COPY_SRC;
    let uniform = gpu.buffer("bench.shape", SLOT_BYTES, U::UNIFORM | U::COPY_DST)?;
    gpu.write(&uniform, 0, bytemuck::bytes_of(&MatmulShape::new(rows, cols, depth)));
    let input = gpu.buffer("bench.input", (rows * depth * 4) as u64, storage)?;
    let weight = gpu.buffer("bench.weight", (cols * depth * weight_bytes) as u64, storage)?;
    let bias = gpu.buffer("bench.bias", (cols * 4) as u64, storage)?;
    let output = gpu.buffer("bench.output", (rows * cols * 4) as u64, storage)?;
    let staging = gpu.buffer("bench.staging", 4, U::MAP_READ | U::COPY_DST)?;
    let group = gpu.bind(&pipeline, uniform.buffer.as_entire_binding(), &[&input, &weight, &bias, &output]);
    let (x, y) = groups(rows, cols);
    let run = |count: usize| {
        let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("bench") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &group, &[]);
            for _ in 0..count {
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        gpu.queue.submit([encoder.finish()]);
    };
    run(1);
    gpu.read(&output, &staging, 4).await?;
    let start = now();
    run(repeats);
    gpu.read(&output, &staging, 4).await?;
    Ok(now() - start)
}
