//! Text → token ids as sentence-transformers 6.x produces them: prompt prepended, special tokens
//! added, truncated at `max_seq_length`. The
//! truncation and padding stored inside `tokenizer.json` are ignored on purpose:
//! sentence-transformers overrides them (all-MiniLM-L6-v2's file truncates at 128, its model at 256).

use tokenizers::{
    DecoderWrapper, Encoding, Model, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper, Tokenizer, TokenizerImpl,
    TruncationDirection, TruncationParams, TruncationStrategy,
};

use crate::ascii_wordpiece::AsciiWordPiece;
use crate::error::{EmbedError, Result};
use crate::folder;
use crate::unigram::CompactUnigram;

pub struct TextTokenizer {
    tokenizer: AnyTokenizer,
    max_seq_length: usize,
    /// Whether the template's special tokens are added (a static model averages the text's own).
    special_tokens: bool,
    /// model2vec's rules: texts cut to this many characters first, and this id dropped after.
    model2vec: Option<Model2VecRules>,
    /// BERT's uncased WordPiece on ASCII without special tokens, when the tokenizer is that (static models).
    fast: Option<AsciiWordPiece>,
}

/// How a tokenizer is used beyond sentence-transformers' Transformer defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenRules {
    /// Leave the template's special tokens out (static models).
    pub without_special_tokens: bool,
    /// model2vec's encode: the text cut to `max_length × median token length` characters before
    /// tokenizing (when `max_length` is set) and the unknown token dropped after.
    pub model2vec: Option<Option<usize>>,
}

#[derive(Clone, Copy, Debug)]
struct Model2VecRules {
    char_limit: Option<usize>,
    unknown: Option<u32>,
}

/// tokenizers' own tokenizer, or the same with a Unigram model in compact form (`crate::unigram`).
enum AnyTokenizer {
    Standard(Tokenizer),
    Unigram(TokenizerImpl<CompactUnigram, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>),
}

/// The one field read to choose between them.
#[derive(serde::Deserialize)]
struct ModelKind {
    model: Option<ModelType>,
}

#[derive(serde::Deserialize)]
struct ModelType {
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn is_unigram(bytes: &[u8]) -> bool {
    serde_json::from_slice::<ModelKind>(bytes).ok().and_then(|k| k.model).and_then(|m| m.kind).as_deref() == Some("Unigram")
}

/// Everything `TextTokenizer` needs of either tokenizer type.
fn configure<M: Model>(
    tokenizer: &mut TokenizerImpl<M, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>,
    max_seq_length: usize,
) -> Result<()> {
    check_post_processor(tokenizer.get_post_processor())?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_seq_length,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .map_err(|e| EmbedError::Tokenizer { file: folder::TOKENIZER.into(), reason: e.to_string() })?;
    Ok(())
}

/// Reads a tokenizer of type `T`; on failure the file is parsed again, to tell "not JSON" from
/// "not a tokenizer".
fn read<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let file = folder::TOKENIZER;
    serde_json::from_slice(bytes).map_err(|e| match folder::parse_json(file, bytes) {
        Err(not_json) => not_json,
        Ok(_) => EmbedError::Tokenizer { file: file.into(), reason: format!("is not a tokenizer this version understands: {e}") },
    })
}

/// Bytes of text read per token `max_seq_length` allows, at most. Real text needs under 16; only
/// degenerate input (megabytes of whitespace, control characters or one giant word) is cut
/// before it reaches `max_seq_length` tokens. The JS layer cuts strings to the same bound before
/// they enter wasm memory (`maxTextUnits` in input.js), which only grows.
pub const TEXT_BYTES_PER_TOKEN: usize = 512;

/// Bytes a prefix must reach past its last kept token before its tokens are taken as the whole
/// text's: words near a cut may tokenize differently, never those this far before it. (Counted
/// in bytes from the kept tokens' offsets: tokenizers 0.23 returns a few tokens, not the rest of
/// the text, as the overflow of a truncated encoding, so overflow cannot be counted in tokens.)
const OVERFLOW_MARGIN_BYTES: usize = 256;

