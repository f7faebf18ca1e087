//! Native WebGPU kernel and encoder figures (Vulkan): matmul GFLOP/s per shape, and encoder
//! texts/s on the GPU beside the CPU path, for all-MiniLM-L6-v2.
//!
//!   cargo run --release --example webgpu_bench [model folder]
//!
//! On lavapipe (a CPU rasterizer) the figures are only a regression check; on a real GPU they
//! are the ones to compare with the GPU's fp32 peak.

use std::time::Instant;

use webembed::backend::webgpu::device::{DeviceOptions, GpuDevice};
use webembed::backend::webgpu::kernels::matmul::bench::time_matmul;
use webembed::{Engine, ModelFiles};

fn main() {
    let folder = std::env::args().nth(1).unwrap_or_else(|| "models/all-MiniLM-L6-v2".into());
    let clock = Instant::now();
    let now = || clock.elapsed().as_secs_f64();
    for allow_f16 in [false, true] {
        let gpu = pollster::block_on(GpuDevice::open(DeviceOptions { allow_f16, ..Default::default() })).expect("a Vulkan adapter");
        if allow_f16 && !gpu.shader_f16 {
            println!("{}: no shader-f16, f16-weight figures skipped", gpu.adapter_name);
            continue;
        }
        println!("matmul on {} (weights {}):", gpu.adapter_name, if gpu.shader_f16 { "f16" } else { "f32" });
        // The encoder's shapes for 32 × 128 tokens (MiniLM: hidden 384, FFN 1536), and a square one.
        for (m, n, k) in [(4096, 1152, 384), (4096, 384, 384), (4096, 1536, 384), (4096, 384, 1536), (2048, 2048, 2048)] {
            let repeats = 10;
            let seconds = pollster::block_on(time_matmul(&gpu, m, n, k, repeats, now)).expect("matmul ran");
            let gflops = 2.0 * (m * n * k * repeats) as f64 / seconds / 1e9;
            println!("  M={m:5} N={n:5} K={k:5}: {gflops:8.1} GFLOP/s");
        }
    }

    let texts: Vec<String> =
        (0..32).map(|i| format!("passage {i}: {}", "the quick brown fox jumps over the lazy dog. ".repeat(12))).collect();
    let mut cpu = Engine::from_files(ModelFiles::read_dir(std::path::Path::new(&folder)).expect("model folder")).expect("load");
    let mut gpu = Engine::from_files(ModelFiles::read_dir(std::path::Path::new(&folder)).expect("model folder")).expect("load");
    pollster::block_on(gpu.enable_webgpu(DeviceOptions { allow_f16: true, ..Default::default() })).expect("WebGPU backend");
    println!("encoder ({folder}, texts of {} tokens):", cpu.tokenize(&texts[0], None).expect("tokenize").ids.len());
    for batch in [1usize, 8, 32] {
        let rate = |embedder: &mut Engine| {
            embedder.encode(&texts[..batch], None, batch).expect("warm-up");
            let start = Instant::now();
            let rounds = 3;
            for _ in 0..rounds {
                embedder.encode(&texts[..batch], None, batch).expect("encode");
            }
            (rounds * batch) as f64 / start.elapsed().as_secs_f64()
        };
        let (on_gpu, on_cpu) = (rate(&mut gpu), rate(&mut cpu));
        println!("  batch {batch:2}: webgpu {on_gpu:8.2} texts/s, cpu {on_cpu:8.2} texts/s, ratio {:.2}", on_gpu / on_cpu);
    }
}
