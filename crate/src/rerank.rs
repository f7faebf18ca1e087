//! Cross-encoder rerankers, as sentence-transformers' `CrossEncoder` runs them: a query and a
//! passage encoded together as a text pair, the first token's hidden state through the
//! architecture's classification head, then the activation the folder names.
//!
//! Both folder layouts are read: the Hugging Face one (config.json naming
//! `BertForSequenceClassification` / `XLMRobertaForSequenceClassification`, the activation, if
//! any, under `sentence_transformers.activation_fn`) and sentence-transformers 6's modular one
//! (modules.json with one Transformer, `activation_fn` in config_sentence_transformers.json).

use serde_json::Value;

use crate::error::{EmbedError, Result};
use crate::files::ModelFiles;
use crate::folder::{self, ModuleKind};
use crate::pooling::{PoolingMode, PoolingSpec};
use crate::spec::{self, Architecture, EncoderSpec, ModelSpec};
use crate::weights::Weights;

/// More labels than any reranker has: a config claiming more is refused before its weights load.
pub const MAX_LABELS: usize = 4096;

/// The activations sentence-transformers applies to a CrossEncoder's logits that webembed computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Sigmoid,
    Identity,
    Tanh,
    /// Over each pair's labels (torch's implicit dimension for a batch of logits).
    Softmax,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Identity => "identity",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }

    /// A torch class path as sentence-transformers stores it (`torch.nn.modules.activation.Sigmoid`).
    fn parse(file: &str, path: &str) -> Result<Self> {
        let class = path.rsplit('.').next().unwrap_or("");
        match (path.starts_with("torch."), class) {
            (true, "Sigmoid") => Ok(Activation::Sigmoid),
            (true, "Identity") => Ok(Activation::Identity),
            (true, "Tanh") => Ok(Activation::Tanh),
            (true, "Softmax") => Ok(Activation::Softmax),
            _ => Err(EmbedError::config(
                file,
                format!("activation_fn {path:?} is not one webembed computes (torch's Sigmoid, Identity, Tanh or Softmax)"),
            )),
        }
    }

    fn apply(self, logits: &mut [f32]) {
        match self {
            Activation::Identity => {}
            Activation::Sigmoid => logits.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
            Activation::Tanh => logits.iter_mut().for_each(|v| *v = v.tanh()),
            Activation::Softmax => {
                let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = logits
                    .iter_mut()
                    .map(|v| {
                        *v = (*v - max).exp();
                        *v
                    })
                    .sum();
                logits.iter_mut().for_each(|v| *v /= sum);
            }
        }
    }
}

/// What a reranker folder says beyond its encoder.
#[derive(Clone, Debug)]
pub struct RerankSpec {
    pub num_labels: usize,
    pub activation: Activation,
}

/// The spec of a cross-encoder folder: its encoder, max length and first-token pooling (the
/// classification head reads the first token), and the head's labels and activation.
pub fn reranker_spec(files: &ModelFiles) -> Result<(ModelSpec, RerankSpec)> {
    let config = spec::read_json(files, folder::CONFIG)?
        .ok_or_else(|| EmbedError::config(folder::CONFIG, "missing: a reranker folder needs config.json"))?;
    let architecture = config.get("architectures").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_str).unwrap_or("");
    if !architecture.ends_with("ForSequenceClassification") {
        return Err(EmbedError::config(
            folder::CONFIG,
            format!(
                "names architecture {architecture:?}, which has no classification head; a reranker folder names \
                 BertForSequenceClassification or XLMRobertaForSequenceClassification (load embedding models with Embedder.load)"
            ),
        ));
    }
    let encoder = spec::encoder_spec(&config)?;
    if !matches!(encoder.architecture, Architecture::Bert | Architecture::XlmRoberta) {
        return Err(EmbedError::config(
            folder::CONFIG,
            format!("names architecture {architecture:?}; webembed runs BERT and XLM-RoBERTa rerankers"),
        ));
    }
    let num_labels = num_labels(&config)?;
    if let Some(modules) = spec::read_json(files, folder::MODULES)? {
        for module in folder::modules(&modules)? {
            if module.kind != ModuleKind::Transformer {
                return Err(EmbedError::config(
                    folder::MODULES,
                    "lists a Pooling or Normalize module: this is an embedding model's folder, not a CrossEncoder's (load it with Embedder.load)",
                ));
            }
        }
    }
    let st_config = spec::read_json(files, folder::SENTENCE_TRANSFORMERS_CONFIG)?;
    let activation = activation(&config, st_config.as_ref(), num_labels)?;
    let tokenizer_config = spec::read_json(files, folder::TOKENIZER_CONFIG)?;
    let sbert_config = spec::read_json(files, folder::SENTENCE_BERT_CONFIG)?;
    let max_seq_length = spec::max_seq_length(&encoder, sbert_config.as_ref(), tokenizer_config.as_ref())?;
    let pooling = PoolingSpec { modes: vec![PoolingMode::Cls], include_prompt: true, dimension: encoder.hidden_size };
    let model = ModelSpec {
        encoder,
        max_seq_length,
        pooling,
        dense: Vec::new(),
        normalize: false,
        prompts: Default::default(),
        default_prompt_name: None,
        tokenizer_file: folder::TOKENIZER.to_string(),
        static_rules: None,
        truncate_dim: None,
    };
    Ok((model, RerankSpec { num_labels, activation }))
}