/// The first prefix tokenized, in bytes per token `max_seq_length` allows: English prose takes
/// ~4.5, so one prefix serves most texts, and tokenizing costs time in proportion to its bytes.
const FIRST_WINDOW_BYTES_PER_TOKEN: usize = 6;

/// One tokenized text: its ids and how many leading tokens belong to the prompt (the count
/// sentence-transformers masks out when a pooling layer has `include_prompt: false`).
#[derive(Clone, Debug, PartialEq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub prompt_length: usize,
}

impl TextTokenizer {
    pub fn from_bytes(bytes: &[u8], max_seq_length: usize) -> Result<Self> {
        Self::from_bytes_with(bytes, max_seq_length, TokenRules::default())
    }

    /// `from_bytes` under `rules`.
    pub fn from_bytes_with(bytes: &[u8], max_seq_length: usize, rules: TokenRules) -> Result<Self> {
        let file = folder::TOKENIZER;
        // The JSON is checked first, every string decoded, without building anything: tokenizers
        // 0.23 panics (`expect("Helper")` in its decoder deserializer) on a syntax error or a bad
        // escape such as a lone surrogate inside `decoder`.
        serde_json::from_slice::<CheckedJson>(bytes).map_err(|e| match folder::parse_json(file, bytes) {
            Err(not_json) => not_json,
            Ok(_) => EmbedError::Tokenizer { file: file.into(), reason: format!("is not valid JSON: {e}") },
        })?;
        // Then straight into the tokenizer (a multilingual tokenizer.json is ~10 MB).
        let tokenizer = if is_unigram(bytes) {
            let mut tokenizer = read(bytes)?;
            configure(&mut tokenizer, max_seq_length)?;
            AnyTokenizer::Unigram(tokenizer)
        } else {
            let mut tokenizer: Tokenizer = read(bytes)?;
            configure(&mut tokenizer, max_seq_length)?;
            AnyTokenizer::Standard(tokenizer)
        };
        let fast = if rules.without_special_tokens { AsciiWordPiece::from_tokenizer_json(bytes) } else { None };
        let mut text_tokenizer =
            TextTokenizer { tokenizer, max_seq_length, special_tokens: !rules.without_special_tokens, model2vec: None, fast };
        if let Some(max_length) = rules.model2vec {
            let (median, unknown) = text_tokenizer.median_token_chars_and_unknown(bytes)?;
            text_tokenizer.model2vec = Some(Model2VecRules { char_limit: max_length.map(|m| m.saturating_mul(median)), unknown });
        }
        Ok(text_tokenizer)
    }

    /// model2vec's `median_token_length` (the median of every token's length in characters, as
    /// numpy computes it, truncated to an integer) and its unknown token's id.
    fn median_token_chars_and_unknown(&self, bytes: &[u8]) -> Result<(usize, Option<u32>)> {
        let vocab = match &self.tokenizer {
            AnyTokenizer::Standard(t) => t.get_vocab(true),
            AnyTokenizer::Unigram(t) => t.get_vocab(true),
        };
        let mut lengths: Vec<usize> = vocab.keys().map(|token| token.chars().count()).collect();
        lengths.sort_unstable();
        let n = lengths.len();
        let median = match n {
            0 => 0,
            _ if n % 2 == 1 => lengths[n / 2],
            _ => (lengths[n / 2 - 1] + lengths[n / 2]) / 2,
        };
        #[derive(serde::Deserialize)]
        struct UnknownOf {
            model: Option<UnknownModel>,
        }
        #[derive(serde::Deserialize)]
        struct UnknownModel {
            unk_token: Option<String>,
            unk_id: Option<u32>,
        }
        let model = serde_json::from_slice::<UnknownOf>(bytes).ok().and_then(|u| u.model);
        let unknown = match model {
            Some(UnknownModel { unk_token: Some(token), .. }) => vocab.get(&token).copied(),
            Some(UnknownModel { unk_id, .. }) => unk_id,
            None => None,
        };
        Ok((median, unknown))
    }

