//! `config.json` of the pre-norm rotary families → `EncoderSpec`, as transformers 5 reads them:
//! both the hub's older keys (`global_rope_theta`, `rope_local_base_freq`, `global_attn_every_n_layers`,
//! `sliding_window_pattern`) and transformers 5's `rope_parameters` / `layer_types`.
//!
//! Windows, from transformers' masks: ModernBERT's local layers see keys at most
//! `local_attention / 2` away; a bidirectional Gemma3's sliding layers at most `sliding_window / 2`
//! (its config doubles the window the mask uses); a causal model's sliding layers the
//! `sliding_window - 1` keys before the query.

use serde_json::Value;

use super::encoder::{require_usize, Architecture, EncoderSpec, HiddenAct, LayerKind, NormKind};
use super::{bool_field, float_field, int_field, MAX_SIZE};
use crate::error::{EmbedError, Result};
use crate::folder;

const FULL: &str = "full_attention";
const SLIDING: &str = "sliding_attention";

fn config_error(reason: impl Into<String>) -> EmbedError {
    EmbedError::config(folder::CONFIG, reason)
}

/// `layer_types` as given, or made from the family's older key; each is full or sliding.
fn layer_types(config: &Value, layers: usize, default_of: impl Fn(usize) -> bool) -> Result<Vec<bool>> {
    match config.get("layer_types") {
        None | Some(Value::Null) => Ok((0..layers).map(default_of).collect()),
        Some(Value::Array(types)) => {
            if types.len() != layers {
                return Err(config_error(format!("`layer_types` lists {} layers; num_hidden_layers is {layers}", types.len())));
            }
            types
                .iter()
                .map(|t| match t.as_str() {
                    Some(FULL) => Ok(false),
                    Some(SLIDING) => Ok(true),
                    _ => Err(config_error(format!("`layer_types` holds {t}; each must be \"{FULL}\" or \"{SLIDING}\""))),
                })
                .collect()
        }
        Some(other) => Err(config_error(format!("`layer_types` is {other}; it must be a list"))),
    }
}

/// One layer type's rotary theta and linear factor: from `rope_parameters` (per layer type, or one
/// dict for all), else from `legacy_key`, else `default`; `rope_scaling` (older configs) applies
/// where `scaling_applies`.
fn rope(config: &Value, layer_type: &str, legacy_key: &str, default: f64, scaling_applies: bool) -> Result<(f64, f64)> {
    let parameters = match config.get("rope_parameters") {
        Some(Value::Object(map)) if map.contains_key(FULL) || map.contains_key(SLIDING) => map.get(layer_type).filter(|v| !v.is_null()),
        Some(value @ Value::Object(_)) => Some(value),
        None | Some(Value::Null) => None,
        Some(other) => return Err(config_error(format!("`rope_parameters` is {other}; it must be an object"))),
    };
    let scaling = config.get("rope_scaling").filter(|v| !v.is_null() && scaling_applies);
    let theta_range = (1.0, 1e12);
    let theta = match parameters.and_then(|p| p.get("rope_theta")) {
        Some(_) => float_field(folder::CONFIG, parameters.unwrap_or(&Value::Null), "rope_theta", default, theta_range)?,
        None => float_field(folder::CONFIG, config, legacy_key, default, theta_range)?,
    };
    let mut factor = 1.0;
    for source in [scaling, parameters].into_iter().flatten() {
        let kind = source.get("rope_type").or_else(|| source.get("type")).and_then(Value::as_str).unwrap_or("default");
        match kind {
            "default" => {}
            "linear" => factor = float_field(folder::CONFIG, source, "factor", 1.0, (1e-6, 1e6))?,
            other => {
                return Err(config_error(format!(
                    "rope type {other:?} ({layer_type}) is not supported; webembed runs default and linear rotary embeddings"
                )))
            }
        }
    }
    Ok((theta, factor))
}

/// A window of `size` positions from config (`key`), checked.
fn window_size(config: &Value, key: &str, default: Option<u64>) -> Result<usize> {
    int_field(folder::CONFIG, config, key, 2..=MAX_SIZE, default)
}

