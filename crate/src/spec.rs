//! Reads every sentence-transformers / transformers config file of a model folder, once, into
//! a `ModelSpec`. Everything downstream reads the spec, never the files.
//!
//! Both sentence-transformers layouts are understood: the ≤ 5.x one (`sentence_bert_config.json`
//! with `max_seq_length`, `pooling_mode_*_tokens` booleans) and the 6.x one (`pooling_mode`
//! strings, `model_max_length` in `tokenizer_config.json`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{EmbedError, Result};
use crate::files::ModelFiles;
use crate::folder::{self, parse_json, ModuleKind};
use crate::pooling::{PoolingMode, PoolingSpec};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    Bert,
    XlmRoberta,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HiddenAct {
    GeluErf,
    GeluTanh,
    Relu,
}

#[derive(Clone, Debug)]
pub struct EncoderSpec {
    pub architecture: Architecture,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub pad_token_id: u32,
    pub hidden_act: HiddenAct,
}

impl EncoderSpec {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads
    }

    /// RoBERTa numbers positions from `pad_token_id + 1`, so its table holds fewer usable rows.
    pub fn position_offset(&self) -> usize {
        match self.architecture {
            Architecture::Bert => 0,
            Architecture::XlmRoberta => self.pad_token_id as usize + 1,
        }
    }

    pub fn max_positions(&self) -> usize {
        self.max_position_embeddings.saturating_sub(self.position_offset())
    }

    /// Bytes the encoder's weights take as f32, the form every backend computes in.
    pub fn weight_bytes(&self) -> u64 {
        let (h, ff) = (self.hidden_size as u64, self.intermediate_size as u64);
        let tables = (self.vocab_size + self.max_position_embeddings + self.type_vocab_size) as u64 * h + 2 * h;
        let layer = 4 * h * h + 4 * h + 2 * h * ff + ff + h + 4 * h;
        4 * (tables + self.num_layers as u64 * layer)
    }
}

#[derive(Clone, Debug)]
pub struct ModelSpec {
    pub encoder: EncoderSpec,
    /// Tokens per text after truncation, special tokens included.
    pub max_seq_length: usize,
    pub pooling: PoolingSpec,
    pub normalize: bool,
    pub prompts: BTreeMap<String, String>,
    pub default_prompt_name: Option<String>,
}

impl ModelSpec {
    pub fn from_files(files: &ModelFiles) -> Result<Self> {
        let config = read_json(files, folder::CONFIG)?
            .ok_or_else(|| EmbedError::config(folder::CONFIG, "missing: a model folder needs config.json"))?;
        let encoder = encoder_spec(&config)?;
        let tokenizer_config = read_json(files, folder::TOKENIZER_CONFIG)?;
        let sbert_config = read_json(files, folder::SENTENCE_BERT_CONFIG)?;
        let max_seq_length = max_seq_length(&encoder, sbert_config.as_ref(), tokenizer_config.as_ref())?;

        let modules = read_json(files, folder::MODULES)?;
        let (pooling, normalize) = match modules {
            Some(modules) => pipeline_from_modules(files, &modules, encoder.hidden_size)?,
            // sentence-transformers wraps a plain transformers folder in mean pooling, unnormalized.
            None => (PoolingSpec::mean(encoder.hidden_size), false),
        };

        let st_config = read_json(files, folder::SENTENCE_TRANSFORMERS_CONFIG)?;
        let (prompts, default_prompt_name) = prompts(st_config.as_ref())?;
        Ok(ModelSpec { encoder, max_seq_length, pooling, normalize, prompts, default_prompt_name })
    }

    pub fn dimension(&self) -> usize {
        self.pooling.output_dimension()
    }
}

pub(crate) fn read_json(files: &ModelFiles, file: &str) -> Result<Option<Value>> {
    files.get(file).map(|bytes| parse_json(file, bytes)).transpose()
}