    /// The share of the vocabulary's tokens that are words of two or more letters, none of them
    /// Latin (`##ов`, `▁東京`): 0.0005 in BERT's English vocabulary, 0.46 in XLM-R's.
    pub fn non_latin_share(&self) -> f32 {
        let vocab = match &self.tokenizer {
            AnyTokenizer::Standard(t) => t.get_vocab(true),
            AnyTokenizer::Unigram(t) => t.get_vocab(true),
        };
        let non_latin = vocab
            .keys()
            .filter(|token| {
                let mut letters = token.chars().filter(|c| c.is_alphabetic()).peekable();
                letters.peek().is_some() && token.chars().filter(|c| c.is_alphabetic()).count() >= 2 && letters.all(|c| !is_latin(c))
            })
            .count();
        non_latin as f32 / vocab.len().max(1) as f32
    }

    /// Tokens the vocabulary holds, added tokens included.
    pub fn vocab_size(&self) -> usize {
        match &self.tokenizer {
            AnyTokenizer::Standard(t) => t.get_vocab_size(true),
            AnyTokenizer::Unigram(t) => t.get_vocab_size(true),
        }
    }

    /// Tokenizes `prompt + text`, with the prompt's length (see `prompt_length`).
    pub fn tokenize(&self, text: &str, prompt: Option<&str>) -> Result<Tokens> {
        let prompt_length = prompt.map(|p| self.prompt_length(p)).transpose()?.unwrap_or(0);
        Ok(Tokens { ids: self.ids(text, prompt)?, prompt_length })
    }

    /// The ids of `prompt + text`, special tokens included, truncated at `max_seq_length`.
    ///
    /// Tokenizing costs ~60 bytes of memory and a few microseconds per character, so a long text
    /// is tokenized by growing prefixes, each cut before a whitespace, until one that ends before
    /// a space is truncated `OVERFLOW_MARGIN_BYTES` or more before its end: its first
    /// `max_seq_length` tokens are then the whole text's. A space is where every pre-tokenizer
    /// of the family splits (BERT's on whitespace, Metaspace on ' '), and a Unigram Viterbi path
    /// runs within a pre-token, so no kept token depends on the text after such a cut; a text
    /// with no space to cut at (CJK, one giant word) is read whole, up to `max_text_bytes`.
    pub fn ids(&self, text: &str, prompt: Option<&str>) -> Result<Vec<u32>> {
        let Some(rules) = self.model2vec else { return self.any_ids(text, prompt) };
        let text = match rules.char_limit {
            Some(limit) => text.char_indices().nth(limit).map_or(text, |(at, _)| &text[..at]),
            None => text,
        };
        let mut ids = self.any_ids(text, prompt)?;
        if let Some(unknown) = rules.unknown {
            ids.retain(|&id| id != unknown);
        }
        Ok(ids)
    }

    /// The ids of `prompt + text` from the fast path where it applies, else tokenizers'.
    fn any_ids(&self, text: &str, prompt: Option<&str>) -> Result<Vec<u32>> {
        if let Some(fast) = &self.fast {
            let text = prefix_before(text, self.max_text_bytes());
            let ids = match prompt {
                Some(prompt) => fast.ids(&format!("{prompt}{text}"), self.max_seq_length),
                None => fast.ids(text, self.max_seq_length),
            };
            if let Some(ids) = ids {
                return Ok(ids);
            }
        }
        Ok(self.ids_and_bytes_read(text, prompt)?.0)
    }

    /// The ids tokenizers gives (never the fast path): what the fast path is checked against.
    pub fn reference_ids(&self, text: &str, prompt: Option<&str>) -> Result<Vec<u32>> {
        Ok(self.ids_and_bytes_read(text, prompt)?.0)
    }

