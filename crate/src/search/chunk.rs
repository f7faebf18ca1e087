//! Long documents → chunks that each fit the model whole: split on sentence boundaries, sentences
//! packed together up to the token budget, a sentence too long for one chunk split on token
//! boundaries, and consecutive chunks sharing up to `overlap_tokens` tokens of whole sentences.
//! Every chunk is checked by tokenizing it as it will be embedded (prompt and special tokens
//! included), so nothing is ever truncated.

use crate::error::{EmbedError, Result};
use crate::tokenize::{prefix_before, TextTokenizer};

#[derive(Clone, Copy, Debug)]
pub struct ChunkOptions {
    /// Tokens per chunk, prompt and special tokens included (at most the model's `max_seq_length`).
    pub max_tokens: usize,
    /// Tokens of trailing sentences a chunk repeats from the one before it.
    pub overlap_tokens: usize,
}

/// Longest piece of text tokenized at once: tokenizing costs ~60 bytes of memory per byte.
const PIECE_BYTES: usize = 2048;

/// A run of text counted as a unit when packing chunks (a sentence, or a window of a long one).
#[derive(Clone, Copy, Debug)]
struct Unit {
    start: usize,
    end: usize,
    tokens: usize,
}

/// The chunks of `text` as `[start, end)` spans in UTF-16 code units (JavaScript string indices).
pub fn chunk_spans(tokenizer: &TextTokenizer, text: &str, prompt: Option<&str>, options: ChunkOptions) -> Result<Vec<(usize, usize)>> {
    let bytes = byte_spans(tokenizer, text, prompt, options)?;
    Ok(to_utf16(text, &bytes))
}

/// `chunk_spans` in bytes.
pub fn byte_spans(tokenizer: &TextTokenizer, text: &str, prompt: Option<&str>, options: ChunkOptions) -> Result<Vec<(usize, usize)>> {
    if tokenizer.fits(text, prompt, options.max_tokens)? {
        return Ok(vec![(0, text.len())]);
    }
    let budget = options.max_tokens.checked_sub(tokenizer.overhead(prompt)?).filter(|&b| b >= 8).ok_or_else(|| {
        EmbedError::Input(format!(
            "chunks of {} tokens leave fewer than 8 for text once the prompt and special tokens are in",
            options.max_tokens
        ))
    })?;
    let overlap = options.overlap_tokens.min(budget / 2);
    let mut units = Vec::new();
    for (start, end) in sentences(text) {
        let spans: Vec<(usize, usize)> =
            tokenizer.token_spans(&text[start..end])?.into_iter().map(|(s, e)| (start + s, start + e)).collect();
        windows(&spans, start, end, budget, overlap, &mut units);
    }
    let mut chunks = Vec::new();
    for (start, end) in pack(&units, budget, overlap) {
        checked(tokenizer, text, prompt, options.max_tokens, start, end, budget, &mut chunks)?;
    }
    Ok(forward_only(chunks))
}

/// Drops a chunk that another holds whole (windows re-split to fit can repeat a start), so starts
/// and ends both only grow.
fn forward_only(chunks: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let mut kept: Vec<(usize, usize)> = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        match kept.last_mut() {
            Some(last) if chunk.1 <= last.1 => {}
            Some(last) if chunk.0 <= last.0 => *last = chunk,
            _ => kept.push(chunk),
        }
    }
    kept
}

/// The byte spans, within `text`, of the tokens of `text[start..end]`.
fn token_spans(tokenizer: &TextTokenizer, text: &str, start: usize, end: usize) -> Result<Vec<(usize, usize)>> {
    Ok(tokenizer.token_spans(&text[start..end])?.into_iter().map(|(s, e)| (start + s, start + e)).collect())
}

/// A sentence of `spans` tokens as one unit, or as windows of `budget` tokens that overlap by
/// `overlap` when it is longer.
fn windows(spans: &[(usize, usize)], start: usize, end: usize, budget: usize, overlap: usize, units: &mut Vec<Unit>) {
    if spans.len() <= budget {
        units.push(Unit { start, end, tokens: spans.len() });
        return;
    }
    let step = budget - overlap;
    let mut first = 0;
    loop {
        let last = (first + budget).min(spans.len());
        let unit_start = if first == 0 { start } else { spans[first].0 };
        let unit_end = if last == spans.len() { end } else { spans[last - 1].1 };
        units.push(Unit { start: unit_start, end: unit_end.max(unit_start), tokens: last - first });
        if last == spans.len() {
            break;
        }
        first += step;
    }
}

/// Consecutive units packed into spans of at most `budget` tokens; each span after the first
/// starts with the trailing units of the one before that hold at most `overlap` tokens.
fn pack(units: &[Unit], budget: usize, overlap: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut tokens = 0;
    for (i, unit) in units.iter().enumerate() {
        if !current.is_empty() && tokens + unit.tokens > budget {
            spans.push((units[current[0]].start, units[*current.last().unwrap_or(&current[0])].end));
            let mut kept = Vec::new();
            let mut kept_tokens = 0;
            for &j in current.iter().rev() {
                let repeat = &units[j];
                // Windows of one long sentence already overlap each other.
                if repeat.end > unit.start || kept_tokens + repeat.tokens > overlap || kept_tokens + repeat.tokens + unit.tokens > budget {
                    break;
                }
                kept.push(j);
                kept_tokens += repeat.tokens;
            }
            kept.reverse();
            current = kept;
            tokens = kept_tokens;
        }
        current.push(i);
        tokens += unit.tokens;
    }
    if let (Some(&first), Some(&last)) = (current.first(), current.last()) {
        spans.push((units[first].start, units[last].end));
    }
    spans
}