/// The head count, and key/value heads that divide it.
fn heads(config: &Value) -> Result<(usize, usize)> {
    let heads = int_field(folder::CONFIG, config, "num_attention_heads", 1..=4096, None)?;
    let kv = int_field(folder::CONFIG, config, "num_key_value_heads", 1..=4096, Some(heads as u64))?;
    if heads % kv != 0 {
        return Err(config_error(format!("num_attention_heads {heads} is not a multiple of num_key_value_heads {kv}")));
    }
    Ok((heads, kv))
}

fn head_dim(config: &Value, hidden: usize, heads: usize, default: Option<usize>) -> Result<usize> {
    let fallback = default.unwrap_or(hidden / heads.max(1));
    let head_dim = int_field(folder::CONFIG, config, "head_dim", 1..=4096, Some(fallback as u64))?;
    if head_dim % 2 != 0 {
        return Err(config_error(format!("head_dim {head_dim} is odd; rotary embeddings rotate pairs of channels")));
    }
    Ok(head_dim)
}

fn activation(config: &Value, default: &str) -> Result<HiddenAct> {
    let (key, name) = ["hidden_activation", "hidden_act"]
        .iter()
        .find_map(|k| config.get(*k).and_then(Value::as_str).map(|v| (*k, v)))
        .unwrap_or(("hidden_activation", default));
    HiddenAct::parse(folder::CONFIG, key, name)
}

fn pad_token(config: &Value, vocab: usize, default: u64) -> Result<u32> {
    Ok(int_field(folder::CONFIG, config, "pad_token_id", 0..=vocab as u64 - 1, Some(default.min(vocab as u64 - 1)))? as u32)
}

pub(crate) fn modernbert_spec(config: &Value) -> Result<EncoderSpec> {
    let hidden = require_usize(config, "hidden_size")?;
    let (heads, _) = heads(config)?;
    if hidden % heads != 0 {
        return Err(config_error(format!("hidden_size {hidden} is not a multiple of num_attention_heads {heads}")));
    }
    let layers = int_field(folder::CONFIG, config, "num_hidden_layers", 1..=1024, None)?;
    let every = int_field(folder::CONFIG, config, "global_attn_every_n_layers", 1..=1024, Some(3))?;
    let sliding = layer_types(config, layers, |i| i % every != 0)?;
    let half_window = window_size(config, "local_attention", Some(128))? / 2;
    let global = rope(config, FULL, "global_rope_theta", 160_000.0, true)?;
    let local = rope(config, SLIDING, "local_rope_theta", 10_000.0, true)?;
    let vocab = require_usize(config, "vocab_size")?;
    let head_dim = hidden / heads;
    if head_dim % 2 != 0 {
        return Err(config_error(format!("head size {head_dim} is odd; rotary embeddings rotate pairs of channels")));
    }
    Ok(EncoderSpec {
        architecture: Architecture::ModernBert,
        vocab_size: vocab,
        hidden_size: hidden,
        num_layers: layers,
        num_heads: heads,
        num_kv_heads: heads,
        head_dim,
        intermediate_size: require_usize(config, "intermediate_size")?,
        max_position_embeddings: require_usize(config, "max_position_embeddings")?,
        type_vocab_size: 1,
        layer_norm_eps: float_field(folder::CONFIG, config, "norm_eps", 1e-5, (0.0, 1.0))?,
        pad_token_id: pad_token(config, vocab, 50283)?,
        hidden_act: activation(config, "gelu")?,
        attention_scale: 1.0 / (head_dim as f64).sqrt(),
        layers: sliding
            .iter()
            .map(|&s| {
                let (rope_theta, rope_factor) = if s { local } else { global };
                LayerKind { rope_theta, rope_factor, window: s.then_some(half_window) }
            })
            .collect(),
        causal: false,
        norm: NormKind::LayerNorm,
        embedding_scale: None,
        attention_bias: bool_field(folder::CONFIG, config, "attention_bias", false)?,
        mlp_bias: bool_field(folder::CONFIG, config, "mlp_bias", false)?,
        norm_bias: bool_field(folder::CONFIG, config, "norm_bias", false)?,
    })
}