    /// Whether texts may take the ASCII WordPiece fast path.
    pub fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// `ids`, and the bytes of the longest prefix it tokenized.
    fn ids_and_bytes_read(&self, text: &str, prompt: Option<&str>) -> Result<(Vec<u32>, usize)> {
        let joined;
        let full = match prompt {
            Some(prompt) => {
                joined = format!("{prompt}{}", prefix_before(text, self.max_text_bytes()));
                joined.as_str()
            }
            None => text,
        };
        let limit = self.max_text_bytes();
        let mut window = (self.max_seq_length * FIRST_WINDOW_BYTES_PER_TOKEN).max(1024);
        loop {
            let prefix = if window >= full.len() { full } else { prefix_before(full, window) };
            let encoding = self.encode(prefix)?;
            let cut_between_words = full.as_bytes().get(prefix.len()) == Some(&b' ');
            if prefix.len() == full.len() || window >= limit || (cut_between_words && cut_far_past_kept_tokens(&encoding, prefix.len())) {
                return Ok((encoding.get_ids().to_vec(), prefix.len()));
            }
            window = window.saturating_mul(2).min(limit);
        }
    }

    /// A text pair as a cross-encoder reads it: ids and token type ids, special tokens included,
    /// truncated longest-first to `max_seq_length` (as transformers' tokenizer call with
    /// `truncation=True` does). Each side is cut first to a prefix whose tokens are the whole
    /// side's as far as truncation could keep them (see `ids`), so a 10 MB side costs no more
    /// than its first few thousand tokens.
    pub fn pair_ids(&self, first: &str, second: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        let (first, second) = (self.kept_prefix(first)?, self.kept_prefix(second)?);
        let encoding = match &self.tokenizer {
            AnyTokenizer::Standard(t) => t.encode((first, second), true),
            AnyTokenizer::Unigram(t) => t.encode((first, second), true),
        }
        .map_err(|e| EmbedError::Input(format!("could not tokenize the text pair: {e}")))?;
        Ok((encoding.get_ids().to_vec(), encoding.get_type_ids().to_vec()))
    }

    /// The prefix of `text` that holds every token truncation at `max_seq_length` could keep.
    fn kept_prefix<'t>(&self, text: &'t str) -> Result<&'t str> {
        if text.len() <= (self.max_seq_length * FIRST_WINDOW_BYTES_PER_TOKEN).max(1024) {
            return Ok(text);
        }
        let (_, bytes) = self.ids_and_bytes_read(text, None)?;
        Ok(&text[..bytes])
    }

    /// The most bytes of one text that are ever tokenized (see `TEXT_BYTES_PER_TOKEN`).
    pub fn max_text_bytes(&self) -> usize {
        self.max_seq_length.max(1).saturating_mul(TEXT_BYTES_PER_TOKEN)
    }

    /// Tokens of the prompt alone, minus a closing special token, exactly as
    /// sentence-transformers' `_get_prompt_length` counts them.
    pub fn prompt_length(&self, prompt: &str) -> Result<usize> {
        let alone = self.encode(prefix_before(prompt, self.max_text_bytes()))?;
        let ends_special = alone.get_special_tokens_mask().last() == Some(&1);
        Ok(alone.get_ids().len() - usize::from(ends_special))
    }

    /// Byte spans of `piece`'s tokens, without special tokens and without truncation.
    pub fn token_spans(&self, piece: &str) -> Result<Vec<(usize, usize)>> {
        let encoding = self.encode_with(piece, false)?;
        let mut spans = encoding.get_offsets().to_vec();
        for rest in encoding.get_overflowing() {
            spans.extend_from_slice(rest.get_offsets());
        }
        Ok(spans)
    }

    /// Whether `prompt + text`, special tokens included, is at most `max_tokens` tokens (so
    /// nothing of it would be truncated).
    pub fn fits(&self, text: &str, prompt: Option<&str>, max_tokens: usize) -> Result<bool> {
        if text.len() > self.max_text_bytes() {
            return Ok(false);
        }
        let encoding = self.encode(&format!("{}{text}", prompt.unwrap_or("")))?;
        Ok(encoding.get_overflowing().is_empty() && encoding.get_ids().len() <= max_tokens)
    }

    /// Tokens of `prompt` alone with the special tokens a text gets (all of them when no prompt).
    pub fn overhead(&self, prompt: Option<&str>) -> Result<usize> {
        Ok(self.encode(prefix_before(prompt.unwrap_or(""), self.max_text_bytes()))?.get_ids().len())
    }

    fn encode(&self, text: &str) -> Result<Encoding> {
        self.encode_with(text, self.special_tokens)
    }

    fn encode_with(&self, text: &str, special_tokens: bool) -> Result<Encoding> {
        match &self.tokenizer {
            AnyTokenizer::Standard(t) => t.encode(text, special_tokens),
            AnyTokenizer::Unigram(t) => t.encode(text, special_tokens),
        }
        .map_err(|e| EmbedError::Input(format!("could not tokenize text: {e}")))
    }
}