/// An integer field of a config file within `range`: absent or null gives `default` (or an
/// error naming the field when there is none); anything else out of range, fractional, or not a
/// number is refused, so no value is silently replaced or wrapped by a narrower integer type.
pub(crate) fn int_field(
    file: &str,
    config: &Value,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
    default: Option<u64>,
) -> Result<usize> {
    let value = match config.get(key) {
        None | Some(Value::Null) => {
            return default.map(|d| d as usize).ok_or_else(|| EmbedError::config(file, format!("needs a positive integer `{key}`")));
        }
        Some(value) => value,
    };
    let integer = value.as_u64().or_else(|| value.as_f64().filter(|v| v.fract() == 0.0 && *v >= 0.0 && *v < 1.8e19).map(|v| v as u64));
    match integer {
        Some(v) if range.contains(&v) => Ok(v as usize),
        _ => Err(EmbedError::config(file, format!("`{key}` is {value}; it must be an integer from {} to {}", range.start(), range.end()))),
    }
}

fn require_usize(config: &Value, key: &str) -> Result<usize> {
    int_field(folder::CONFIG, config, key, 1..=MAX_SIZE, None)
}

/// Sizes beyond any encoder webembed could hold in wasm32 (keeps every product in u64 and
/// every value in a 32-bit usize).
const MAX_SIZE: u64 = 1 << 24;

fn layer_norm_eps(config: &Value) -> Result<f64> {
    match config.get("layer_norm_eps") {
        None | Some(Value::Null) => Ok(1e-12),
        Some(value) => match value.as_f64() {
            Some(eps) if eps > 0.0 && eps < 1.0 => Ok(eps),
            _ => Err(EmbedError::config(folder::CONFIG, format!("`layer_norm_eps` is {value}; it must be a number between 0 and 1"))),
        },
    }
}

pub(crate) fn encoder_spec(config: &Value) -> Result<EncoderSpec> {
    let model_type = config.get("model_type").and_then(Value::as_str).unwrap_or("");
    let architecture_name =
        config.get("architectures").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_str).unwrap_or("");
    let architecture = match (model_type, architecture_name) {
        ("xlm-roberta" | "roberta", _) => Architecture::XlmRoberta,
        (_, name) if name.starts_with("XLMRoberta") || name.starts_with("Roberta") => Architecture::XlmRoberta,
        ("bert", _) => Architecture::Bert,
        (_, name) if name.starts_with("Bert") => Architecture::Bert,
        _ => {
            return Err(EmbedError::config(
                folder::CONFIG,
                format!("model_type {model_type:?} / architecture {architecture_name:?} is not supported; webembed runs BERT and XLM-RoBERTa encoders"),
            ))
        }
    };
    let hidden_act = match config.get("hidden_act").and_then(Value::as_str).unwrap_or("gelu") {
        "gelu" => HiddenAct::GeluErf,
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => HiddenAct::GeluTanh,
        "relu" => HiddenAct::Relu,
        other => return Err(EmbedError::config(folder::CONFIG, format!("hidden_act {other:?} is not supported"))),
    };
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
        Architecture::Bert => 0,
        Architecture::XlmRoberta => 1,
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
    Ok(EncoderSpec {
        architecture,
        vocab_size,
        hidden_size,
        num_layers: int_field(folder::CONFIG, config, "num_hidden_layers", 1..=1024, None)?,
        num_heads,
        intermediate_size: require_usize(config, "intermediate_size")?,
        max_position_embeddings,
        type_vocab_size: int_field(folder::CONFIG, config, "type_vocab_size", 1..=MAX_SIZE, Some(2))?,
        layer_norm_eps: layer_norm_eps(config)?,
        pad_token_id: pad_token_id as u32,
        hidden_act,
    })
}