/// Adds `[start, end)` when it fits the model whole, else its token windows of a smaller budget
/// (token counts of sentences measured alone can differ from the same text in context).
#[allow(clippy::too_many_arguments)]
fn checked(
    tokenizer: &TextTokenizer,
    text: &str,
    prompt: Option<&str>,
    max_tokens: usize,
    start: usize,
    end: usize,
    budget: usize,
    chunks: &mut Vec<(usize, usize)>,
) -> Result<()> {
    if end - start <= PIECE_BYTES * 4 && tokenizer.fits(&text[start..end], prompt, max_tokens)? {
        chunks.push((start, end));
        return Ok(());
    }
    let smaller = budget * 3 / 4;
    if smaller < 4 {
        return Err(EmbedError::Input(format!("could not cut the text at bytes {start}..{end} into chunks of {max_tokens} tokens")));
    }
    let mut units = Vec::new();
    for (piece_start, piece_end) in pieces(text, start, end) {
        windows(&token_spans(tokenizer, text, piece_start, piece_end)?, piece_start, piece_end, smaller, 0, &mut units);
    }
    for (s, e) in pack(&units, smaller, 0) {
        checked(tokenizer, text, prompt, max_tokens, s, e, smaller, chunks)?;
    }
    Ok(())
}

/// Sentences of `text` as trimmed byte spans: a sentence ends at a line break, at `. ! ?`
/// followed by whitespace, or at a full-width `。！？`; none is longer than `PIECE_BYTES`.
fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        let next_is_space = chars.peek().is_none_or(|&(_, n)| n.is_whitespace());
        if c == '\n' || matches!(c, '。' | '！' | '？') || (matches!(c, '.' | '!' | '?') && next_is_space) {
            spans.extend(pieces(text, start, end));
            start = end;
        }
    }
    spans.extend(pieces(text, start, text.len()));
    spans
}

/// `[start, end)` trimmed of whitespace and cut before whitespace into pieces of at most
/// `PIECE_BYTES`; empty when it is all whitespace.
fn pieces(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = start;
    while at < end {
        let rest = &text[at..end];
        let trimmed = rest.trim_start();
        at += rest.len() - trimmed.len();
        if trimmed.is_empty() {
            break;
        }
        let piece = prefix_before(trimmed, PIECE_BYTES);
        let piece = if piece.is_empty() { &trimmed[..trimmed.chars().next().map_or(0, char::len_utf8)] } else { piece };
        let piece_trimmed = piece.trim_end();
        if !piece_trimmed.is_empty() {
            spans.push((at, at + piece_trimmed.len()));
        }
        at += piece.len();
    }
    spans
}

/// Byte spans → UTF-16 spans; both starts and ends only grow, so one pass each.
fn to_utf16(text: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut starts = Utf16Cursor::new(text);
    let mut ends = Utf16Cursor::new(text);
    spans.iter().map(|&(s, e)| (starts.at(s), ends.at(e))).collect()
}

struct Utf16Cursor<'a> {
    text: &'a str,
    byte: usize,
    unit: usize,
}

impl<'a> Utf16Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Utf16Cursor { text, byte: 0, unit: 0 }
    }

    fn at(&mut self, byte: usize) -> usize {
        if byte < self.byte {
            *self = Utf16Cursor::new(self.text);
        }
        self.unit += self.text[self.byte..byte].encode_utf16().count();
        self.byte = byte;
        self.unit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_at_stops_and_line_breaks_but_not_inside_numbers() {
        let text = "It costs 3.50 today. Really? Yes!\nNew line。次の文";
        let got: Vec<&str> = sentences(text).iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(got, ["It costs 3.50 today.", "Really?", "Yes!", "New line。", "次の文"]);
    }

    #[test]
    fn a_long_sentence_is_cut_into_pieces_before_spaces() {
        let text = "word ".repeat(1000);
        let got = sentences(&text);
        assert!(got.len() >= 3);
        assert!(got.iter().all(|&(s, e)| e - s <= PIECE_BYTES && &text[s..s + 1] == "w" && &text[e - 1..e] == "d"));
    }

    #[test]
    fn packing_keeps_budgets_and_repeats_whole_sentences() {
        let units: Vec<Unit> = (0..10).map(|i| Unit { start: i * 10, end: i * 10 + 9, tokens: 4 }).collect();
        assert_eq!(pack(&units, 12, 4), [(0, 29), (20, 49), (40, 69), (60, 89), (80, 99)]);
        assert_eq!(pack(&units, 12, 0), [(0, 29), (30, 59), (60, 89), (90, 99)]);
    }

    #[test]
    fn chunks_held_by_another_are_dropped() {
        assert_eq!(forward_only(vec![(0, 10), (0, 20), (15, 30), (16, 25), (30, 40)]), [(0, 20), (15, 30), (30, 40)]);
    }

    #[test]
    fn utf16_spans_count_surrogate_pairs_twice() {
        let text = "a😀b é c";
        let spans = [(0, 1), (1, 5), (5, text.len())];
        assert_eq!(to_utf16(text, &spans), [(0, 1), (1, 3), (3, 8)]);
    }
}