/// Whether `encoding` (of a prefix `prefix_len` bytes long) was truncated, with its last kept
/// token ending at least `OVERFLOW_MARGIN_BYTES` before the prefix does.
fn cut_far_past_kept_tokens(encoding: &Encoding, prefix_len: usize) -> bool {
    if encoding.get_overflowing().is_empty() {
        return false;
    }
    let kept_end = encoding
        .get_offsets()
        .iter()
        .zip(encoding.get_special_tokens_mask())
        .filter(|&(_, &special)| special == 0)
        .map(|(&(_, end), _)| end)
        .max()
        .unwrap_or(0);
    kept_end.saturating_add(OVERFLOW_MARGIN_BYTES) <= prefix_len
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character boundary,
/// and before a whitespace when one lies in its second half (pre-tokenizers split there, so no
/// word is cut).
pub(crate) fn prefix_before(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    match head.rfind(char::is_whitespace) {
        Some(space) if space >= end / 2 => &head[..space],
        _ => head,
    }
}

/// tokenizers 0.23 checks a TemplateProcessing only when it is built in code, not when it is
/// read from a file, and then panics at encode on a template naming a special token it does not
/// define, or on a single-text template with a `$B` piece. Both are refused here, at load, and so
/// is a template that repeats a sequence: truncation budgets for each text once, so `$A` twice
/// let 13 ids through a `max_seq_length` of 8 (found by the tokenizer fuzz target).
fn check_post_processor(processor: Option<&PostProcessorWrapper>) -> Result<()> {
    let Some(processor) = processor else { return Ok(()) };
    let value =
        serde_json::to_value(processor).map_err(|e| EmbedError::Tokenizer { file: folder::TOKENIZER.into(), reason: e.to_string() })?;
    check_templates(&value).map_err(|reason| EmbedError::Tokenizer { file: folder::TOKENIZER.into(), reason })
}

fn check_templates(value: &serde_json::Value) -> std::result::Result<(), String> {
    use serde_json::Value;
    match value {
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("TemplateProcessing") => {
            let defined = map.get("special_tokens").and_then(Value::as_object);
            for (template, sequences) in [("single", &["A"][..]), ("pair", &["A", "B"][..])] {
                let mut seen = Vec::new();
                for piece in map.get(template).and_then(Value::as_array).into_iter().flatten() {
                    if let Some(id) = piece.pointer("/SpecialToken/id").and_then(Value::as_str) {
                        if !defined.is_some_and(|d| d.contains_key(id)) {
                            return Err(format!(
                                "post_processor.{template} uses special token {id:?}, which post_processor.special_tokens does not define"
                            ));
                        }
                    }
                    if let Some(id) = piece.pointer("/Sequence/id").and_then(Value::as_str) {
                        if !sequences.contains(&id) {
                            return Err(format!("post_processor.{template} uses sequence ${id}, which a {template} input does not have"));
                        }
                        if seen.contains(&id) {
                            return Err(format!("post_processor.{template} uses sequence ${id} twice; truncation could not bound the ids"));
                        }
                        seen.push(id);
                    }
                }
            }
            Ok(())
        }
        Value::Object(map) => map.values().try_for_each(check_templates),
        Value::Array(items) => items.iter().try_for_each(check_templates),
        _ => Ok(()),
    }
}

/// Any JSON value, read to its end (every string decoded) and dropped as it is read.
struct CheckedJson;

impl<'de> serde::Deserialize<'de> for CheckedJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedJsonVisitor)
    }
}

