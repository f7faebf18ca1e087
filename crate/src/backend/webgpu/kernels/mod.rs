//! The WGSL kernels, one folder per op: `<op>/<op>.wgsl`, its Rust side (`<op>/mod.rs`: the
//! uniform it reads and how its source is put together) and its check against the CPU path
//! (`<op>/check.rs`). Each is compiled once per model: what changes a kernel's code (hidden size,
//! head size, LayerNorm epsilon, weight precision) is written into its source as constants, so
//! loops have fixed trip counts and arrays fixed sizes; the FFN's activation is a uniform, so one
//! matmul pipeline serves every linear layer.
//!
//! Two facts the Rust and WGSL sides share are defined here once and written into every shader:
//! each kernel's `struct Shape` (generated from the Rust uniform, see `uniform!`) and the integer
//! codes of pooling modes and activations.

/// Declares a kernel's uniform once: a `#[repr(C)]` struct of `u32`s that the backend and the
/// checks fill, and the WGSL `struct Shape` the shader reads, generated from the same field list.
macro_rules! uniform {
    ($(#[$doc:meta])* $name:ident { $($(#[$field_doc:meta])* $field:ident),* $(,)? }) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name {
            $($(#[$field_doc])* pub $field: u32,)*
        }

        impl $crate::backend::webgpu::kernels::Uniform for $name {
            const WGSL: &'static str = concat!("struct Shape {\n", $("    ", stringify!($field), ": u32,\n",)* "}\n");
        }
    };
}

pub mod add_layernorm;
pub mod attention;
pub mod check;
pub mod embeddings;
pub mod gated;
pub mod matmul;
pub mod normalize;
pub mod pooling;
pub mod residual_norm;
pub mod rotary;

use super::device::GpuDevice;
use crate::pooling::PoolingMode;
use crate::spec::{EncoderSpec, HiddenAct, NormKind};

/// A kernel's uniform: plain bytes on the Rust side, `struct Shape` on the WGSL side.
pub trait Uniform: bytemuck::Pod {
    const WGSL: &'static str;
}

/// Bytes of one uniform slot: every kernel's uniform fits in one (a test checks).
pub const SLOT_BYTES: u64 = 32;

uniform!(
    /// The row kernels (embeddings, add_layernorm): one workgroup per token. Padded to 16 bytes.
    RowShape { tokens, padding0, padding1, padding2 }
);

/// The integer each pooling mode has inside the kernels, in WGSL's names.
const POOLING_CODES: [(PoolingMode, &str); 6] = [
    (PoolingMode::Cls, "POOL_CLS"),
    (PoolingMode::Max, "POOL_MAX"),
    (PoolingMode::Mean, "POOL_MEAN"),
    (PoolingMode::MeanSqrtLen, "POOL_MEAN_SQRT_LEN"),
    (PoolingMode::WeightedMean, "POOL_WEIGHTED_MEAN"),
    (PoolingMode::LastToken, "POOL_LAST_TOKEN"),
];

/// The integer each activation fused into a matmul has; 0 (`ACT_NONE`) is none.
const ACTIVATION_CODES: [(Option<HiddenAct>, &str); 5] = [
    (None, "ACT_NONE"),
    (Some(HiddenAct::GeluErf), "ACT_GELU_ERF"),
    (Some(HiddenAct::GeluTanh), "ACT_GELU_TANH"),
    (Some(HiddenAct::Relu), "ACT_RELU"),
    (Some(HiddenAct::Silu), "ACT_SILU"),
];

pub fn pooling_code(mode: PoolingMode) -> u32 {
    POOLING_CODES.iter().position(|(m, _)| *m == mode).unwrap_or(0) as u32
}

pub fn activation_code(activation: Option<HiddenAct>) -> u32 {
    ACTIVATION_CODES.iter().position(|(a, _)| *a == activation).unwrap_or(0) as u32
}

/// What every shader starts with: the codes as WGSL constants, then its `struct Shape`.
fn prelude<U: Uniform>() -> String {
    let pooling = POOLING_CODES.iter().map(|(_, name)| *name);
    let activations = ACTIVATION_CODES.iter().map(|(_, name)| *name);
    let codes: String =
        pooling.enumerate().chain(activations.enumerate()).map(|(code, name)| format!("const {name}: u32 = {code}u;\n")).collect();
    format!("{codes}{}", U::WGSL)
}

/// WGSL wants a decimal point or exponent on f32 literals.
fn float(value: f64) -> String {
    format!("{value:e}")
}

/// The constants a model writes into the kernels.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelShape {
    pub hidden: usize,
    pub head_dim: usize,
    /// Query heads and key/value heads (grouped-query attention when fewer).
    pub heads: usize,
    pub kv_heads: usize,
    /// Multiplies q·k.
    pub attention_scale: f64,
    /// Queries see only keys at or before them.
    pub causal: bool,
    /// The norms are RMSNorm (Gemma3, Qwen3), not LayerNorm.
    pub rms_norm: bool,
    pub layer_norm_eps: f64,
    /// Matrices stored as f16 (the adapter has `shader-f16`).
    pub f16_weights: bool,
    /// Matrices stored as q8 (`matmul::pack_q8`); overrides `f16_weights` for them.
    pub q8_weights: bool,
    /// How the matmul splits a tile among threads (the adapter's kind).
    pub tiling: matmul::MatmulTiling,
}

impl KernelShape {
    pub fn for_encoder(spec: &EncoderSpec, gpu: &GpuDevice, q8_weights: bool) -> Self {
        KernelShape {
            hidden: spec.hidden_size,
            head_dim: spec.head_dim(),
            heads: spec.num_heads,
            kv_heads: spec.num_kv_heads,
            attention_scale: spec.attention_scale,
            causal: spec.causal,
            rms_norm: spec.norm == NormKind::RmsNorm,
            layer_norm_eps: spec.layer_norm_eps,
            f16_weights: gpu.shader_f16,
            q8_weights,
            tiling: matmul::MatmulTiling::for_device(gpu),
        }
    }
}

/// The LayerNorm row kernels' constants and helpers, before their bodies.
fn row_source(shape: &KernelShape, body: &str) -> String {
    format!(
        "{}const HIDDEN: u32 = {}u;\nconst PER_LANE: u32 = {}u;\nconst EPS: f32 = {};\n{}\n{body}",
        prelude::<RowShape>(),
        shape.hidden,
        shape.hidden.div_ceil(64),
        float(shape.layer_norm_eps),
        include_str!("row_statistics.wgsl"),
    )
}

/// The kernels, by name.
#[derive(Clone, Copy, Debug)]
pub enum Kernel {
    Matmul,
    Embeddings,
    AddLayerNorm,
    Attention,
    Pooling,
    Normalize,
    ResidualNorm,
    /// With or without the per-head RMSNorm before the rotation.
    Rotary {
        qk_norm: bool,
    },
    Gated,
}

/// Compiles one kernel for `shape`. A shader the device rejects shows up in `GpuDevice::check`
/// (validation errors are reported asynchronously).
pub fn build(gpu: &GpuDevice, kernel: Kernel, shape: &KernelShape) -> wgpu::ComputePipeline {
    let source = match kernel {
        Kernel::Matmul => matmul::source(shape),
        Kernel::Embeddings => embeddings::source(shape),
        Kernel::AddLayerNorm => add_layernorm::source(shape),
        Kernel::Attention => attention::source(shape),
        Kernel::Pooling => pooling::source(shape),
        Kernel::Normalize => normalize::source(),
        Kernel::ResidualNorm => residual_norm::source(shape),
        Kernel::Rotary { qk_norm } => rotary::source(shape, qk_norm),
        Kernel::Gated => gated::source(),
    };
    let label = format!("{kernel:?}");
    let module = gpu
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(&label), source: wgpu::ShaderSource::Wgsl(source.into()) });
    gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(&label),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// BERT's own kernels: the embedding stage and the post-norm residual step.
