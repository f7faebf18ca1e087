//! The WGSL kernels, one op per file, compiled once per model: what changes their code (hidden
//! size, head size, LayerNorm epsilon, activation, weight precision) is written into each shader
//! as constants, so loops have fixed trip counts and arrays fixed sizes.

use super::device::GpuDevice;
use crate::spec::{EncoderSpec, HiddenAct};

const MATMUL: &str = include_str!("shaders/matmul.wgsl");
const ACTIVATIONS: &str = include_str!("shaders/activations.wgsl");
const ROW_STATISTICS: &str = include_str!("shaders/row_statistics.wgsl");
const EMBEDDINGS: &str = include_str!("shaders/embeddings.wgsl");
const ADD_LAYERNORM: &str = include_str!("shaders/add_layernorm.wgsl");
const ATTENTION: &str = include_str!("shaders/attention.wgsl");
const POOLING: &str = include_str!("shaders/pooling.wgsl");
const NORMALIZE: &str = include_str!("shaders/normalize.wgsl");

/// Workgroup-memory floats the attention kernel may use for its key and value tiles: WebGPU
/// guarantees 16 KiB of workgroup storage, less a word for the row length.
const ATTENTION_TILE_FLOATS: usize = 4095;

/// The constants a model writes into the kernels.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelShape {
    pub hidden: usize,
    pub head_dim: usize,
    pub layer_norm_eps: f64,
    pub activation: HiddenAct,
    /// Matrices stored as f16 (the adapter has `shader-f16`).
    pub f16_weights: bool,
}

impl KernelShape {
    pub fn for_encoder(spec: &EncoderSpec, f16_weights: bool) -> Self {
        KernelShape {
            hidden: spec.hidden_size,
            head_dim: spec.head_dim(),
            layer_norm_eps: spec.layer_norm_eps,
            activation: spec.hidden_act,
            f16_weights,
        }
    }

    fn key_tile(&self) -> usize {
        (ATTENTION_TILE_FLOATS / (2 * self.head_dim)).clamp(1, 64)
    }
}

pub struct Kernels {
    pub matmul: wgpu::ComputePipeline,
    /// The FFN's first matmul with the model's activation fused into its store.
    pub matmul_activation: wgpu::ComputePipeline,
    pub embeddings: wgpu::ComputePipeline,
    pub add_layernorm: wgpu::ComputePipeline,
    pub attention: wgpu::ComputePipeline,
    pub pooling: wgpu::ComputePipeline,
    pub normalize: wgpu::ComputePipeline,
}

fn float(value: f64) -> String {
    // WGSL wants a decimal point or exponent on f32 literals.
    format!("{value:e}")
}

fn activation_code(act: HiddenAct) -> u32 {
    match act {
        HiddenAct::GeluErf => 1,
        HiddenAct::GeluTanh => 2,
        HiddenAct::Relu => 3,
    }
}

fn matmul_source(shape: &KernelShape, activation: Option<HiddenAct>) -> String {
    let (enable, weight) = if shape.f16_weights { ("enable f16;\n", "f16") } else { ("", "f32") };
    format!(
        "{enable}alias Weight = {weight};\nconst ACTIVATION: u32 = {}u;\n{ACTIVATIONS}\n{MATMUL}",
        activation.map(activation_code).unwrap_or(0)
    )
}

fn row_source(shape: &KernelShape, body: &str) -> String {
    format!(
        "const HIDDEN: u32 = {}u;\nconst PER_LANE: u32 = {}u;\nconst EPS: f32 = {};\n{ROW_STATISTICS}\n{body}",
        shape.hidden,
        shape.hidden.div_ceil(64),
        float(shape.layer_norm_eps)
    )
}

fn attention_source(shape: &KernelShape) -> String {
    format!(
        "const HIDDEN: u32 = {}u;\nconst HEAD_DIM: u32 = {}u;\nconst KEY_TILE: u32 = {}u;\nconst SCALE: f32 = {};\n{ATTENTION}",
        shape.hidden,
        shape.head_dim,
        shape.key_tile(),
        float(1.0 / (shape.head_dim as f64).sqrt())
    )
}

fn pipeline(gpu: &GpuDevice, label: &str, source: String) -> wgpu::ComputePipeline {
    let module = gpu.device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// The kernels, by name.
#[derive(Clone, Copy, Debug)]
pub enum Kernel {
    Matmul,
    MatmulActivation,
    Embeddings,
    AddLayerNorm,
    Attention,
    Pooling,
    Normalize,
}

/// Compiles one kernel for `shape`. A shader the device rejects shows up in `GpuDevice::check`
/// (validation errors are reported asynchronously).
pub fn build(gpu: &GpuDevice, kernel: Kernel, shape: &KernelShape) -> wgpu::ComputePipeline {
    let source = match kernel {
        Kernel::Matmul => matmul_source(shape, None),
        Kernel::MatmulActivation => matmul_source(shape, Some(shape.activation)),
        Kernel::Embeddings => row_source(shape, EMBEDDINGS),
        Kernel::AddLayerNorm => row_source(shape, ADD_LAYERNORM),
        Kernel::Attention => attention_source(shape),
        Kernel::Pooling => format!("const HIDDEN: u32 = {}u;\n{POOLING}", shape.hidden),
        Kernel::Normalize => NORMALIZE.to_string(),
    };
    pipeline(gpu, &format!("{kernel:?}"), source)
}

impl Kernels {
    pub fn compile(gpu: &GpuDevice, shape: &KernelShape) -> Self {
        Kernels {
            matmul: build(gpu, Kernel::Matmul, shape),
            matmul_activation: build(gpu, Kernel::MatmulActivation, shape),
            embeddings: build(gpu, Kernel::Embeddings, shape),
            add_layernorm: build(gpu, Kernel::AddLayerNorm, shape),
            attention: build(gpu, Kernel::Attention, shape),
            pooling: build(gpu, Kernel::Pooling, shape),
            normalize: build(gpu, Kernel::Normalize, shape),
        }
    }
}

/// Workgroup counts for one workgroup per row, spilling into y past WebGPU's 65535 per dimension.
pub fn row_groups(rows: usize) -> (u32, u32) {
    let rows = rows as u32;
    (rows.clamp(1, 65535), rows.div_ceil(65535).max(1))
}

/// Workgroup counts for a `rows × cols` matmul output (32×32 tiles).
pub fn matmul_groups(rows: usize, cols: usize) -> (u32, u32) {
    (cols.div_ceil(32) as u32, rows.div_ceil(32) as u32)
}
