//! A Unigram (SentencePiece) tokenizer model that gives tokenizers' `Unigram` ids, in a few bytes
//! per piece. tokenizers 0.23 keeps its pieces in a byte trie with a hash map in every node: 249
//! MiB for multilingual-e5-small's 250 002 pieces, more than the q8 model itself. Here the pieces
//! sit in one string, and the trie walk is a narrowing binary search over their sorted order
//! (~8 MB in all). The Viterbi search below is tokenizers' `encode_optimized` step for step
//! (same candidate order, same strict comparisons, same unknown-piece fusing and byte fallback),
//! and `crate/tests/unigram.rs` checks the ids against tokenizers' own on the real vocabulary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use tokenizers::models::unigram::{UnigramError, UnigramTrainer};
use tokenizers::{Model, Token};

/// tokenizers' penalty under the lowest piece score for a character no piece covers.
const UNKNOWN_PENALTY: f64 = 10.0;

/// Pieces as they are read: tokenizer.json's vocabulary goes straight in here, never through a
/// vector of strings (14 MB more at the load's peak for the multilingual vocabulary).
#[derive(Default)]
struct Pieces {
    text: String,
    ends: Vec<u32>,
    scores: Vec<f64>,
}

impl Pieces {
    fn push(&mut self, piece: &str, score: f64) {
        self.text.push_str(piece);
        self.ends.push(self.text.len() as u32);
        self.scores.push(score);
    }
}

impl<'de> Deserialize<'de> for Pieces {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(PiecesVisitor)
    }
}

struct PiecesVisitor;

impl<'de> Visitor<'de> for PiecesVisitor {
    type Value = Pieces;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of [piece, score] pairs")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Pieces, A::Error> {
        let mut pieces = Pieces::default();
        while let Some((piece, score)) = seq.next_element::<(std::borrow::Cow<'de, str>, f64)>()? {
            if pieces.text.len() + piece.len() > u32::MAX as usize {
                return Err(A::Error::custom("the vocabulary's pieces exceed 4 GiB"));
            }
            pieces.push(&piece, score);
        }
        Ok(pieces)
    }
}

pub struct CompactUnigram {
    /// Every piece, concatenated; piece `i` ends at `ends[i]` and starts where `i - 1` ends.
    text: String,
    ends: Vec<u32>,
    scores: Vec<f64>,
    /// Ids in byte order of their pieces; of equal pieces only the last id, as tokenizers'
    /// piece → id map keeps the last one inserted.
    sorted: Vec<u32>,
    min_score: f64,
    unk_id: Option<usize>,
    byte_fallback: bool,
}

impl CompactUnigram {
    pub fn new(vocab: Vec<(String, f64)>, unk_id: Option<usize>, byte_fallback: bool) -> Result<Self, UnigramError> {
        let mut pieces = Pieces::default();
        for (piece, score) in vocab {
            pieces.push(&piece, score);
        }
        Self::from_pieces(pieces, unk_id, byte_fallback)
    }

    fn from_pieces(pieces: Pieces, unk_id: Option<usize>, byte_fallback: bool) -> Result<Self, UnigramError> {
        let Pieces { mut text, mut ends, mut scores } = pieces;
        if let Some(unk) = unk_id {
            if ends.is_empty() {
                return Err(UnigramError::EmptyVocabulary);
            }
            if unk >= ends.len() {
                return Err(UnigramError::UnkIdNotInVocabulary);
            }
        }
        text.shrink_to_fit();
        ends.shrink_to_fit();
        scores.shrink_to_fit();
        let min_score = scores.iter().copied().fold(f64::INFINITY, |m, s| if s < m { s } else { m });
        let mut model = CompactUnigram { text, ends, scores, sorted: Vec::new(), min_score, unk_id, byte_fallback };
        let mut sorted: Vec<u32> = (0..model.ends.len() as u32).collect();
        sorted.sort_by(|&a, &b| model.piece(a).as_bytes().cmp(model.piece(b).as_bytes()).then(b.cmp(&a)));
        sorted.dedup_by(|later, kept| model.piece(*later) == model.piece(*kept));
        sorted.shrink_to_fit();
        model.sorted = sorted;
        Ok(model)
    }

