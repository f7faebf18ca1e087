//! Reads every sentence-transformers / transformers config file of a model folder, once, into
//! a `ModelSpec`. Everything downstream reads the spec, never the files.
//!
//! Both sentence-transformers layouts are understood: the ≤ 5.x one (`sentence_bert_config.json`
//! with `max_seq_length`, `pooling_mode_*_tokens` booleans) and the 6.x one (`pooling_mode`
//! strings, `model_max_length` in `tokenizer_config.json`).

mod encoder;
mod families;
mod modules;

use std::collections::BTreeMap;

use serde_json::Value;

pub(crate) use self::encoder::encoder_spec;
pub use self::encoder::{static_spec, Architecture, EncoderSpec, HiddenAct, LayerKind, NormKind, FAMILIES};
pub use self::modules::{DenseActivation, DenseSpec, Head, StaticRules};
use crate::error::{EmbedError, Result};
use crate::files::ModelFiles;
use crate::folder::{self, parse_json, ModuleKind};
use crate::pooling::PoolingSpec;

/// Tokens a static model reads of one text at most when nothing else limits it (a static
/// model has no position table; sentence-transformers reads whole texts).
pub const STATIC_MAX_TOKENS: usize = 1 << 16;

#[derive(Clone, Debug)]
pub struct ModelSpec {
    pub encoder: EncoderSpec,
    /// Tokens per text after truncation, special tokens included.
    pub max_seq_length: usize,
    pub pooling: PoolingSpec,
    /// Dense layers on the pooled vector, in `modules.json` order (before Normalize).
    pub dense: Vec<DenseSpec>,
    pub normalize: bool,
    pub prompts: BTreeMap<String, String>,
    pub default_prompt_name: Option<String>,
    /// The tokenizer file (a static model's module folder may hold it).
    pub tokenizer_file: String,
    /// A static model: how a text becomes the ids it averages (None for a transformer).
    pub static_rules: Option<StaticRules>,
    /// Matryoshka truncation: vectors are cut to this many leading values after every module,
    /// Normalize included, as sentence-transformers' `truncate_dim` cuts them.
    pub truncate_dim: Option<usize>,
}

impl ModelSpec {
    pub fn from_files(files: &ModelFiles) -> Result<Self> {
        let modules = folder::modules_of(files.get(folder::MODULES))?;
        let plan = folder::folder_plan(files.get(folder::MODULES))?;
        let config = read_json(files, folder::CONFIG)?;
        let static_input = static_input_of(&modules);
        // model2vec writes a config.json beside its modules.json (sentence-transformers' static
        // folders have none): a static folder with one is model2vec's, and says `normalize`.
        let model2vec =
            config.as_ref().filter(|c| modules::is_model2vec_config(c) || (static_input && !modules::is_transformers_config(c)));
        if static_input || (modules.is_none() && model2vec.is_some()) {
            return Self::static_from_files(files, modules.as_deref().unwrap_or(&[]), model2vec, plan.tokenizer);
        }
        let config = config.ok_or_else(|| EmbedError::config(folder::CONFIG, "missing: a model folder needs config.json"))?;
        let encoder = encoder_spec(&config)?;
        let tokenizer_config = read_json(files, folder::TOKENIZER_CONFIG)?;
        let sbert_config = read_json(files, folder::SENTENCE_BERT_CONFIG)?;
        let max_seq_length = max_seq_length(&encoder, sbert_config.as_ref(), tokenizer_config.as_ref())?;
        let head = match &modules {
            Some(modules) => modules::head_from_modules(files, modules, encoder.hidden_size, false)?,
            // sentence-transformers wraps a plain transformers folder in mean pooling, unnormalized.
            None => Head { pooling: PoolingSpec::mean(encoder.hidden_size), dense: Vec::new(), normalize: false },
        };
        let st_config = read_json(files, folder::SENTENCE_TRANSFORMERS_CONFIG)?;
        let (prompts, default_prompt_name) = prompts(st_config.as_ref())?;
        Ok(ModelSpec {
            encoder,
            max_seq_length,
            pooling: head.pooling,
            dense: head.dense,
            normalize: head.normalize,
            prompts,
            default_prompt_name,
            tokenizer_file: plan.tokenizer,
            static_rules: None,
            truncate_dim: None,
        })
    }