pub struct BertKernels {
    pub embeddings: wgpu::ComputePipeline,
    pub add_layernorm: wgpu::ComputePipeline,
}

/// The pre-norm families' own kernels.
pub struct PreNormKernels {
    pub residual_norm: wgpu::ComputePipeline,
    pub rotary: wgpu::ComputePipeline,
    pub gated: wgpu::ComputePipeline,
}

/// The kernels one model compiles (a BERT model compiles none of the pre-norm ones, and back).
pub struct Kernels {
    /// Every linear layer; BERT's FFN's first has the model's activation fused into its store.
    pub matmul: wgpu::ComputePipeline,
    pub attention: wgpu::ComputePipeline,
    pub pooling: wgpu::ComputePipeline,
    pub normalize: wgpu::ComputePipeline,
    pub bert: Option<BertKernels>,
    pub prenorm: Option<PreNormKernels>,
}

impl Kernels {
    /// `prenorm`: None for BERT / XLM-R; Some(whether q and k have RMSNorms) for the pre-norm families.
    pub fn compile(gpu: &GpuDevice, shape: &KernelShape, prenorm: Option<bool>) -> Self {
        Kernels {
            matmul: build(gpu, Kernel::Matmul, shape),
            attention: build(gpu, Kernel::Attention, shape),
            pooling: build(gpu, Kernel::Pooling, shape),
            normalize: build(gpu, Kernel::Normalize, shape),
            bert: prenorm.is_none().then(|| BertKernels {
                embeddings: build(gpu, Kernel::Embeddings, shape),
                add_layernorm: build(gpu, Kernel::AddLayerNorm, shape),
            }),
            prenorm: prenorm.map(|qk_norm| PreNormKernels {
                residual_norm: build(gpu, Kernel::ResidualNorm, shape),
                rotary: build(gpu, Kernel::Rotary { qk_norm }, shape),
                gated: build(gpu, Kernel::Gated, shape),
            }),
        }
    }
}

