//! The engine: a loaded model that turns texts into sentence embeddings. Free of JS types so it
//! runs and is tested natively; `wasm.rs` only converts types around it.

use candle_core::Device;

use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, TokenBatch};
use crate::backend::cpu::encoder::Encoder;
use crate::encoder;
use crate::error::{EmbedError, Result};
use crate::files::ModelFiles;
use crate::pooling;
use crate::spec::ModelSpec;
use crate::tokenize::{TextTokenizer, Tokens};
use crate::weights::{self, Weights};

/// sentence-transformers' default batch size.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// Weights a wasm32 instance can hold: 4 GiB of address space, less room for the tokenizer,
/// activations and the allocator's slack.
pub const WASM32_WEIGHT_BUDGET: u64 = 3 << 30;

/// Refuses, before anything is downloaded or allocated, a model whose weights cannot fit `budget`.
pub fn check_fits(spec: &ModelSpec, budget: u64) -> Result<()> {
    let needed = spec.encoder.weight_bytes();
    if needed > budget {
        return Err(EmbedError::TooLarge(format!(
            "this model needs {:.1} GB for its weights as f32, more than the {:.1} GB a WebAssembly (wasm32) instance can hold",
            needed as f64 / 1e9,
            budget as f64 / 1e9
        )));
    }
    Ok(())
}

pub struct Embedder {
    spec: ModelSpec,
    tokenizer: TextTokenizer,
    backend: Box<dyn Backend>,
}

/// Turns whichever weight file the folder has into tensors, dropping each file's bytes once read.
fn load_weights(files: &mut ModelFiles) -> Result<Weights> {
    let device = Device::Cpu;
    if let Some(bytes) = files.take(weights::SAFETENSORS) {
        return Weights::from_safetensors(weights::SAFETENSORS, &bytes, &device);
    }
    if let Some(index) = files.take(weights::SHARD_INDEX) {
        let mut loaded = Weights::new(weights::SHARD_INDEX);
        for shard in weights::shard_files(&index)? {
            let bytes = files
                .take(&shard)
                .ok_or_else(|| EmbedError::weights(&shard, format!("missing: {} lists it", weights::SHARD_INDEX)))?;
            loaded.add_safetensors(&shard, &bytes, &device)?;
        }
        return Ok(loaded);
    }
    if let Some(bytes) = files.take(weights::PYTORCH_BIN) {
        let mut loaded = Weights::new(weights::PYTORCH_BIN);
        loaded.add_pytorch_bin(weights::PYTORCH_BIN, &bytes, &device)?;
        return Ok(loaded);
    }
    Err(EmbedError::weights(
        weights::SAFETENSORS,
        format!("missing: the model folder has none of {}", weights::WEIGHT_FILES.join(", ")),
    ))
}

impl Embedder {
    /// Builds the engine on the CPU backend. Weight bytes are taken out of `files` and dropped as
    /// soon as they are tensors.
    pub fn from_files(files: ModelFiles) -> Result<Self> {
        Self::from_parts(files, Weights::new(weights::SAFETENSORS))
    }