    /// A static model's spec: its table's size is known once its weights are read
    /// (`with_static_table`); until then the encoder spec holds an empty table.
    fn static_from_files(
        files: &ModelFiles,
        modules: &[folder::Module],
        model2vec: Option<&Value>,
        tokenizer_file: String,
    ) -> Result<Self> {
        let (rules, normalize_override, max_seq_length) = match model2vec {
            Some(config) => {
                let (normalize, max_length) = modules::model2vec_settings(config)?;
                (StaticRules::Model2Vec { max_length }, Some(normalize), max_length.unwrap_or(STATIC_MAX_TOKENS).min(STATIC_MAX_TOKENS))
            }
            None => (StaticRules::SentenceTransformers, None, STATIC_MAX_TOKENS),
        };
        let head = modules::head_from_modules(files, modules, 0, true)?;
        let st_config = read_json(files, folder::SENTENCE_TRANSFORMERS_CONFIG)?;
        let (prompts, default_prompt_name) = prompts(st_config.as_ref())?;
        Ok(ModelSpec {
            encoder: static_spec(0, 0, 0),
            max_seq_length,
            pooling: head.pooling,
            dense: head.dense,
            normalize: normalize_override.unwrap_or(head.normalize),
            prompts,
            default_prompt_name,
            tokenizer_file,
            static_rules: Some(rules),
            truncate_dim: None,
        })
    }

    /// A static model's spec once its table (`rows × dimension`) is known; the first Dense
    /// module (if any) must take that width.
    pub fn with_static_table(mut self, rows: usize, dimension: usize) -> Result<Self> {
        self.encoder = static_spec(rows, dimension, 0);
        self.pooling = PoolingSpec::mean(dimension);
        if let Some(first) = self.dense.first() {
            if first.in_features != dimension {
                return Err(EmbedError::config(
                    &format!("{}{}", first.prefix, folder::CONFIG),
                    format!("in_features is {}, but the static table's vectors are {dimension} wide", first.in_features),
                ));
            }
        }
        Ok(self)
    }

    /// The vector's width after every module, before truncation.
    pub fn full_dimension(&self) -> usize {
        self.dense.last().map_or(self.pooling.output_dimension(), |d| d.out_features)
    }

    /// The vectors' width as returned (after `truncate_dim`).
    pub fn dimension(&self) -> usize {
        self.truncate_dim.unwrap_or_else(|| self.full_dimension())
    }

    /// Bytes every weight of the model takes as f32.
    pub fn weight_bytes(&self) -> u64 {
        let head = Head { pooling: self.pooling.clone(), dense: self.dense.clone(), normalize: self.normalize };
        self.encoder.weight_bytes() + head.weight_bytes()
    }

    /// This spec with vectors cut to `dim` values (None: whole), checked against the full width.
    pub fn truncated(mut self, dim: Option<usize>) -> Result<Self> {
        if let Some(dim) = dim {
            check_truncate_dim(dim, self.full_dimension())?;
        }
        self.truncate_dim = dim;
        Ok(self)
    }

    /// Whether the model is a static table (no forward pass).
    pub fn is_static(&self) -> bool {
        self.static_rules.is_some()
    }
}

/// Whether a folder's first module is a static table.
fn static_input_of(modules: &Option<Vec<folder::Module>>) -> bool {
    modules.as_ref().and_then(|m| m.first()).is_some_and(|m| m.kind == ModuleKind::StaticEmbedding)
}

/// A `truncateDim` must be a positive integer no larger than the model's vectors.
pub fn check_truncate_dim(dim: usize, full: usize) -> Result<()> {
    if dim == 0 || dim > full {
        return Err(EmbedError::Input(format!("truncateDim must be an integer from 1 to this model's dimension {full}; got {dim}")));
    }
    Ok(())
}

/// A number of a config file within `(low, high]`: absent or null gives `default`; NaN, text or
/// out of range is refused with the key's name.
pub(crate) fn float_field(file: &str, config: &Value, key: &str, default: f64, (low, high): (f64, f64)) -> Result<f64> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(value) => match value.as_f64() {
            Some(v) if v.is_finite() && v > low && v <= high => Ok(v),
            _ => Err(EmbedError::config(file, format!("`{key}` is {value}; it must be a number above {low} and at most {high}"))),
        },
    }
}