/// Workgroup counts for one workgroup per row, spilling into y past WebGPU's 65535 per dimension.
pub fn row_groups(rows: usize) -> (u32, u32) {
    let rows = rows as u32;
    (rows.clamp(1, 65535), rows.div_ceil(65535).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_uniform_fits_a_slot_in_whole_16_byte_rows() {
        let sizes = [
            std::mem::size_of::<RowShape>(),
            std::mem::size_of::<matmul::MatmulShape>(),
            std::mem::size_of::<attention::AttentionShape>(),
            std::mem::size_of::<pooling::PoolingShape>(),
            std::mem::size_of::<normalize::NormalizeShape>(),
            std::mem::size_of::<residual_norm::ResidualNormShape>(),
            std::mem::size_of::<rotary::RotaryShape>(),
            std::mem::size_of::<gated::GatedShape>(),
        ];
        for size in sizes {
            assert!(size as u64 <= SLOT_BYTES && size % 16 == 0, "{size} bytes");
        }
    }

    #[test]
    fn the_wgsl_struct_lists_the_rust_fields_in_order() {
        assert_eq!(matmul::MatmulShape::WGSL, "struct Shape {\n    rows: u32,\n    cols: u32,\n    depth: u32,\n    activation: u32,\n}\n");
    }

    #[test]
    fn codes_are_distinct_and_named_in_the_prelude() {
        let prelude = prelude::<RowShape>();
        for (mode, name) in POOLING_CODES {
            assert!(prelude.contains(&format!("const {name}: u32 = {}u;", pooling_code(mode))), "{prelude}");
        }
        for (activation, name) in ACTIVATION_CODES {
            assert!(prelude.contains(&format!("const {name}: u32 = {}u;", activation_code(activation))), "{prelude}");
        }
    }
}