/// transformers counts labels by `id2label` when the config has it, else `num_labels` (default 2).
fn num_labels(config: &Value) -> Result<usize> {
    let count = match config.get("id2label") {
        Some(Value::Object(labels)) => labels.len(),
        Some(other) if !other.is_null() => {
            return Err(EmbedError::config(folder::CONFIG, format!("`id2label` is {other}; it must be an object of label names")))
        }
        _ => spec::int_field(folder::CONFIG, config, "num_labels", 0..=u32::MAX as u64, Some(2))?,
    };
    if count == 0 || count > MAX_LABELS {
        return Err(EmbedError::config(
            folder::CONFIG,
            format!("gives the classifier {count} labels; a reranker has from 1 to {MAX_LABELS} (num_labels / id2label)"),
        ));
    }
    Ok(count)
}

/// Where sentence-transformers looks, in its order: config_sentence_transformers.json (5.x, 6.x),
/// config.json's `sentence_transformers` block (4.x), its `sbert_ce_default_activation_function`
/// (< 4); else sigmoid for one label and identity for several.
fn activation(config: &Value, st_config: Option<&Value>, num_labels: usize) -> Result<Activation> {
    let stored = [
        (folder::SENTENCE_TRANSFORMERS_CONFIG, st_config.and_then(|c| c.get("activation_fn"))),
        (folder::CONFIG, config.pointer("/sentence_transformers/activation_fn")),
        (folder::CONFIG, config.get("sbert_ce_default_activation_function")),
    ];
    for (file, value) in stored {
        match value {
            None | Some(Value::Null) => continue,
            Some(Value::String(path)) => return Activation::parse(file, path),
            Some(other) => return Err(EmbedError::config(file, format!("activation_fn is {other}; it must be a class path string"))),
        }
    }
    Ok(if num_labels == 1 { Activation::Sigmoid } else { Activation::Identity })
}

/// The classification head: a dense layer with tanh on the first token's hidden state (BERT's
/// pooler; RoBERTa's `classifier.dense`), then a linear layer to the labels.
pub struct Classifier {
    dense: Linear,
    out: Linear,
    activation: Activation,
}

struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    out_features: usize,
    in_features: usize,
}

impl Linear {
    fn load(weights: &mut Weights, prefix: &str, out_features: usize, in_features: usize) -> Result<Self> {
        let weight = weights.take(&format!("{prefix}.weight"), &[out_features, in_features])?;
        let bias = weights.take(&format!("{prefix}.bias"), &[out_features])?;
        Ok(Linear { weight: weight.flatten_all()?.to_vec1::<f32>()?, bias: bias.to_vec1::<f32>()?, out_features, in_features })
    }

    fn apply(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        // Summed in f64: the head is tiny, and its sums are then exact to f32's last bit.
        out.extend(
            self.weight
                .chunks_exact(self.in_features)
                .zip(&self.bias)
                .map(|(row, b)| (*b as f64 + row.iter().zip(x).map(|(w, v)| *w as f64 * *v as f64).sum::<f64>()) as f32),
        );
    }
}

impl Classifier {
    pub fn load(encoder: &EncoderSpec, spec: &RerankSpec, weights: &mut Weights) -> Result<Self> {
        let hidden = encoder.hidden_size;
        let (dense, out) = match encoder.architecture {
            Architecture::XlmRoberta => ("classifier.dense", "classifier.out_proj"),
            // `reranker_spec` admits BERT and XLM-R only.
            _ => ("pooler.dense", "classifier"),
        };
        Ok(Classifier {
            dense: Linear::load(weights, dense, hidden, hidden)?,
            out: Linear::load(weights, out, spec.num_labels, hidden)?,
            activation: spec.activation,
        })
    }

    pub fn num_labels(&self) -> usize {
        self.out.out_features
    }

