//! `config.json` → `EncoderSpec`: the network's shape for every family webembed runs. BERT and
//! XLM-RoBERTa are post-norm encoders with learned positions; ModernBERT, Gemma3 and Qwen3 are
//! pre-norm stacks with rotary positions, differing in their norms, attention pattern and MLP,
//! which the spec spells out so one forward pass per backend serves all three; a static model
//! has no layers at all.

use serde_json::Value;

use super::{float_field, int_field, MAX_SIZE};
use crate::error::{EmbedError, Result};
use crate::folder;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    Bert,
    XlmRoberta,
    ModernBert,
    Gemma3,
    Qwen3,
    /// A token table averaged over the text (sentence-transformers' StaticEmbedding, model2vec).
    Static,
}

impl Architecture {
    /// Whether the layers are the pre-norm rotary stack (`model::prenorm`).
    pub fn is_prenorm(self) -> bool {
        matches!(self, Architecture::ModernBert | Architecture::Gemma3 | Architecture::Qwen3)
    }
}

/// What E_CONFIG lists as running, for a folder of another family.
pub const FAMILIES: &str =
    "BERT, XLM-RoBERTa, ModernBERT, Gemma3 (EmbeddingGemma), Qwen3 (Qwen3-Embedding) and static (StaticEmbedding, model2vec)";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HiddenAct {
    GeluErf,
    GeluTanh,
    Relu,
    Silu,
}

impl HiddenAct {
    pub fn parse(file: &str, key: &str, name: &str) -> Result<Self> {
        Ok(match name {
            "gelu" => HiddenAct::GeluErf,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => HiddenAct::GeluTanh,
            "relu" => HiddenAct::Relu,
            "silu" | "swish" => HiddenAct::Silu,
            other => {
                return Err(EmbedError::config(file, format!("{key} {other:?} is not supported (gelu, gelu_pytorch_tanh, relu, silu)")))
            }
        })
    }
}

/// The normalization every norm of the network does (Gemma's `1 + weight` is folded into the
/// weight when it is loaded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormKind {
    LayerNorm,
    RmsNorm,
}

/// One layer of a pre-norm stack: its rotary frequencies and whether it sees a window of keys.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerKind {
    pub rope_theta: f64,
    /// Linear RoPE scaling: positions are divided by it (1 for none).
    pub rope_factor: f64,
    /// Keys a query may see: those at most this many positions away (before it only, when causal).
    pub window: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct EncoderSpec {
    pub architecture: Architecture,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    /// Key/value heads (grouped-query attention); `num_heads` when every head has its own.
    pub num_kv_heads: usize,
    /// Each head's width; `num_heads × head_dim` need not equal `hidden_size`.
    pub head_dim: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub pad_token_id: u32,
    pub hidden_act: HiddenAct,
    /// Multiplies q·k (1/√head_dim, or Gemma's `query_pre_attn_scalar^-½`).
    pub attention_scale: f64,
    /// Pre-norm stacks: each layer's rotary theta and window (empty for BERT / XLM-R).
    pub layers: Vec<LayerKind>,
    /// Queries see only keys at or before them (decoder embedders).
    pub causal: bool,
    pub norm: NormKind,
    /// Word embeddings are multiplied by this (Gemma: √hidden).
    pub embedding_scale: Option<f32>,
    /// The attention projections have biases.
    pub attention_bias: bool,
    /// The MLP's linear layers have biases.
    pub mlp_bias: bool,
    /// The norms have biases (LayerNorm only).
    pub norm_bias: bool,
}

impl EncoderSpec {
    pub fn head_dim(&self) -> usize {
        self.head_dim
    }

    /// Width of the query projection (`num_heads × head_dim`).
    pub fn query_width(&self) -> usize {
        self.num_heads * self.head_dim
    }

    /// Width of the stacked q | k | v projection.
    pub fn qkv_width(&self) -> usize {
        (self.num_heads + 2 * self.num_kv_heads) * self.head_dim
    }

    /// RoBERTa numbers positions from `pad_token_id + 1`, so its table holds fewer usable rows.
    pub fn position_offset(&self) -> usize {
        match self.architecture {
            Architecture::XlmRoberta => self.pad_token_id as usize + 1,
            _ => 0,
        }
    }

    pub fn max_positions(&self) -> usize {
        self.max_position_embeddings.saturating_sub(self.position_offset())
    }

    /// Bytes the encoder's weights take as f32, the form every backend computes in.
    pub fn weight_bytes(&self) -> u64 {
        let (h, ff, layers) = (self.hidden_size as u64, self.intermediate_size as u64, self.num_layers as u64);
        let words = self.vocab_size as u64 * h;
        match self.architecture {
            Architecture::Bert | Architecture::XlmRoberta => {
                let tables = words + (self.max_position_embeddings + self.type_vocab_size) as u64 * h + 2 * h;
                let layer = 4 * h * h + 4 * h + 2 * h * ff + ff + h + 4 * h;
                4 * (tables + layers * layer)
            }
            Architecture::Static => 4 * words,
            _ => {
                let (qkv, query) = (self.qkv_width() as u64, self.query_width() as u64);
                let layer = qkv * h + qkv + query * h + h + 3 * ff * h + 3 * ff + 8 * h + 2 * self.head_dim as u64;
                4 * (words + 2 * h + layers * layer)
            }
        }
    }
}

/// `config.json`'s `architectures[0]` and `model_type`, for the error naming an unknown family.
fn family_names(config: &Value) -> (&str, &str) {
    let model_type = config.get("model_type").and_then(Value::as_str).unwrap_or("");
    let architecture = config.get("architectures").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_str).unwrap_or("");
    (model_type, architecture)
}

