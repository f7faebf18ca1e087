//! The sentence-transformers modules after the input module, from `modules.json` and each
//! module's config: Pooling, Dense (a linear layer with an activation on the pooled vector) and
//! Normalize; and how a static model (StaticEmbedding, model2vec) turns a text into ids.

use serde_json::Value;

use super::{int_field, read_json, MAX_SIZE};
use crate::error::{EmbedError, Result};
use crate::files::ModelFiles;
use crate::folder::{self, Module, ModuleKind};
use crate::pooling::{PoolingMode, PoolingSpec};

/// What follows the input module: pooling, then Dense layers, then Normalize or not.
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    pub pooling: PoolingSpec,
    pub dense: Vec<DenseSpec>,
    pub normalize: bool,
}

/// The activations a Dense module may name (`activation_function`), as torch's classes compute them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenseActivation {
    Identity,
    Tanh,
    Relu,
    Gelu,
    Sigmoid,
    Silu,
}

const DENSE_ACTIVATIONS: [(&str, DenseActivation); 6] = [
    ("torch.nn.modules.linear.Identity", DenseActivation::Identity),
    ("torch.nn.modules.activation.Tanh", DenseActivation::Tanh),
    ("torch.nn.modules.activation.ReLU", DenseActivation::Relu),
    ("torch.nn.modules.activation.GELU", DenseActivation::Gelu),
    ("torch.nn.modules.activation.Sigmoid", DenseActivation::Sigmoid),
    ("torch.nn.modules.activation.SiLU", DenseActivation::Silu),
];

/// One Dense module: `activation(x · Wᵀ + b)` (plus `x`, or a projection of it, with `use_residual`).
#[derive(Clone, Debug, PartialEq)]
pub struct DenseSpec {
    /// Its folder as a prefix (`2_Dense/`): its weights are stored under `{prefix}linear.weight`.
    pub prefix: String,
    /// Its weight files, in order of preference.
    pub weight_files: Vec<String>,
    pub in_features: usize,
    pub out_features: usize,
    pub bias: bool,
    pub activation: DenseActivation,
    pub residual: bool,
}

impl Head {
    /// The vector's width after every module (before any truncation).
    pub fn dimension(&self) -> usize {
        self.dense.last().map_or(self.pooling.output_dimension(), |d| d.out_features)
    }

    /// Bytes the Dense layers' weights take as f32.
    pub fn weight_bytes(&self) -> u64 {
        self.dense
            .iter()
            .map(|d| 4 * (d.in_features as u64 + 1 + u64::from(d.residual) * d.in_features as u64) * d.out_features as u64)
            .sum()
    }
}

/// The head `modules` lists after the input module, whose output is `width` wide. Without a
/// Pooling module a Transformer's output is token embeddings, which is refused; a static model
/// pools itself (the mean of its rows).
pub(crate) fn head_from_modules(files: &ModelFiles, modules: &[Module], width: usize, pools_itself: bool) -> Result<Head> {
    let mut pooling = pools_itself.then(|| PoolingSpec::mean(width));
    let (mut dense, mut normalize) = (Vec::new(), false);
    let mut flowing = width;
    for module in modules {
        let order_error = |what: &str| {
            EmbedError::config(folder::MODULES, format!("lists {what}; webembed runs Pooling, then Dense layers, then Normalize"))
        };
        match module.kind {
            ModuleKind::Transformer | ModuleKind::StaticEmbedding => {}
            ModuleKind::Pooling => {
                if pooling.is_some() || !dense.is_empty() || normalize {
                    return Err(order_error("a Pooling module after another module of the head"));
                }
                let file = module.config_file();
                let config = read_json(files, &file)?
                    .ok_or_else(|| EmbedError::config(&file, "missing: modules.json lists a Pooling module here"))?;
                let spec = pooling_spec(&file, &config, width)?;
                flowing = spec.output_dimension();
                pooling = Some(spec);
            }
            ModuleKind::Dense => {
                if pooling.is_none() || normalize {
                    return Err(order_error("a Dense module before Pooling or after Normalize"));
                }
                let layer = dense_spec(files, module, flowing)?;
                flowing = layer.out_features;
                dense.push(layer);
            }
            ModuleKind::Normalize => normalize = true,
        }
    }
    // A modules.json without Pooling yields token embeddings in sentence-transformers, which is
    // not a sentence embedding; refuse rather than guess.
    let pooling = pooling.ok_or_else(|| EmbedError::config(folder::MODULES, "lists no Pooling module"))?;
    Ok(Head { pooling, dense, normalize })
}

