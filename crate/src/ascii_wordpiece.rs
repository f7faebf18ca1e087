//! A fast path for what static models spend their time on: BERT's uncased WordPiece
//! (`BertNormalizer` lowercasing, `BertPreTokenizer`, `WordPiece` with `##`) on ASCII text,
//! without special tokens. Written here because tokenizers tracks every character's alignment
//! through normalization: ~8 000 passages/s natively, where a static model's whole forward pass
//! is a few additions per token. It gives the same ids as tokenizers (a test compares them on
//! every corpus the tests have); any text it is not sure of (non-ASCII, or holding an added
//! token's text) goes to tokenizers.

use std::collections::HashMap;

use serde::Deserialize;

/// BERT's uncased WordPiece, when a tokenizer.json is exactly that.
pub struct AsciiWordPiece {
    vocab: HashMap<String, u32>,
    unknown: u32,
    max_chars_per_word: usize,
    /// Added tokens' texts: a text holding one goes to tokenizers (it splits them out first).
    added: Vec<String>,
}

#[derive(Deserialize)]
struct File {
    normalizer: Option<serde_json::Value>,
    pre_tokenizer: Option<serde_json::Value>,
    model: Model,
    #[serde(default)]
    added_tokens: Vec<Added>,
}

#[derive(Deserialize)]
struct Model {
    #[serde(rename = "type")]
    kind: Option<String>,
    vocab: Option<HashMap<String, u32>>,
    unk_token: Option<String>,
    continuing_subword_prefix: Option<String>,
    max_input_chars_per_word: Option<usize>,
}

#[derive(Deserialize)]
struct Added {
    content: String,
}

impl AsciiWordPiece {
    /// The fast path for a tokenizer.json that is BERT's uncased WordPiece; None for any other.
    pub fn from_tokenizer_json(bytes: &[u8]) -> Option<Self> {
        let file: File = serde_json::from_slice(bytes).ok()?;
        let normalizer = file.normalizer?;
        let bert_normalizer = normalizer.get("type")?.as_str()? == "BertNormalizer"
            && normalizer.get("lowercase")?.as_bool()?
            && normalizer.get("clean_text")?.as_bool()?
            // strip_accents null follows lowercase (true); false would keep accents, which ASCII has none of.
            && normalizer.get("strip_accents").is_some_and(|v| v.is_null() || v.as_bool().is_some());
        let bert_pre_tokenizer = file.pre_tokenizer?.get("type")?.as_str()? == "BertPreTokenizer";
        let model = file.model;
        let wordpiece = model.kind.as_deref() == Some("WordPiece") && model.continuing_subword_prefix.as_deref() == Some("##");
        if !(bert_normalizer && bert_pre_tokenizer && wordpiece) {
            return None;
        }
        let vocab = model.vocab?;
        let unknown = *vocab.get(model.unk_token.as_deref()?)?;
        Some(AsciiWordPiece {
            vocab,
            unknown,
            max_chars_per_word: model.max_input_chars_per_word.unwrap_or(100),
            added: file.added_tokens.into_iter().map(|a| a.content).filter(|c| !c.is_empty()).collect(),
        })
    }

    /// The first `limit` ids of `text` without special tokens, or None when `text` is not for this path.
    pub fn ids(&self, text: &str, limit: usize) -> Option<Vec<u32>> {
        if !text.is_ascii() || self.added.iter().any(|token| text.contains(token.as_str())) {
            return None;
        }
        let mut ids = Vec::with_capacity(text.len() / 4);
        let mut word = String::with_capacity(32);
        let mut piece = String::with_capacity(34);
        for &byte in text.as_bytes() {
            if ids.len() >= limit {
                break;
            }
            match byte {
                // BertNormalizer's clean_text: tab, newline and carriage return are whitespace;
                // other control characters go (as does NUL).
                b' ' | b'\t' | b'\n' | b'\r' => self.push_word(&mut word, &mut piece, &mut ids),
                0..=0x1f | 0x7f => {}
                // BertPreTokenizer isolates each punctuation character.
                _ if byte.is_ascii_punctuation() => {
                    self.push_word(&mut word, &mut piece, &mut ids);
                    word.push(byte as char);
                    self.push_word(&mut word, &mut piece, &mut ids);
                }
                _ => word.push(byte.to_ascii_lowercase() as char),
            }
        }
        self.push_word(&mut word, &mut piece, &mut ids);
        ids.truncate(limit);
        Some(ids)
    }

    /// WordPiece's greedy longest match over one word (then cleared): its pieces, or the
    /// unknown token for a word too long or with a part no piece matches.
    fn push_word(&self, word: &mut String, piece: &mut String, ids: &mut Vec<u32>) {
        if word.is_empty() {
            return;
        }
        if word.len() > self.max_chars_per_word {
            ids.push(self.unknown);
            word.clear();
            return;
        }
        let first = ids.len();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.push_str(&word[start..end]);
                if let Some(&id) = self.vocab.get(piece.as_str()) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => ids.push(id),
                None => {
                    ids.truncate(first);
                    ids.push(self.unknown);
                    break;
                }
            }
            start = end;
        }
        word.clear();
    }
}