/// sentence-transformers ≤ 5 stores the limit in `sentence_bert_config.json`; 6.x leaves it to
/// the tokenizer's `model_max_length`. Either way it cannot exceed the position table.
pub(crate) fn max_seq_length(encoder: &EncoderSpec, sbert: Option<&Value>, tokenizer_config: Option<&Value>) -> Result<usize> {
    let from_sbert = match sbert {
        Some(config) if config.get("max_seq_length").is_some_and(|v| !v.is_null()) => {
            Some(int_field(folder::SENTENCE_BERT_CONFIG, config, "max_seq_length", 1..=MAX_SIZE, None)?)
        }
        _ => None,
    };
    let from_tokenizer = match tokenizer_config.and_then(|c| c.get("model_max_length")) {
        None | Some(Value::Null) => None,
        // Tokenizers without a limit store a huge number (1e30), which means "unset".
        Some(value) => match value.as_f64() {
            Some(v) if v >= 1.0 => (v < 1e9).then_some(v as usize),
            _ => {
                return Err(EmbedError::config(
                    folder::TOKENIZER_CONFIG,
                    format!("`model_max_length` is {value}; it must be a positive number"),
                ))
            }
        },
    };
    let positions = encoder.max_positions();
    Ok(from_sbert.or(from_tokenizer).unwrap_or(positions).min(positions).max(2))
}

fn pipeline_from_modules(files: &ModelFiles, modules: &Value, hidden_size: usize) -> Result<(PoolingSpec, bool)> {
    let mut pooling = None;
    let mut normalize = false;
    for module in folder::modules(modules)? {
        match module.kind {
            ModuleKind::Transformer => {}
            ModuleKind::Pooling => {
                let file = module.config_file();
                let config = read_json(files, &file)?
                    .ok_or_else(|| EmbedError::config(&file, "missing: modules.json lists a Pooling module here"))?;
                pooling = Some(pooling_spec(&file, &config, hidden_size)?);
            }
            ModuleKind::Normalize => normalize = true,
        }
    }
    // A modules.json without Pooling yields token embeddings in sentence-transformers, which is
    // not a sentence embedding; refuse rather than guess.
    let pooling = pooling.ok_or_else(|| EmbedError::config(folder::MODULES, "lists no Pooling module"))?;
    Ok((pooling, normalize))
}

pub(crate) fn pooling_spec(file: &str, config: &Value, hidden_size: usize) -> Result<PoolingSpec> {
    let key = if config.get("word_embedding_dimension").is_some_and(|v| !v.is_null()) {
        "word_embedding_dimension"
    } else {
        "embedding_dimension"
    };
    let dimension = int_field(file, config, key, 1..=MAX_SIZE, Some(hidden_size as u64))?;
    if dimension != hidden_size {
        return Err(EmbedError::config(
            file,
            format!("word_embedding_dimension {dimension} differs from the model's hidden_size {hidden_size}"),
        ));
    }
    let include_prompt = config.get("include_prompt").and_then(Value::as_bool).unwrap_or(true);
    let mut modes = Vec::new();
    match config.get("pooling_mode") {
        // 6.x: a name, or a list of names.
        Some(Value::String(name)) => modes.push(parse_mode(file, name)?),
        Some(Value::Array(names)) => {
            for name in names {
                let name = name.as_str().ok_or_else(|| EmbedError::config(file, "pooling_mode list must hold strings"))?;
                modes.push(parse_mode(file, name)?);
            }
        }
        Some(other) => return Err(EmbedError::config(file, format!("pooling_mode {other} is neither a string nor a list"))),
        None => {
            // ≤ 5.x: one boolean per mode, concatenated in this fixed order when several are on.
            let flags = [
                ("pooling_mode_cls_token", PoolingMode::Cls),
                ("pooling_mode_max_tokens", PoolingMode::Max),
                ("pooling_mode_mean_tokens", PoolingMode::Mean),
                ("pooling_mode_mean_sqrt_len_tokens", PoolingMode::MeanSqrtLen),
                ("pooling_mode_weightedmean_tokens", PoolingMode::WeightedMean),
                ("pooling_mode_lasttoken", PoolingMode::LastToken),
            ];
            for (key, mode) in flags {
                if config.get(key).and_then(Value::as_bool).unwrap_or(false) {
                    modes.push(mode);
                }
            }
            if modes.is_empty() {
                // Left out, pooling_mode_mean_tokens is on (Pooling's default); written false with
                // every other mode off, sentence-transformers builds a Pooling with no output.
                if config.get("pooling_mode_mean_tokens").is_some() {
                    return Err(EmbedError::config(
                        file,
                        "turns every pooling mode off (each pooling_mode_* is false); set the one the model was trained with, e.g. \"pooling_mode_mean_tokens\": true",
                    ));
                }
                modes.push(PoolingMode::Mean);
            }
        }
    }
    if modes.is_empty() {
        return Err(EmbedError::config(file, "pooling_mode lists no mode"));
    }
    Ok(PoolingSpec { modes, include_prompt, dimension })
}