/// A boolean of a config file: absent or null gives `default`.
pub(crate) fn bool_field(file: &str, config: &Value, key: &str, default: bool) -> Result<bool> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(v)) => Ok(*v),
        Some(other) => Err(EmbedError::config(file, format!("`{key}` is {other}; it must be true or false"))),
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

/// Sizes beyond any encoder webembed could hold in wasm32 (keeps every product in u64 and
/// every value in a 32-bit usize).
pub(crate) const MAX_SIZE: u64 = 1 << 24;

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
    use crate::pooling::PoolingMode;
    use modules::pooling_spec;

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
            ("modules.json", r#"[{"path":"2_WLP","type":"sentence_transformers.models.WeightedLayerPooling"}]"#),
        ]))
        .unwrap_err();
        assert_eq!(err.code(), "E_CONFIG");
        assert!(err.to_string().contains("WeightedLayerPooling") && err.to_string().contains("Dense"), "{err}");
    }

    #[test]
    fn dense_modules_chain_from_the_pooled_width() {
        let modules = r#"[{"path":"","type":"sentence_transformers.models.Transformer"},
            {"path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
            {"path":"2_Dense","type":"sentence_transformers.models.Dense"},
            {"path":"3_Normalize","type":"sentence_transformers.models.Normalize"}]"#;
        let pooling = r#"{"word_embedding_dimension":384,"pooling_mode":"cls"}"#;
        let dense = r#"{"in_features":384,"out_features":128,"bias":true,"activation_function":"torch.nn.modules.activation.Tanh"}"#;
        let spec = ModelSpec::from_files(&files(&[
            ("config.json", BERT_CONFIG),
            ("modules.json", modules),
            ("1_Pooling/config.json", pooling),
            ("2_Dense/config.json", dense),
        ]))
        .unwrap();
        assert_eq!(spec.dimension(), 128);
        assert_eq!(spec.dense[0].activation, DenseActivation::Tanh);
        assert!(spec.normalize);
        let spec = spec.truncated(Some(64)).unwrap();
        assert_eq!((spec.dimension(), spec.full_dimension()), (64, 128));
        let wrong = r#"{"in_features":768,"out_features":128}"#;
        let err = ModelSpec::from_files(&files(&[
            ("config.json", BERT_CONFIG),
            ("modules.json", modules),
            ("1_Pooling/config.json", pooling),
            ("2_Dense/config.json", wrong),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("2_Dense/config.json") && err.to_string().contains("in_features is 768"), "{err}");
        for bad in [0, 129] {
            let spec = ModelSpec::from_files(&files(&[
                ("config.json", BERT_CONFIG),
                ("modules.json", modules),
                ("1_Pooling/config.json", pooling),
                ("2_Dense/config.json", dense),
            ]))
            .unwrap();
            assert_eq!(spec.truncated(Some(bad)).unwrap_err().code(), "E_INPUT");
        }
    }

    #[test]
    fn static_folders_read_as_static_models() {
        let st = r#"[{"path":"0_StaticEmbedding","type":"sentence_transformers.models.StaticEmbedding"}]"#;
        let spec = ModelSpec::from_files(&files(&[("modules.json", st)])).unwrap();
        assert_eq!(spec.static_rules, Some(StaticRules::SentenceTransformers));
        assert_eq!(spec.tokenizer_file, "0_StaticEmbedding/tokenizer.json");
        assert!(!spec.normalize);
        let spec = spec.with_static_table(1000, 256).unwrap();
        assert_eq!(spec.dimension(), 256);
        let model2vec = r#"{"model_type":"model2vec","architectures":["StaticModel"],"normalize":true,"max_length":null}"#;
        let spec = ModelSpec::from_files(&files(&[("config.json", model2vec)])).unwrap();
        assert_eq!(spec.static_rules, Some(StaticRules::Model2Vec { max_length: None }));
        assert!(spec.normalize);
        let err = ModelSpec::from_files(&files(&[("config.json", r#"{"model_type":"model2vec"}"#)])).unwrap_err();
        assert!(err.to_string().contains("normalize"), "{err}");
    }
}