    fn piece(&self, id: u32) -> &str {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    fn id_of(&self, piece: &str) -> Option<u32> {
        self.sorted.binary_search_by(|&id| self.piece(id).as_bytes().cmp(piece.as_bytes())).ok().map(|i| self.sorted[i])
    }

    /// Calls `found(length, id)` for every piece that `text` starts with, shortest first (the
    /// order tokenizers' trie yields them in).
    fn for_each_prefix(&self, text: &[u8], mut found: impl FnMut(usize, u32)) {
        let (mut low, mut high) = (0, self.sorted.len());
        for (depth, &byte) in text.iter().enumerate() {
            // Within [low, high) every piece starts with text[..depth], so the byte at `depth`
            // (none, for the one piece that ends there) does not decrease.
            let key = |id: &u32| self.piece(*id).as_bytes().get(depth).map_or(-1, |&b| b as i32);
            let range = &self.sorted[low..high];
            let start = range.partition_point(|id| key(id) < byte as i32);
            let end = range.partition_point(|id| key(id) <= byte as i32);
            if start == end {
                return;
            }
            (low, high) = (low + start, low + end);
            let first = self.sorted[low];
            if self.piece(first).len() == depth + 1 {
                found(depth + 1, first);
            }
        }
    }

    /// `<0xNN>` pieces for every byte of `piece`, or None if one is missing.
    fn byte_tokens(&self, piece: &str, offsets: (usize, usize)) -> Option<Vec<Token>> {
        piece
            .bytes()
            .map(|byte| {
                let name = format!("<0x{byte:02X}>");
                self.id_of(&name).map(|id| Token::new(id, name, offsets))
            })
            .collect()
    }

    /// The best segmentation of `sentence` as `(start, end, id)`, a fused run of unknown pieces
    /// with no id.
    fn segments(&self, sentence: &str) -> tokenizers::Result<Vec<(usize, usize, Option<usize>)>> {
        #[derive(Clone, Copy)]
        struct Best {
            id: usize,
            score: f64,
            start: Option<usize>,
        }
        let size = sentence.len();
        let unk_score = self.min_score - UNKNOWN_PENALTY;
        let mut best = vec![Best { id: 0, score: 0.0, start: None }; size + 1];
        let bytes = sentence.as_bytes();
        let mut start = 0;
        while start < size {
            let here = best[start].score;
            let char_len = sentence[start..].chars().next().map_or(1, char::len_utf8);
            let mut has_single = false;
            self.for_each_prefix(&bytes[start..], |length, id| {
                let target = &mut best[start + length];
                let candidate = self.scores[id as usize] + here;
                if target.start.is_none() || candidate > target.score {
                    *target = Best { id: id as usize, score: candidate, start: Some(start) };
                }
                has_single |= length == char_len;
            });
            if !has_single {
                let target = &mut best[start + char_len];
                let candidate = unk_score + here;
                if target.start.is_none() || candidate > target.score {
                    *target = Best { id: self.unk_id.ok_or(UnigramError::MissingUnkId)?, score: candidate, start: Some(start) };
                }
            }
            start += char_len;
        }
        // Walking back from the end; a run of unknown pieces becomes one segment.
        let mut out = Vec::new();
        let mut end = size;
        let mut unknown_end = None;
        while end > 0 {
            let node = best[end];
            let start = node.start.ok_or("the Unigram lattice has no path")?;
            if Some(node.id) == self.unk_id {
                unknown_end.get_or_insert(end);
            } else {
                if let Some(unknown) = unknown_end.take() {
                    out.push((end, unknown, None));
                }
                out.push((start, end, Some(node.id)));
            }
            end = start;
        }
        if let Some(unknown) = unknown_end {
            out.push((0, unknown, None));
        }
        out.reverse();
        Ok(out)
    }
}

impl Model for CompactUnigram {
    type Trainer = UnigramTrainer;

    fn tokenize(&self, sentence: &str) -> tokenizers::Result<Vec<Token>> {
        if sentence.is_empty() {
            return Ok(Vec::new());
        }
        let mut tokens = Vec::new();
        for (start, end, id) in self.segments(sentence)? {
            let piece = &sentence[start..end];
            let offsets = (start, end);
            // A fused run of unknown characters: tokenizers looks the whole run up again, then
            // tries its bytes, then takes the unknown piece.
            let id = match id.map(|id| id as u32).or_else(|| self.id_of(piece)) {
                Some(id) => id,
                None => {
                    if let Some(bytes) = self.byte_fallback.then(|| self.byte_tokens(piece, offsets)).flatten() {
                        tokens.extend(bytes);
                        continue;
                    }
                    self.unk_id.ok_or(UnigramError::MissingUnkId)? as u32
                }
            };
            tokens.push(Token::new(id, piece.to_string(), offsets));
        }
        Ok(tokens)
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.id_of(token)
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        ((id as usize) < self.ends.len()).then(|| self.piece(id).to_string())
    }

    fn get_vocab(&self) -> HashMap<String, u32> {
        self.sorted.iter().map(|&id| (self.piece(id).to_string(), id)).collect()
    }

    fn get_vocab_size(&self) -> usize {
        self.ends.len()
    }

    fn save(&self, _folder: &Path, _prefix: Option<&str>) -> tokenizers::Result<Vec<PathBuf>> {
        Err("webembed's compact Unigram is read-only".into())
    }

    fn get_trainer(&self) -> UnigramTrainer {
        UnigramTrainer::default()
    }
}

impl<'de> Deserialize<'de> for CompactUnigram {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Unigram", &["type", "vocab", "unk_id", "byte_fallback"], UnigramVisitor)
    }
}

/// Reads the fields tokenizers' own Unigram reads, with the same checks.
struct UnigramVisitor;

impl<'de> Visitor<'de> for UnigramVisitor {
    type Value = CompactUnigram;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("struct Unigram")
    }

    fn visit_map<V: MapAccess<'de>>(self, mut map: V) -> Result<CompactUnigram, V::Error> {
        let (mut vocab, mut unk_id, mut byte_fallback) = (None, None, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "unk_id" => unk_id = map.next_value()?,
                "byte_fallback" => byte_fallback = map.next_value()?,
                "vocab" => vocab = Some(map.next_value::<Pieces>()?),
                "type" => {
                    let kind: String = map.next_value()?;
                    if kind != "Unigram" {
                        return Err(V::Error::custom(format!("invalid value: string {kind:?}, expected Unigram")));
                    }
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let vocab = vocab.ok_or_else(|| V::Error::custom("Missing vocab"))?;
        CompactUnigram::from_pieces(vocab, unk_id, byte_fallback).map_err(|err| V::Error::custom(format!("Unable to load vocab {err:?}")))
    }
}