fn parse_mode(file: &str, name: &str) -> Result<PoolingMode> {
    Ok(match name {
        "cls" | "cls_token" => PoolingMode::Cls,
        "max" | "max_tokens" => PoolingMode::Max,
        "mean" | "mean_tokens" => PoolingMode::Mean,
        "mean_sqrt_len_tokens" | "mean_sqrt_len" => PoolingMode::MeanSqrtLen,
        "weightedmean" | "weightedmean_tokens" | "weighted_mean" => PoolingMode::WeightedMean,
        "lasttoken" | "last_token" => PoolingMode::LastToken,
        other => return Err(EmbedError::config(file, format!("pooling_mode {other:?} is not a sentence-transformers pooling mode"))),
    })
}

fn prompts(config: Option<&Value>) -> Result<(BTreeMap<String, String>, Option<String>)> {
    let file = folder::SENTENCE_TRANSFORMERS_CONFIG;
    let mut prompts = BTreeMap::new();
    let Some(config) = config else { return Ok((prompts, None)) };
    if let Some(map) = config.get("prompts").and_then(Value::as_object) {
        for (name, text) in map {
            let text = text.as_str().ok_or_else(|| EmbedError::config(file, format!("prompt {name:?} is not a string")))?;
            prompts.insert(name.clone(), text.to_string());
        }
    }
    let default = config.get("default_prompt_name").and_then(Value::as_str).map(str::to_string);
    if let Some(name) = &default {
        if !prompts.contains_key(name) {
            return Err(EmbedError::config(file, format!("default_prompt_name {name:?} is not among the prompts")));
        }
    }
    Ok((prompts, default))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERT_CONFIG: &str = r#"{"architectures":["BertModel"],"model_type":"bert","hidden_size":384,
        "num_hidden_layers":6,"num_attention_heads":12,"intermediate_size":1536,"vocab_size":30522,
        "max_position_embeddings":512,"type_vocab_size":2,"layer_norm_eps":1e-12,"hidden_act":"gelu","pad_token_id":0}"#;
    const XLMR_CONFIG: &str = r#"{"architectures":["XLMRobertaModel"],"model_type":"xlm-roberta","hidden_size":384,
        "num_hidden_layers":2,"num_attention_heads":12,"intermediate_size":1536,"vocab_size":1000,
        "max_position_embeddings":514,"type_vocab_size":1,"layer_norm_eps":1e-5,"hidden_act":"gelu","pad_token_id":1}"#;

    fn files(entries: &[(&str, &str)]) -> ModelFiles {
        let mut files = ModelFiles::new();
        for (name, text) in entries {
            files.insert(*name, text.as_bytes().to_vec());
        }
        files
    }

    #[test]
    fn legacy_format_reads_max_seq_length_and_boolean_pooling() {
        let spec = ModelSpec::from_files(&files(&[
            ("config.json", BERT_CONFIG),
            ("tokenizer_config.json", r#"{"model_max_length":512}"#),
            ("sentence_bert_config.json", r#"{"max_seq_length":256,"do_lower_case":false}"#),
            (
                "modules.json",
                r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#,
            ),
            (
                "1_Pooling/config.json",
                r#"{"word_embedding_dimension":384,"pooling_mode_cls_token":true,
                "pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":false}"#,
            ),
        ]))
        .unwrap();
        assert_eq!(spec.max_seq_length, 256);
        assert_eq!(spec.pooling.modes, vec![PoolingMode::Cls, PoolingMode::Mean]);
        assert_eq!(spec.dimension(), 768);
        assert!(spec.normalize);
        assert_eq!(spec.encoder.architecture, Architecture::Bert);
    }

    #[test]
    fn new_format_reads_model_max_length_and_named_pooling() {
        let spec = ModelSpec::from_files(&files(&[
            ("config.json", XLMR_CONFIG),
            ("tokenizer_config.json", r#"{"model_max_length":512}"#),
            (
                "modules.json",
                r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.base.modules.transformer.Transformer"},
                {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.sentence_transformer.modules.pooling.Pooling"}]"#,
            ),
            ("1_Pooling/config.json", r#"{"embedding_dimension":384,"pooling_mode":"lasttoken","include_prompt":false}"#),
            ("config_sentence_transformers.json", r#"{"prompts":{"query":"query: ","passage":"passage: "},"default_prompt_name":"query"}"#),
        ]))
        .unwrap();
        assert_eq!(spec.max_seq_length, 512);
        assert_eq!(spec.pooling.modes, vec![PoolingMode::LastToken]);
        assert!(!spec.pooling.include_prompt);
        assert!(!spec.normalize, "no Normalize module listed");
        assert_eq!(spec.encoder.architecture, Architecture::XlmRoberta);
        assert_eq!(spec.encoder.max_positions(), 512);
        assert_eq!(spec.prompts.get("query").map(String::as_str), Some("query: "));
        assert_eq!(spec.default_prompt_name.as_deref(), Some("query"));
    }

    #[test]
    fn max_length_is_capped_by_the_position_table() {
        let spec =
            ModelSpec::from_files(&files(&[("config.json", XLMR_CONFIG), ("sentence_bert_config.json", r#"{"max_seq_length":4096}"#)]))
                .unwrap();
        assert_eq!(spec.max_seq_length, 512);
        // No modules.json: sentence-transformers' mean pooling without Normalize.
        assert_eq!(spec.pooling.modes, vec![PoolingMode::Mean]);
        assert!(!spec.normalize);
    }

    #[test]
    fn huge_tokenizer_model_max_length_means_unset() {
        let spec = ModelSpec::from_files(&files(&[
            ("config.json", BERT_CONFIG),
            ("tokenizer_config.json", r#"{"model_max_length":1000000000000000019884624838656}"#),
        ]))
        .unwrap();
        assert_eq!(spec.max_seq_length, 512);
    }

    #[test]
    fn legacy_pooling_without_flags_falls_back_to_mean() {
        let spec = pooling_spec("p", &serde_json::json!({"word_embedding_dimension": 8}), 8).unwrap();
        assert_eq!(spec.modes, vec![PoolingMode::Mean]);
    }

    #[test]
    fn legacy_pooling_with_every_mode_false_is_refused() {
        let config = serde_json::json!({"word_embedding_dimension": 8, "pooling_mode_cls_token": false,
            "pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false});
        let err = pooling_spec("1_Pooling/config.json", &config, 8).unwrap_err();
        assert_eq!(err.code(), "E_CONFIG");
        assert!(err.to_string().contains("1_Pooling/config.json") && err.to_string().contains("every pooling mode off"), "{err}");
        let err = pooling_spec("1_Pooling/config.json", &serde_json::json!({"embedding_dimension": 8, "pooling_mode": []}), 8).unwrap_err();
        assert_eq!(err.code(), "E_CONFIG");
    }

    #[test]
    fn unsupported_module_is_refused_with_its_name() {
        let err = ModelSpec::from_files(&files(&[
            ("config.json", BERT_CONFIG),
            ("modules.json", r#"[{"path":"2_Dense","type":"sentence_transformers.models.Dense"}]"#),
        ]))
        .unwrap_err();
        assert_eq!(err.code(), "E_CONFIG");
        assert!(err.to_string().contains("Dense"), "{err}");
    }
}
