//! Text → token ids as sentence-transformers 6.x produces them: prompt prepended, special tokens
//! added, truncated at `max_seq_length`. The
//! truncation and padding stored inside `tokenizer.json` are ignored on purpose:
//! sentence-transformers overrides them (all-MiniLM-L6-v2's file truncates at 128, its model at 256).

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{EmbedError, Result};
use crate::folder;

pub struct TextTokenizer {
    tokenizer: Tokenizer,
}

/// One tokenized text: its ids and how many leading tokens belong to the prompt (the count
/// sentence-transformers masks out when a pooling layer has `include_prompt: false`).
#[derive(Clone, Debug, PartialEq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub prompt_length: usize,
}

impl TextTokenizer {
    pub fn from_bytes(bytes: &[u8], max_seq_length: usize) -> Result<Self> {
        let file = folder::TOKENIZER;
        // Straight into the tokenizer (a multilingual tokenizer.json is ~10 MB); only on failure is
        // the file parsed again, to tell "not JSON" (an HTML page, say) from "not a tokenizer".
        let mut tokenizer: Tokenizer = serde_json::from_slice(bytes).map_err(|e| match folder::parse_json(file, bytes) {
            Err(not_json) => not_json,
            Ok(_) => EmbedError::Tokenizer { file: file.into(), reason: format!("is not a tokenizer this version understands: {e}") },
        })?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| EmbedError::Tokenizer { file: file.into(), reason: e.to_string() })?;
        Ok(TextTokenizer { tokenizer })
    }

    /// Tokenizes `prompt + text`, with the prompt's length (see `prompt_length`).
    pub fn tokenize(&self, text: &str, prompt: Option<&str>) -> Result<Tokens> {
        let prompt_length = prompt.map(|p| self.prompt_length(p)).transpose()?.unwrap_or(0);
        Ok(Tokens { ids: self.ids(text, prompt)?, prompt_length })
    }

    /// The ids of `prompt + text`, special tokens included, truncated at `max_seq_length`.
    pub fn ids(&self, text: &str, prompt: Option<&str>) -> Result<Vec<u32>> {
        let encoding = match prompt {
            Some(prompt) => self.encode(&format!("{prompt}{text}"))?,
            None => self.encode(text)?,
        };
        Ok(encoding.get_ids().to_vec())
    }

    /// Tokens of the prompt alone, minus a closing special token, exactly as
    /// sentence-transformers' `_get_prompt_length` counts them.
    pub fn prompt_length(&self, prompt: &str) -> Result<usize> {
        let alone = self.encode(prompt)?;
        let ends_special = alone.get_special_tokens_mask().last() == Some(&1);
        Ok(alone.get_ids().len() - usize::from(ends_special))
    }

    fn encode(&self, text: &str) -> Result<tokenizers::Encoding> {
        self.tokenizer.encode(text, true).map_err(|e| EmbedError::Input(format!("could not tokenize text: {e}")))
    }
}