pub(crate) fn gemma3_spec(config: &Value) -> Result<EncoderSpec> {
    let hidden = require_usize(config, "hidden_size")?;
    let (heads, kv) = heads(config)?;
    let head_dim = head_dim(config, hidden, heads, Some(256))?;
    let layers = int_field(folder::CONFIG, config, "num_hidden_layers", 1..=1024, None)?;
    let pattern = int_field(folder::CONFIG, config, "sliding_window_pattern", 1..=1024, Some(6))?;
    let sliding = layer_types(config, layers, |i| (i + 1) % pattern != 0)?;
    if config.get("attn_logit_softcapping").is_some_and(|v| !v.is_null()) {
        return Err(config_error(
            "attn_logit_softcapping is set; webembed runs Gemma3 without attention soft-capping (EmbeddingGemma has none)",
        ));
    }
    let bidirectional = bool_field(folder::CONFIG, config, "use_bidirectional_attention", false)?;
    let window = window_size(config, "sliding_window", Some(4096))?;
    let window = if bidirectional { window / 2 } else { window - 1 };
    let global = rope(config, FULL, "rope_theta", 1_000_000.0, true)?;
    let local = rope(config, SLIDING, "rope_local_base_freq", 10_000.0, false)?;
    let scalar = float_field(folder::CONFIG, config, "query_pre_attn_scalar", 256.0, (1e-6, 1e9))?;
    let vocab = require_usize(config, "vocab_size")?;
    Ok(EncoderSpec {
        architecture: Architecture::Gemma3,
        vocab_size: vocab,
        hidden_size: hidden,
        num_layers: layers,
        num_heads: heads,
        num_kv_heads: kv,
        head_dim,
        intermediate_size: require_usize(config, "intermediate_size")?,
        max_position_embeddings: require_usize(config, "max_position_embeddings")?,
        type_vocab_size: 1,
        layer_norm_eps: float_field(folder::CONFIG, config, "rms_norm_eps", 1e-6, (0.0, 1.0))?,
        pad_token_id: pad_token(config, vocab, 0)?,
        hidden_act: activation(config, "gelu_pytorch_tanh")?,
        attention_scale: 1.0 / scalar.sqrt(),
        layers: sliding
            .iter()
            .map(|&s| {
                let (rope_theta, rope_factor) = if s { local } else { global };
                LayerKind { rope_theta, rope_factor, window: s.then_some(window) }
            })
            .collect(),
        causal: !bidirectional,
        norm: NormKind::RmsNorm,
        // The scale is a float32 tensor in transformers (√hidden rounded to f32).
        embedding_scale: Some((hidden as f64).sqrt() as f32),
        attention_bias: bool_field(folder::CONFIG, config, "attention_bias", false)?,
        mlp_bias: false,
        norm_bias: false,
    })
}