    /// Builds the engine from config files plus tensors already handed over one by one; when
    /// `weights` is empty, the weight file in `files` is read instead.
    pub fn from_parts(mut files: ModelFiles, weights: Weights) -> Result<Self> {
        let spec = ModelSpec::from_files(&files)?;
        if cfg!(target_arch = "wasm32") {
            check_fits(&spec, WASM32_WEIGHT_BUDGET)?;
        }
        let tokenizer_bytes = files
            .get("tokenizer.json")
            .ok_or_else(|| EmbedError::config("tokenizer.json", "missing: webembed needs the fast-tokenizer file tokenizer.json"))?;
        let tokenizer = TextTokenizer::from_bytes(tokenizer_bytes, spec.max_seq_length)?;
        let mut weights = if weights.is_empty() { load_weights(&mut files)? } else { weights };
        let encoder = Encoder::load(&spec.encoder, &mut weights)?;
        Ok(Embedder { spec, tokenizer, backend: Box::new(CpuBackend::new(encoder)) })
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn dimension(&self) -> usize {
        self.spec.dimension()
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// The prompt sentence-transformers would prepend: an explicit `prompt` wins, then a named
    /// one from the model's config, then the model's default prompt. An empty prompt is none.
    pub fn resolve_prompt(&self, prompt_name: Option<&str>, prompt: Option<&str>) -> Result<Option<String>> {
        let chosen = match (prompt, prompt_name) {
            (Some(prompt), _) => Some(prompt.to_string()),
            (None, Some(name)) => Some(self.spec.prompts.get(name).cloned().ok_or_else(|| {
                let known: Vec<&str> = self.spec.prompts.keys().map(String::as_str).collect();
                EmbedError::Input(format!(
                    "promptName {name:?} is not defined by this model (config_sentence_transformers.json defines {})",
                    if known.is_empty() { "no prompts".to_string() } else { format!("{known:?}") }
                ))
            })?),
            (None, None) => self.spec.default_prompt_name.as_ref().and_then(|n| self.spec.prompts.get(n)).cloned(),
        };
        Ok(chosen.filter(|p| !p.is_empty()))
    }

    pub fn tokenize(&self, text: &str, prompt: Option<&str>) -> Result<Tokens> {
        let prompt_length = prompt.map(|p| self.tokenizer.prompt_length(p)).transpose()?.unwrap_or(0);
        Ok(Tokens { ids: self.checked_ids(text, prompt)?, prompt_length })
    }

    /// Token ids, refused when the tokenizer produces ids the embedding table does not have.
    fn checked_ids(&self, text: &str, prompt: Option<&str>) -> Result<Vec<u32>> {
        let ids = self.tokenizer.ids(text, prompt)?;
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= self.spec.encoder.vocab_size) {
            return Err(EmbedError::config(
                "tokenizer.json",
                format!("produced token id {bad}, beyond the model's vocab_size {}; tokenizer.json does not belong to this model", self.spec.encoder.vocab_size),
            ));
        }
        Ok(ids)
    }

    /// Embeds `texts` (after prepending `prompt`); returns `texts.len() × dimension` row-major.
    pub fn encode<S: AsRef<str>>(&mut self, texts: &[S], prompt: Option<&str>, batch_size: usize) -> Result<Vec<f32>> {
        if batch_size == 0 {
            return Err(EmbedError::Input("batchSize must be at least 1".into()));
        }
        // The prompt is the same for every text: its length is counted once per call.
        let prompt_length = prompt.map(|p| self.tokenizer.prompt_length(p)).transpose()?.unwrap_or(0);
        let tokenized = texts.iter().map(|t| self.checked_ids(t.as_ref(), prompt)).collect::<Result<Vec<_>>>()?;
        // Longest first, as sentence-transformers does, so each batch pads little.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(tokenized[i].len()));

        let dimension = self.dimension();
        let mut output = vec![0f32; texts.len() * dimension];
        let mut pooled = Vec::with_capacity(dimension);
        for chunk in order.chunks(batch_size) {
            let rows: Vec<&[u32]> = chunk.iter().map(|&i| tokenized[i].as_slice()).collect();
            let batch = self.make_batch(&rows);
            let hidden = self.backend.forward(&batch)?;
            let width = self.spec.encoder.hidden_size;
            for (row, &index) in chunk.iter().enumerate() {
                let tokens = &hidden[row * batch.seq_len * width..(row + 1) * batch.seq_len * width];
                let mut mask = batch.mask[row * batch.seq_len..(row + 1) * batch.seq_len].to_vec();
                if !self.spec.pooling.include_prompt {
                    let masked = prompt_length.min(mask.len());
                    mask[..masked].fill(0.0);
                }
                pooled.clear();
                pooling::pool(&self.spec.pooling, tokens, &mask, &mut pooled);
                if self.spec.normalize {
                    pooling::normalize(&mut pooled);
                }
                output[index * dimension..(index + 1) * dimension].copy_from_slice(&pooled);
            }
        }
        Ok(output)
    }

    fn make_batch(&self, rows: &[&[u32]]) -> TokenBatch {
        let seq_len = rows.iter().map(|ids| ids.len()).max().unwrap_or(0).max(1);
        let pad = self.spec.encoder.pad_token_id;
        let mut batch = TokenBatch {
            batch: rows.len(),
            seq_len,
            lengths: rows.iter().map(|ids| ids.len()).collect(),
            ids: Vec::with_capacity(rows.len() * seq_len),
            mask: Vec::with_capacity(rows.len() * seq_len),
            positions: Vec::with_capacity(rows.len() * seq_len),
        };
        for ids in rows {
            let len = ids.len();
            batch.ids.extend_from_slice(ids);
            batch.ids.extend(std::iter::repeat(pad).take(seq_len - len));
            batch.mask.extend((0..seq_len).map(|i| if i < len { 1.0 } else { 0.0 }));
            encoder::positions(&self.spec.encoder, len, seq_len, &mut batch.positions);
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(layers: usize, hidden: usize, vocab: usize) -> ModelSpec {
        let mut files = ModelFiles::new();
        let config = serde_json::json!({"architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
            "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 16, "intermediate_size": 4 * hidden,
            "vocab_size": vocab, "max_position_embeddings": 514, "type_vocab_size": 1});
        files.insert("config.json", config.to_string().into_bytes());
        ModelSpec::from_files(&files).unwrap()
    }

    #[test]
    fn multilingual_e5_large_fits_wasm32() {
        // 24 × 1024 with a 250k vocabulary: about 560M parameters, 2.24 GB as f32.
        let large = spec(24, 1024, 250_002);
        assert!((2.2e9..2.3e9).contains(&(large.encoder.weight_bytes() as f64)));
        check_fits(&large, WASM32_WEIGHT_BUDGET).unwrap();
    }

    #[test]
    fn a_model_beyond_wasm32_is_too_large() {
        let err = check_fits(&spec(48, 4096, 250_002), WASM32_WEIGHT_BUDGET).unwrap_err();
        assert_eq!(err.code(), "E_TOO_LARGE");
        assert!(err.to_string().contains("GB"), "{err}");
    }
}