struct CheckedJsonVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedJsonVisitor {
    type Value = CheckedJson;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<CheckedJson, E> {
        Ok(CheckedJson)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<CheckedJson, E> {
        Ok(CheckedJson)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<CheckedJson, E> {
        Ok(CheckedJson)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<CheckedJson, E> {
        Ok(CheckedJson)
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<CheckedJson, E> {
        Ok(CheckedJson)
    }
    fn visit_unit<E>(self) -> std::result::Result<CheckedJson, E> {
        Ok(CheckedJson)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<CheckedJson, A::Error> {
        while seq.next_element::<CheckedJson>()?.is_some() {}
        Ok(CheckedJson)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<CheckedJson, A::Error> {
        while map.next_entry::<CheckedJson, CheckedJson>()?.is_some() {}
        Ok(CheckedJson)
    }
}

/// Latin letters (Basic Latin to Latin Extended, IPA, fullwidth): what an English vocabulary's
/// words are written in.
fn is_latin(c: char) -> bool {
    matches!(c as u32, 0x41..=0x24F | 0x250..=0x2AF | 0x1D00..=0x1DBF | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F | 0xFF21..=0xFF5A)
}

#[cfg(test)]
mod tests {
    use super::{prefix_before, TextTokenizer, FIRST_WINDOW_BYTES_PER_TOKEN, OVERFLOW_MARGIN_BYTES};

    /// A long text of prose is tokenized from one prefix of about what its kept tokens need, not
    /// whole: tokenizing costs time in proportion to the bytes read.
    #[test]
    fn long_prose_is_tokenized_from_a_short_prefix() {
        // Read at run time: a test binary reused from another clone must not read that clone's files.
        let root = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run under cargo test")).join("..");
        let tokenizer_json = std::fs::read(root.join("models/all-MiniLM-L6-v2/tokenizer.json")).unwrap();
        let texts: Vec<String> = serde_json::from_slice(&std::fs::read(root.join("tests/fixtures/texts.json")).unwrap()).unwrap();
        let prose = texts.join(" ").repeat(2000);
        for max_seq_length in [128, 512] {
            let tokenizer = TextTokenizer::from_bytes(&tokenizer_json, max_seq_length).unwrap();
            let (ids, bytes_read) = tokenizer.ids_and_bytes_read(&prose, Some("query: ")).unwrap();
            assert_eq!(ids.len(), max_seq_length);
            let first_window = max_seq_length * FIRST_WINDOW_BYTES_PER_TOKEN;
            assert!(bytes_read <= 2 * first_window, "{max_seq_length}: read {bytes_read} of {} bytes", prose.len());
            // The same ids as a prefix read to the margin and no further would give.
            let (short_ids, _) = tokenizer.ids_and_bytes_read(&prose[..bytes_read], Some("query: ")).unwrap();
            assert_eq!(ids, short_ids);
            assert!(bytes_read >= OVERFLOW_MARGIN_BYTES);
        }
    }

    #[test]
    fn prefixes_end_on_characters_and_before_spaces() {
        assert_eq!(prefix_before("short", 100), "short");
        assert_eq!(prefix_before("alpha beta gamma", 13), "alpha beta");
        assert_eq!(prefix_before("ééééé", 5), "éé");
        assert_eq!(prefix_before("a bcdefghijkl", 10), "a bcdefghi");
    }
}