pub(crate) fn qwen3_spec(config: &Value) -> Result<EncoderSpec> {
    let hidden = require_usize(config, "hidden_size")?;
    let (heads, kv) = heads(config)?;
    let head_dim = head_dim(config, hidden, heads, None)?;
    let layers = int_field(folder::CONFIG, config, "num_hidden_layers", 1..=1024, None)?;
    let sliding_on = bool_field(folder::CONFIG, config, "use_sliding_window", false)?;
    let max_window_layers = int_field(folder::CONFIG, config, "max_window_layers", 0..=1024, Some(28))?;
    let sliding = layer_types(config, layers, |i| sliding_on && i >= max_window_layers)?;
    let window = if sliding.iter().any(|&s| s) { window_size(config, "sliding_window", Some(4096))? - 1 } else { 0 };
    let (theta, factor) = rope(config, FULL, "rope_theta", 10_000.0, true)?;
    let vocab = require_usize(config, "vocab_size")?;
    Ok(EncoderSpec {
        architecture: Architecture::Qwen3,
        vocab_size: vocab,
        hidden_size: hidden,
        num_layers: layers,
        num_heads: heads,
        num_kv_heads: kv,
        head_dim,
        intermediate_size: require_usize(config, "intermediate_size")?,
        max_position_embeddings: require_usize(config, "max_position_embeddings")?,
        type_vocab_size: 1,
        layer_norm_eps: float_field(folder::CONFIG, config, "rms_norm_eps", 1e-6, (0.0, 1.0))?,
        pad_token_id: pad_token(config, vocab, vocab as u64 - 1)?,
        hidden_act: activation(config, "silu")?,
        attention_scale: 1.0 / (head_dim as f64).sqrt(),
        layers: sliding.iter().map(|&s| LayerKind { rope_theta: theta, rope_factor: factor, window: s.then_some(window) }).collect(),
        causal: true,
        norm: NormKind::RmsNorm,
        embedding_scale: None,
        attention_bias: bool_field(folder::CONFIG, config, "attention_bias", false)?,
        mlp_bias: false,
        norm_bias: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modernbert_reads_the_hub_layout_and_transformers_5s_alike() {
        let hub = json!({"model_type": "modernbert", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 4,
            "intermediate_size": 96, "vocab_size": 100, "max_position_embeddings": 512, "global_attn_every_n_layers": 3,
            "local_attention": 128, "global_rope_theta": 160000.0, "local_rope_theta": 10000.0});
        let spec = modernbert_spec(&hub).unwrap();
        let windows: Vec<Option<usize>> = spec.layers.iter().map(|l| l.window).collect();
        assert_eq!(windows, [None, Some(64), Some(64), None]);
        assert_eq!((spec.layers[0].rope_theta, spec.layers[1].rope_theta), (160000.0, 10000.0));
        let mut v5 = hub.clone();
        v5["layer_types"] = json!([FULL, SLIDING, SLIDING, FULL]);
        v5["rope_parameters"] =
            json!({FULL: {"rope_type": "default", "rope_theta": 160000.0}, SLIDING: {"rope_type": "default", "rope_theta": 10000.0}});
        assert_eq!(modernbert_spec(&v5).unwrap().layers, spec.layers);
    }

    #[test]
    fn gemma3_bidirectional_windows_are_half_the_configs() {
        let config = json!({"model_type": "gemma3_text", "hidden_size": 64, "num_attention_heads": 2, "num_key_value_heads": 1,
            "head_dim": 48, "num_hidden_layers": 2, "intermediate_size": 96, "vocab_size": 100, "max_position_embeddings": 512,
            "sliding_window": 512, "layer_types": [SLIDING, FULL], "use_bidirectional_attention": true, "query_pre_attn_scalar": 256});
        let spec = gemma3_spec(&config).unwrap();
        assert_eq!(spec.layers[0].window, Some(256));
        assert!(!spec.causal);
        assert_eq!((spec.query_width(), spec.qkv_width()), (96, 192));
        assert!((spec.attention_scale - 1.0 / 16.0).abs() < 1e-12);
        let causal = json!({"use_bidirectional_attention": false});
        let mut merged = config.clone();
        merged.as_object_mut().unwrap().extend(causal.as_object().unwrap().clone());
        assert_eq!(gemma3_spec(&merged).unwrap().layers[0].window, Some(511));
    }

    #[test]
    fn hostile_rotary_configs_are_refused_by_name() {
        let base = json!({"model_type": "qwen3", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
            "head_dim": 24, "num_hidden_layers": 2, "intermediate_size": 96, "vocab_size": 100, "max_position_embeddings": 512});
        qwen3_spec(&base).unwrap();
        let cases: Vec<(Value, &str)> = vec![
            (json!({"rope_theta": f64::MAX}), "rope_theta"),
            (json!({"rope_theta": "x"}), "rope_theta"),
            (json!({"rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0}}), "yarn"),
            (json!({"num_key_value_heads": 3}), "num_key_value_heads"),
            (json!({"head_dim": 7}), "head_dim"),
            (json!({"layer_types": [FULL]}), "layer_types"),
            (json!({"use_sliding_window": true, "max_window_layers": 0, "sliding_window": 0}), "sliding_window"),
            (json!({"use_sliding_window": true, "max_window_layers": 0, "sliding_window": 1_000_000_000u64}), "sliding_window"),
        ];
        for (patch, name) in cases {
            let mut config = base.clone();
            config.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
            let err = qwen3_spec(&config).unwrap_err();
            assert_eq!(err.code(), "E_CONFIG");
            assert!(err.to_string().contains(name), "{patch}: {err}");
        }
    }
}