fn dense_spec(files: &ModelFiles, module: &Module, in_width: usize) -> Result<DenseSpec> {
    let file = module.config_file();
    let config = read_json(files, &file)?.ok_or_else(|| EmbedError::config(&file, "missing: modules.json lists a Dense module here"))?;
    let in_features = int_field(&file, &config, "in_features", 1..=MAX_SIZE, None)?;
    let out_features = int_field(&file, &config, "out_features", 1..=MAX_SIZE, None)?;
    if in_features != in_width {
        return Err(EmbedError::config(
            &file,
            format!("in_features is {in_features}, but the vector reaching this Dense module is {in_width} wide"),
        ));
    }
    for key in ["module_input_name", "module_output_name"] {
        match config.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(name)) if name == "sentence_embedding" => {}
            Some(other) => {
                return Err(EmbedError::config(&file, format!("`{key}` is {other}; webembed runs Dense modules on the sentence embedding")))
            }
        }
    }
    // sentence-transformers falls back to Tanh (its default) for an activation outside torch.
    let activation = match config.get("activation_function") {
        None | Some(Value::Null) => DenseActivation::Tanh,
        Some(Value::String(name)) if !name.starts_with("torch.") => DenseActivation::Tanh,
        Some(Value::String(name)) => DENSE_ACTIVATIONS.iter().find(|(n, _)| n == name).map(|(_, a)| *a).ok_or_else(|| {
            let known: Vec<&str> = DENSE_ACTIVATIONS.iter().map(|(n, _)| n.rsplit('.').next().unwrap_or(n)).collect();
            EmbedError::config(&file, format!("activation_function {name:?} is not supported ({})", known.join(", ")))
        })?,
        Some(other) => return Err(EmbedError::config(&file, format!("activation_function is {other}; it must be a class name"))),
    };
    Ok(DenseSpec {
        prefix: module.dir(),
        weight_files: module.weight_files(),
        in_features,
        out_features,
        bias: super::bool_field(&file, &config, "bias", true)?,
        activation,
        residual: super::bool_field(&file, &config, "use_residual", false)?,
    })
}

/// How a static model turns a text into the ids it averages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaticRules {
    /// sentence-transformers' StaticEmbedding: the ids of the text without special tokens.
    SentenceTransformers,
    /// model2vec's `encode`: the text cut to `max_length × median token length` characters,
    /// tokenized without special tokens and truncated at `max_length` tokens, unknown tokens dropped.
    Model2Vec { max_length: Option<usize> },
}

/// A folder's `config.json` is model2vec's (not a transformers config).
pub(crate) fn is_model2vec_config(config: &Value) -> bool {
    let model_type = config.get("model_type").and_then(Value::as_str);
    let architecture = config.get("architectures").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_str);
    model_type == Some("model2vec")
        || architecture == Some("StaticModel")
        || (model_type.is_none() && architecture.is_none() && config.get("normalize").is_some())
}

/// A folder's `config.json` is a transformers model's (it names an architecture other than model2vec's).
pub(crate) fn is_transformers_config(config: &Value) -> bool {
    !is_model2vec_config(config) && (config.get("architectures").is_some() || config.get("model_type").is_some())
}

/// model2vec's `normalize` (it must be stated) and `max_length` (default 512; null: no limit).
pub(crate) fn model2vec_settings(config: &Value) -> Result<(bool, Option<usize>)> {
    let normalize = match config.get("normalize") {
        Some(Value::Bool(value)) => *value,
        Some(other) => {
            return Err(EmbedError::config(folder::CONFIG, format!("model2vec's `normalize` is {other}; it must be true or false")))
        }
        None => {
            return Err(EmbedError::config(
                folder::CONFIG,
                "is a model2vec config without `normalize`; say whether vectors are normalized (\"normalize\": true or false)",
            ))
        }
    };
    let max_length = match config.get("max_length") {
        Some(Value::Null) => None,
        _ => Some(int_field(folder::CONFIG, config, "max_length", 1..=MAX_SIZE, Some(512))?),
    };
    Ok((normalize, max_length))
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