    /// Scores of `rows` first-token states (`rows × hidden`): `rows × num_labels`, activated.
    pub fn scores(&self, first_tokens: &[f32]) -> Vec<f32> {
        let hidden = self.dense.in_features;
        let mut scores = Vec::with_capacity(first_tokens.len() / hidden.max(1) * self.num_labels());
        let (mut pooled, mut logits) = (Vec::new(), Vec::new());
        for state in first_tokens.chunks_exact(hidden) {
            self.dense.apply(state, &mut pooled);
            pooled.iter_mut().for_each(|v| *v = v.tanh());
            self.out.apply(&pooled, &mut logits);
            self.activation.apply(&mut logits);
            scores.extend_from_slice(&logits);
        }
        scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERT: &str = r#"{"architectures":["BertForSequenceClassification"],"model_type":"bert","hidden_size":8,
        "num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"vocab_size":30,"max_position_embeddings":64}"#;

    fn files(config: &str, extra: &[(&str, &str)]) -> ModelFiles {
        let mut files = ModelFiles::new();
        files.insert("config.json", config.as_bytes().to_vec());
        for (name, body) in extra {
            files.insert(*name, body.as_bytes().to_vec());
        }
        files
    }

    fn with(field: &str) -> String {
        BERT.replacen('{', &format!("{{{field},"), 1)
    }

    #[test]
    fn defaults_follow_sentence_transformers() {
        let (model, spec) = reranker_spec(&files(BERT, &[])).unwrap();
        assert_eq!((spec.num_labels, spec.activation), (2, Activation::Identity), "transformers' default is two labels");
        assert_eq!(model.pooling.modes, vec![PoolingMode::Cls]);
        assert!(!model.normalize);
        let (_, one) = reranker_spec(&files(&with(r#""id2label":{"0":"LABEL_0"}"#), &[])).unwrap();
        assert_eq!((one.num_labels, one.activation), (1, Activation::Sigmoid));
    }

    #[test]
    fn the_activation_is_read_where_each_version_stored_it() {
        let st = r#"{"activation_fn":"torch.nn.modules.activation.Tanh"}"#;
        let config = with(r#""sentence_transformers":{"activation_fn":"torch.nn.modules.linear.Identity"}"#);
        let (_, spec) = reranker_spec(&files(&config, &[("config_sentence_transformers.json", st)])).unwrap();
        assert_eq!(spec.activation, Activation::Tanh, "config_sentence_transformers.json wins");
        let (_, spec) = reranker_spec(&files(&config, &[])).unwrap();
        assert_eq!(spec.activation, Activation::Identity);
        let legacy = with(r#""sbert_ce_default_activation_function":"torch.nn.modules.activation.Sigmoid""#);
        assert_eq!(reranker_spec(&files(&legacy, &[])).unwrap().1.activation, Activation::Sigmoid);
    }

    #[test]
    fn hostile_configs_are_refused_naming_the_file() {
        let cases = [
            (with(r#""num_labels":0"#), vec![], "config.json", "0 labels"),
            (with(r#""id2label":{}"#), vec![], "config.json", "0 labels"),
            (with(r#""num_labels":1000000"#), vec![], "config.json", "1000000 labels"),
            (with(r#""sentence_transformers":{"activation_fn":"torch.nn.GELU"}"#), vec![], "config.json", "torch.nn.GELU"),
            (
                BERT.to_string(),
                vec![("config_sentence_transformers.json", r#"{"activation_fn":"my.module.Fancy"}"#)],
                "config_sentence_transformers.json",
                "my.module.Fancy",
            ),
            (BERT.replace("BertForSequenceClassification", "BertModel"), vec![], "config.json", "no classification head"),
            (
                BERT.to_string(),
                vec![(
                    "modules.json",
                    r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#,
                )],
                "modules.json",
                "embedding model",
            ),
        ];
        for (config, extra, file, words) in cases {
            let err = reranker_spec(&files(&config, &extra)).unwrap_err();
            assert_eq!(err.code(), "E_CONFIG", "{err}");
            let text = err.to_string();
            assert!(text.starts_with(file) && text.contains(words), "{text}");
        }
    }

    #[test]
    fn activations_match_torch() {
        let mut x = vec![0.0f32, 2.0, -3.0];
        Activation::Sigmoid.apply(&mut x);
        assert!((x[0] - 0.5).abs() < 1e-7 && (x[1] - 0.880_797).abs() < 1e-6 && (x[2] - 0.047_426).abs() < 1e-6);
        let mut x = vec![1.0f32, 2.0, 3.0];
        Activation::Softmax.apply(&mut x);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6 && (x[2] - 0.665_241).abs() < 1e-6);
    }

    #[test]
    fn a_missing_classifier_tensor_is_a_weights_error() {
        let (model, spec) = reranker_spec(&files(BERT, &[])).unwrap();
        let mut weights = Weights::new("model.safetensors");
        weights.add_f32("pooler.dense.weight", &[8, 8], vec![0.0; 64]).unwrap();
        weights.add_f32("pooler.dense.bias", &[8], vec![0.0; 8]).unwrap();
        let err = Classifier::load(&model.encoder, &spec, &mut weights).err().unwrap();
        assert_eq!(err.code(), "E_WEIGHTS");
        assert!(err.to_string().contains("model.safetensors") && err.to_string().contains("classifier.weight"), "{err}");
    }
}
