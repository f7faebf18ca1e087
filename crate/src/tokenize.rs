//! Text → token ids as sentence-transformers 6.x produces them: prompt prepended, special tokens
//! added, truncated at `max_seq_length`. The
//! truncation and padding stored inside `tokenizer.json` are ignored on purpose:
//! sentence-transformers overrides them (all-MiniLM-L6-v2's file truncates at 128, its model at 256).

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{EmbedError, Result};

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
        let file = "tokenizer.json";
        let json = crate::spec::parse_json(file, bytes)?;
        let mut tokenizer: Tokenizer = serde_json::from_value(json)
            .map_err(|e| EmbedError::Tokenizer { file: file.into(), reason: format!("is not a tokenizer this version understands: {e}") })?;
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

    /// Tokenizes `prompt + text`. `prompt_length` counts the tokens of the prompt alone, minus a
    /// closing special token, exactly as sentence-transformers' `_get_prompt_length` computes it.
    pub fn tokenize(&self, text: &str, prompt: Option<&str>) -> Result<Tokens> {
        let Some(prompt) = prompt else {
            return Ok(Tokens { ids: self.encode(text)?.get_ids().to_vec(), prompt_length: 0 });
        };
        let ids = self.encode(&format!("{prompt}{text}"))?.get_ids().to_vec();
        let alone = self.encode(prompt)?;
        let ends_special = alone.get_special_tokens_mask().last() == Some(&1);
        let prompt_length = alone.get_ids().len() - usize::from(ends_special);
        Ok(Tokens { ids, prompt_length })
    }

    fn encode(&self, text: &str) -> Result<tokenizers::Encoding> {
        self.tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Input(format!("could not tokenize text: {e}")))
    }
}