pub(crate) fn encoder_spec(config: &Value) -> Result<EncoderSpec> {
    let (model_type, architecture_name) = family_names(config);
    let architecture = match (model_type, architecture_name) {
        ("xlm-roberta" | "roberta", _) => Architecture::XlmRoberta,
        (_, name) if name.starts_with("XLMRoberta") || name.starts_with("Roberta") => Architecture::XlmRoberta,
        ("bert", _) => Architecture::Bert,
        (_, name) if name.starts_with("Bert") => Architecture::Bert,
        ("modernbert", _) => Architecture::ModernBert,
        (_, name) if name.starts_with("ModernBert") => Architecture::ModernBert,
        ("gemma3_text" | "gemma3", _) => Architecture::Gemma3,
        (_, name) if name.starts_with("Gemma3") => Architecture::Gemma3,
        ("qwen3", _) => Architecture::Qwen3,
        (_, name) if name.starts_with("Qwen3") => Architecture::Qwen3,
        _ => {
            return Err(EmbedError::config(
                folder::CONFIG,
                format!("model_type {model_type:?} / architecture {architecture_name:?} is not supported; webembed runs {FAMILIES}"),
            ))
        }
    };
    match architecture {
        Architecture::Bert | Architecture::XlmRoberta => bert_spec(config, architecture),
        Architecture::ModernBert => super::families::modernbert_spec(config),
        Architecture::Gemma3 => super::families::gemma3_spec(config),
        Architecture::Qwen3 => super::families::qwen3_spec(config),
        Architecture::Static => unreachable!("a static model has no config.json architecture"),
    }
}

pub(crate) fn require_usize(config: &Value, key: &str) -> Result<usize> {
    int_field(folder::CONFIG, config, key, 1..=MAX_SIZE, None)
}

fn bert_spec(config: &Value, architecture: Architecture) -> Result<EncoderSpec> {
    let act_name = config.get("hidden_act").and_then(Value::as_str).unwrap_or("gelu");
    let hidden_act = HiddenAct::parse(folder::CONFIG, "hidden_act", act_name)?;
    if hidden_act == HiddenAct::Silu {
        return Err(EmbedError::config(folder::CONFIG, format!("hidden_act {act_name:?} is not supported for BERT-style encoders")));
    }
    if let Some(kind) = config.get("position_embedding_type").and_then(Value::as_str) {
        if kind != "absolute" {
            return Err(EmbedError::config(folder::CONFIG, format!("position_embedding_type {kind:?} is not supported")));
        }
    }
    let hidden_size = require_usize(config, "hidden_size")?;
    let num_heads = int_field(folder::CONFIG, config, "num_attention_heads", 1..=4096, None)?;
    if hidden_size % num_heads != 0 {
        return Err(EmbedError::config(
            folder::CONFIG,
            format!("hidden_size {hidden_size} is not a multiple of num_attention_heads {num_heads}"),
        ));
    }
    let default_pad = match architecture {
        Architecture::XlmRoberta => 1,
        _ => 0,
    };
    let vocab_size = require_usize(config, "vocab_size")?;
    let max_position_embeddings = require_usize(config, "max_position_embeddings")?;
    let pad_token_id = int_field(folder::CONFIG, config, "pad_token_id", 0..=vocab_size as u64 - 1, Some(default_pad))?;
    if architecture == Architecture::XlmRoberta && pad_token_id + 1 >= max_position_embeddings {
        return Err(EmbedError::config(
            folder::CONFIG,
            format!("`pad_token_id` {pad_token_id} leaves no position of max_position_embeddings {max_position_embeddings} (XLM-R numbers positions from pad_token_id + 1)"),
        ));
    }
    let layer_norm_eps = float_field(folder::CONFIG, config, "layer_norm_eps", 1e-12, (0.0, 1.0))?;
    Ok(EncoderSpec {
        architecture,
        vocab_size,
        hidden_size,
        num_layers: int_field(folder::CONFIG, config, "num_hidden_layers", 1..=1024, None)?,
        num_heads,
        num_kv_heads: num_heads,
        head_dim: hidden_size / num_heads,
        intermediate_size: require_usize(config, "intermediate_size")?,
        max_position_embeddings,
        type_vocab_size: int_field(folder::CONFIG, config, "type_vocab_size", 1..=MAX_SIZE, Some(2))?,
        layer_norm_eps,
        pad_token_id: pad_token_id as u32,
        hidden_act,
        attention_scale: 1.0 / ((hidden_size / num_heads) as f64).sqrt(),
        layers: Vec::new(),
        causal: false,
        norm: NormKind::LayerNorm,
        embedding_scale: None,
        attention_bias: true,
        mlp_bias: true,
        norm_bias: true,
    })
}

/// The spec of a static model: a `vocab × dimension` table and nothing else.
pub fn static_spec(vocab_size: usize, dimension: usize, pad_token_id: u32) -> EncoderSpec {
    EncoderSpec {
        architecture: Architecture::Static,
        vocab_size,
        hidden_size: dimension,
        num_layers: 0,
        num_heads: 1,
        num_kv_heads: 1,
        head_dim: dimension,
        intermediate_size: 0,
        max_position_embeddings: usize::MAX >> 1,
        type_vocab_size: 1,
        layer_norm_eps: 1e-12,
        pad_token_id,
        hidden_act: HiddenAct::GeluErf,
        attention_scale: 1.0,
        layers: Vec::new(),
        causal: false,
        norm: NormKind::LayerNorm,
        embedding_scale: None,
        attention_bias: false,
        mlp_bias: false,
        norm_bias: false,
    }
}
