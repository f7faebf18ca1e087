//! The keyword analyzer: text → terms with their byte spans, the same for documents and queries.
//!
//! - Words by Unicode word segmentation (UAX #29, `unicode-segmentation`, already in the tree
//!   through tokenizers).
//! - Identifiers kept whole and split into their parts: words joined by `.`, `_`, `:` (so `::`)
//!   or `-` with no space, and camelCase inside a word, so `os.path.realpath` is a term and so
//!   are `os`, `path` and `realpath`.
//! - Scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) as
//!   overlapping character bigrams: no dictionary segmenter fits the wasm size budget.
//! - Each term NFKC-normalized and case-folded; Latin and Greek diacritics dropped (`café` →
//!   `cafe`); with a language, Snowball-stemmed (`rust-stemmers`) before the diacritics go.
//! - A term is at most `MAX_TERM_BYTES`: a 10 MB "word" is one bounded term, not a 10 MB key.
//! - Stopwords (Snowball's lists, as NLTK ships them) are marked, not dropped: a query leaves
//!   them out unless it is nothing but stopwords ("to be or not to be"), so documents keep them.
//!   With `language: 'auto'` each text's language is the one whose stopwords it holds most of
//!   (none when it holds none): a multilingual index without stemming.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization_alignments::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use crate::error::{EmbedError, Result};

/// Longest term kept, in bytes (longer ones are cut at a character boundary, in documents and
/// queries alike, so they still match).
pub const MAX_TERM_BYTES: usize = 64;
/// Parts an identifier is split into at most (the rest stay in the whole term).
const MAX_PARTS: usize = 32;
/// Tails of an identifier kept at most: its shortest, the ones written elsewhere.
const MAX_TAILS: usize = 8;

/// One term and where it came from: `text[start..end]` (bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub term: String,
    pub start: usize,
    pub end: usize,
    /// One part of an identifier split into several (`path` of `os.path.realpath`).
    pub part: bool,
    /// A stopword of the text's language.
    pub stop: bool,
}

/// `language: 'auto'`: each text's language detected from its stopwords, no stemming.
pub const AUTO: &str = "auto";

/// The Snowball languages an index can stem: the name and ISO 639-1 code its `language` option takes.
pub const LANGUAGES: &[(&str, &str, Algorithm)] = &[
    ("arabic", "ar", Algorithm::Arabic),
    ("danish", "da", Algorithm::Danish),
    ("dutch", "nl", Algorithm::Dutch),
    ("english", "en", Algorithm::English),
    ("finnish", "fi", Algorithm::Finnish),
    ("french", "fr", Algorithm::French),
    ("german", "de", Algorithm::German),
    ("greek", "el", Algorithm::Greek),
    ("hungarian", "hu", Algorithm::Hungarian),
    ("italian", "it", Algorithm::Italian),
    ("norwegian", "no", Algorithm::Norwegian),
    ("portuguese", "pt", Algorithm::Portuguese),
    ("romanian", "ro", Algorithm::Romanian),
    ("russian", "ru", Algorithm::Russian),
    ("spanish", "es", Algorithm::Spanish),
    ("swedish", "sv", Algorithm::Swedish),
    ("tamil", "ta", Algorithm::Tamil),
    ("turkish", "tr", Algorithm::Turkish),
];

pub struct Analyzer {
    stemmer: Option<Stemmer>,
    language: Option<String>,
    /// The stopwords of the set language (folded as terms are, unstemmed); for 'auto', each
    /// language's, a text picking its own.
    stopwords: Vec<(&'static str, HashSet<String>)>,
    auto: bool,
}

impl Analyzer {
    /// `language`: a name of `LANGUAGES` (also its two-letter ISO 639-1 code) for its stemming
    /// and stopwords, `'auto'` for each text's language's stopwords, or None for neither.
    pub fn new(language: Option<&str>) -> Result<Self> {
        let Some(name) = language else { return Ok(Analyzer { stemmer: None, language: None, stopwords: Vec::new(), auto: false }) };
        let wanted = name.to_ascii_lowercase();
        let mut analyzer = Analyzer { stemmer: None, language: None, stopwords: Vec::new(), auto: false };
        if wanted == AUTO {
            analyzer.auto = true;
            analyzer.language = Some(AUTO.to_string());
            for (_, code, _) in LANGUAGES {
                let list = analyzer.stopword_set(code);
                if !list.is_empty() {
                    analyzer.stopwords.push((code, list));
                }
            }
            return Ok(analyzer);
        }
        let found = LANGUAGES.iter().find(|(full, code, _)| *full == wanted || *code == wanted);
        match found {
            Some((full, code, algorithm)) => {
                let stopwords = analyzer.stopword_set(code);
                Ok(Analyzer {
                    stemmer: Some(Stemmer::create(*algorithm)),
                    language: Some(full.to_string()),
                    stopwords: vec![(code, stopwords)],
                    auto: false,
                })
            }
            None => Err(EmbedError::Input(format!(
                "language {name:?} has no stemmer; use one of {}, 'auto' (or none)",
                LANGUAGES.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Snowball's stopwords of `code` (ISO 639-1), folded as terms are; empty where there is no list.
    fn stopword_set(&self, code: &str) -> HashSet<String> {
        let Some(list) = stopword_list(code) else { return HashSet::new() };
        list.iter().map(|word| self.term(word, false)).filter(|t| !t.is_empty()).collect()
    }

    /// The stopwords `text` is to be read with: the set language's, or (for 'auto') the language
    /// whose stopwords `text`'s words hold most of (none when it holds none).
    fn stopwords_for(&self, text: &str) -> Option<&HashSet<String>> {
        if !self.auto {
            return self.stopwords.first().map(|(_, set)| set);
        }
        let mut counts = vec![0usize; self.stopwords.len()];
        let mut words = 0;
        for word in text.unicode_words().take(400) {
            let term = self.term(word, false);
            words += 1;
            for (i, (_, set)) in self.stopwords.iter().enumerate() {
                counts[i] += usize::from(set.contains(&term));
            }
        }
        let (best, &count) = counts.iter().enumerate().max_by_key(|&(i, &c)| (c, std::cmp::Reverse(i)))?;
        // One stopword among several words names no language (Romanian's "data" in "refund
        // receipt data"); two do, or one of a query's two words ("die Katze").
        (count >= 2 || (count == 1 && 2 * count >= words)).then(|| &self.stopwords[best].1)
    }

    /// The stemming language, by its full name.
    pub fn language(&self) -> Option<&str> {
        self.language.as_deref()
    }

    /// The terms of `text`, in order, stopwords marked.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut out = self.terms(text);
        if let Some(stopwords) = self.stopwords_for(text).filter(|s| !s.is_empty()) {
            // A part of an identifier is code, not prose: `re` of `re.error` is no stopword.
            let joined = |at: usize, before: bool| {
                let (near, far) = if before {
                    let mut chars = text[..at].chars().rev();
                    (chars.next(), chars.next())
                } else {
                    let mut chars = text[at..].chars();
                    (chars.next(), chars.next())
                };
                near.is_some_and(is_joiner) && far.is_some_and(char::is_alphanumeric)
            };
            for token in out.iter_mut().filter(|t| !t.part && !joined(t.start, true) && !joined(t.end, false)) {
                // A stem is not a word: a plain word is looked up as it is written, folded.
                let written = if self.stemmer.is_some() { self.term(&text[token.start..token.end], false) } else { token.term.clone() };
                token.stop = stopwords.contains(&written);
            }
        }
        out
    }

    /// The terms of `text`, in order.
    fn terms(&self, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        let segments: Vec<(usize, &str)> = text.split_word_bound_indices().collect();
        let mut i = 0;
        while i < segments.len() {
            let (start, segment) = segments[i];
            if segment.chars().any(is_unspaced_script) {
                // A run of segments in scripts without spaces (UAX #29 gives Han one character a segment).
                let mut end = start + segment.len();
                i += 1;
                while i < segments.len() && segments[i].1.chars().any(is_unspaced_script) {
                    end = segments[i].0 + segments[i].1.len();
                    i += 1;
                }
                self.bigrams(text, start, end, &mut out);
                continue;
            }
            if !segment.chars().any(char::is_alphanumeric) {
                i += 1;
                continue;
            }
            // An identifier: word segments joined by joiner characters with nothing between.
            let mut end = start + segment.len();
            i += 1;
            loop {
                let mut j = i;
                while j < segments.len() && segments[j].1.chars().all(is_joiner) {
                    j += 1;
                }
                let joined = j > i
                    && j < segments.len()
                    && segments[j].1.chars().any(char::is_alphanumeric)
                    && !segments[j].1.chars().any(is_unspaced_script);
                if !joined {
                    break;
                }
                end = segments[j].0 + segments[j].1.len();
                i = j + 1;
            }
            self.word(text, start, end, &mut out);
        }
        out
    }

    /// A word or identifier `text[start..end]`: the whole term, then its parts when it has several.
    fn word(&self, text: &str, start: usize, end: usize, out: &mut Vec<Token>) {
        let parts = parts(&text[start..end]);
        if parts.len() <= 1 {
            let term = self.term(&text[start..end], true);
            if !term.is_empty() {
                out.push(Token { term, start, end, part: false, stop: false });
            }
            return;
        }
        let whole = self.term(&text[start..end], false);
        if !whole.is_empty() {
            out.push(Token { term: whole, start, end, part: false, stop: false });
        }
        // Its tails from each joiner on (`datetime.time.tzinfo` → `time.tzinfo`): a name is often
        // written qualified in one place and partly qualified in another. The last tail is one
        // segment, a part unless camelCase splits it (then it is kept whole too).
        let tails = tails(&text[start..end], MAX_TAILS + 1);
        // The last segment when camelCase does not split it: the name itself (`realpath` of
        // `os.path.realpath`), which a query weighs as a whole word, not as a part. A source
        // file defines it by that name alone (`.. function:: realpath(path)`).
        let last_segment = tails.last().copied().filter(|&t| parts.iter().filter(|&&(from, _)| from >= t).count() == 1);
        let tails: Vec<usize> = tails.into_iter().filter(|&t| parts.iter().filter(|&&(from, _)| from >= t).count() > 1).collect();
        for &tail in &tails[tails.len().saturating_sub(MAX_TAILS)..] {
            let term = self.term(&text[start + tail..end], false);
            if !term.is_empty() {
                out.push(Token { term, start: start + tail, end, part: false, stop: false });
            }
        }
        for (part_start, part_end) in parts.into_iter().take(MAX_PARTS) {
            let term = self.term(&text[start + part_start..start + part_end], true);
            if !term.is_empty() {
                out.push(Token {
                    term,
                    start: start + part_start,
                    end: start + part_end,
                    part: last_segment != Some(part_start),
                    stop: false,
                });
            }
        }
    }

    /// Overlapping character bigrams of `text[start..end]` (one character alone when it is all).
    /// Characters of other scripts inside the run (digits, Latin) are words of their own.
    fn bigrams(&self, text: &str, start: usize, end: usize, out: &mut Vec<Token>) {
        let chars: Vec<(usize, char)> = text[start..end].char_indices().map(|(at, c)| (start + at, c)).collect();
        let mut run: Vec<(usize, char)> = Vec::new();
        let flush = |run: &mut Vec<(usize, char)>, out: &mut Vec<Token>| {
            let end_of = |k: usize| run[k].0 + run[k].1.len_utf8();
            if run.len() == 1 {
                out.push(Token {
                    term: self.term(&text[run[0].0..end_of(0)], false),
                    start: run[0].0,
                    end: end_of(0),
                    part: false,
                    stop: false,
                });
            }
            for k in 1..run.len() {
                out.push(Token {
                    term: self.term(&text[run[k - 1].0..end_of(k)], false),
                    start: run[k - 1].0,
                    end: end_of(k),
                    part: false,
                    stop: false,
                });
            }
            run.clear();
        };
        let mut other_start = None;
        for &(at, c) in &chars {
            if is_unspaced_script(c) {
                if let Some(from) = other_start.take() {
                    self.word_run(text, from, at, out);
                }
                run.push((at, c));
            } else {
                flush(&mut run, out);
                other_start.get_or_insert(at);
            }
        }
        flush(&mut run, out);
        if let Some(from) = other_start {
            self.word_run(text, from, end, out);
        }
    }

    /// Words inside a stretch of a bigram run that is not in a bigram script (e.g. `3` in `第3章`).
    fn word_run(&self, text: &str, start: usize, end: usize, out: &mut Vec<Token>) {
        for (at, segment) in text[start..end].split_word_bound_indices() {
            if segment.chars().any(char::is_alphanumeric) {
                self.word(text, start + at, start + at + segment.len(), out);
            }
        }
    }

    /// NFKC, case folding, stemming (for a plain word, when a language is set), Latin and Greek
    /// diacritics dropped, at most `MAX_TERM_BYTES`.
    fn term(&self, raw: &str, stem: bool) -> String {
        if raw.is_ascii() {
            // ASCII is its own NFKC and has no diacritics: the common case, kept cheap.
            let mut term = raw.to_ascii_lowercase();
            if let Some(stemmer) = self.stemmer.as_ref().filter(|_| stem && term.bytes().all(|b| b.is_ascii_alphabetic())) {
                term = stemmer.stem(&term).into_owned();
            }
            term.truncate(MAX_TERM_BYTES);
            return term;
        }
        let folded: String = raw.nfkc().map(|(c, _)| c).flat_map(fold_case).collect();
        let stemmed = match &self.stemmer {
            Some(stemmer) if stem && folded.chars().all(char::is_alphabetic) => stemmer.stem(&folded).into_owned(),
            _ => folded,
        };
        let mut term = String::with_capacity(stemmed.len());
        let mut base_is_latin_or_greek = false;
        for (c, _) in stemmed.as_str().nfd() {
            if is_combining_diacritic(c) && base_is_latin_or_greek {
                continue;
            }
            if !is_combining_diacritic(c) {
                base_is_latin_or_greek = (c as u32) < 0x0250 || (0x0370..0x0400).contains(&(c as u32));
            }
            term.push(c);
        }
        let mut term: String = term.as_str().nfc().map(|(c, _)| c).collect();
        if term.len() > MAX_TERM_BYTES {
            let mut cut = MAX_TERM_BYTES;
            while !term.is_char_boundary(cut) {
                cut -= 1;
            }
            term.truncate(cut);
        }
        term
    }
}

/// Snowball's stopword list of a language by its ISO 639-1 code (NLTK's copy), if there is one.
fn stopword_list(code: &str) -> Option<&'static [&'static str]> {
    const WITH_LISTS: [&str; 17] = ["ar", "da", "nl", "en", "fi", "fr", "de", "el", "hu", "it", "no", "pt", "ro", "ru", "es", "sv", "tr"];
    WITH_LISTS.contains(&code).then(|| stop_words::get(code))
}

/// Lower case, with the full case folding of the few letters where it differs (ß, final sigma).
fn fold_case(c: char) -> impl Iterator<Item = char> {
    let special: Option<&'static str> = match c {
        'ß' | 'ẞ' => Some("ss"),
        'ς' => Some("σ"),
        _ => None,
    };
    let lower = if special.is_none() { Some(c.to_lowercase()) } else { None };
    special.into_iter().flat_map(str::chars).chain(lower.into_iter().flatten())
}

/// Characters that join the words of an identifier.
fn is_joiner(c: char) -> bool {
    matches!(c, '.' | '_' | ':' | '-')
}

fn is_combining_diacritic(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Scripts written without spaces between words: indexed as character bigrams.
pub fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x31F0..=0x31FF    // Katakana phonetic extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // halfwidth Katakana
        | 0x20000..=0x3134F  // CJK extensions B–G
        | 0x0E00..=0x0EFF    // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
    )
}

/// The byte ranges of an identifier's parts: split at joiners and at camelCase boundaries
/// (`getHTTPResponse` → get, HTTP, Response); digits stay with the letters before them.
fn parts(word: &str) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut start: Option<usize> = None;
    for (k, &(at, c)) in chars.iter().enumerate() {
        if is_joiner(c) || !(c.is_alphanumeric() || is_mark(c)) {
            if let Some(from) = start.take() {
                parts.push((from, at));
            }
            continue;
        }
        if let Some(from) = start {
            let previous = chars[k - 1].1;
            let next = chars.get(k + 1).map(|&(_, n)| n);
            let lower_to_upper = c.is_uppercase() && (previous.is_lowercase() || previous.is_ascii_digit());
            let acronym_end = c.is_uppercase() && previous.is_uppercase() && next.is_some_and(char::is_lowercase);
            if lower_to_upper || acronym_end {
                parts.push((from, at));
                start = Some(at);
            }
        } else {
            start = Some(at);
        }
    }
    if let Some(from) = start {
        parts.push((from, word.len()));
    }
    parts
}

/// Where an identifier's last `keep` tails start: after each run of joiners (`a.b::c` → `b::c`, `c`).
fn tails(word: &str, keep: usize) -> Vec<usize> {
    let mut starts = std::collections::VecDeque::with_capacity(keep + 1);
    let mut after_joiner = false;
    for (at, c) in word.char_indices() {
        if is_joiner(c) {
            after_joiner = true;
        } else if after_joiner {
            starts.push_back(at);
            if starts.len() > keep {
                starts.pop_front();
            }
            after_joiner = false;
        }
    }
    starts.into()
}

/// Combining marks stay inside their word (Devanagari vowel signs, accents written apart).
fn is_mark(c: char) -> bool {
    unicode_normalization_alignments::char::is_combining_mark(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(analyzer: &Analyzer, text: &str) -> Vec<String> {
        analyzer.tokens(text).into_iter().map(|t| t.term).collect()
    }

    #[test]
    fn identifiers_are_kept_whole_and_split() {
        let a = Analyzer::new(None).unwrap();
        // Whole, then its tails from each joiner on, then its parts.
        assert_eq!(terms(&a, "os.path.realpath(p)"), ["os.path.realpath", "path.realpath", "os", "path", "realpath", "p"]);
        assert_eq!(terms(&a, "std::vec::Vec"), ["std::vec::vec", "vec::vec", "std", "vec", "vec"]);
        assert_eq!(terms(&a, "os.getHTTPResponse"), ["os.gethttpresponse", "gethttpresponse", "os", "get", "http", "response"]);
        assert_eq!(terms(&a, "my_var-name"), ["my_var-name", "var-name", "my", "var", "name"]);
        assert_eq!(terms(&a, "getHTTPResponse"), ["gethttpresponse", "get", "http", "response"]);
        assert_eq!(terms(&a, "utf8Decode"), ["utf8decode", "utf8", "decode"]);
        // A sentence's full stop is not a joiner: nothing follows it.
        assert_eq!(terms(&a, "The end. Next"), ["the", "end", "next"]);
        let tokens = a.tokens("call os.path.realpath now");
        assert_eq!((tokens[0].start, tokens[0].end), (0, 4));
        assert_eq!((tokens[1].start, tokens[1].end), (5, 21));
        assert_eq!((tokens[2].start, tokens[2].end), (8, 21), "the tail path.realpath");
        assert_eq!((tokens[5].start, tokens[5].end), (13, 21));
        // The last segment is the name itself, no part; camelCase's pieces of it are parts.
        assert_eq!(tokens.iter().map(|t| t.part).collect::<Vec<_>>(), [false, false, false, true, true, false, false]);
        assert!(a.tokens("os.getHTTPResponse").iter().skip(2).all(|t| t.part));
    }

    #[test]
    fn normalization_case_folding_and_diacritics() {
        let a = Analyzer::new(None).unwrap();
        assert_eq!(terms(&a, "Café CAFÉ cafe\u{301}"), ["cafe", "cafe", "cafe"]);
        assert_eq!(terms(&a, "Straße STRASSE"), ["strasse", "strasse"]);
        // NFKC: full-width letters and the ﬁ ligature.
        assert_eq!(terms(&a, "ＡＢＣ ﬁle"), ["abc", "file"]);
        // Cyrillic keeps its letters (й is not и).
        assert_eq!(terms(&a, "Йод"), ["йод"]);
        assert_eq!(terms(&a, "ΣΟΦΟΣ"), ["σοφοσ"]);
    }

    #[test]
    fn unspaced_scripts_become_bigrams() {
        let a = Analyzer::new(None).unwrap();
        assert_eq!(terms(&a, "東京都"), ["東京", "京都"]);
        assert_eq!(terms(&a, "東"), ["東"]);
        assert_eq!(terms(&a, "第3章です"), ["第", "3", "章で", "です"]);
        assert_eq!(terms(&a, "ภาษาไทย"), ["ภา", "าษ", "ษา", "าไ", "ไท", "ทย"]);
        let tokens = a.tokens("ab 東京");
        assert_eq!((tokens[1].start, tokens[1].end), (3, 9));
    }

    #[test]
    fn stemming_by_language() {
        let english = Analyzer::new(Some("english")).unwrap();
        assert_eq!(terms(&english, "running runs"), ["run", "run"]);
        // Identifiers are not stemmed whole; their parts are.
        assert_eq!(terms(&english, "running_jobs"), ["running_jobs", "run", "job"]);
        let french = Analyzer::new(Some("fr")).unwrap();
        assert_eq!(french.language(), Some("french"));
        assert_eq!(terms(&french, "continuellement"), terms(&french, "continuel"));
        assert_eq!(Analyzer::new(Some("klingon")).err().map(|e| e.code()), Some("E_INPUT"));
    }

    #[test]
    fn hostile_text_gives_bounded_terms() {
        let a = Analyzer::new(None).unwrap();
        let giant = "x".repeat(10_000_000);
        let tokens = a.tokens(&giant);
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].term.len(), MAX_TERM_BYTES);
        assert_eq!((tokens[0].start, tokens[0].end), (0, giant.len()));
        // Combining marks, right-to-left text, emoji, controls: no panic, spans inside the text.
        let text = "e\u{301}\u{302}\u{303} مرحبا بالعالم שלום 👩‍👩‍👧 \u{0}\u{200B}x \u{FEFF}";
        for token in a.tokens(text) {
            assert!(text.is_char_boundary(token.start) && text.is_char_boundary(token.end) && token.start < token.end);
        }
        assert_eq!(terms(&a, "مرحبا"), ["مرحبا"]);
        // One character of every block of the Basic Multilingual Plane and beyond (every
        // general category occurs), each alone and all run together.
        let every: String = (0u32..0x30000).step_by(7).filter_map(char::from_u32).collect();
        for token in a.tokens(&every) {
            assert!(every.is_char_boundary(token.start) && every.is_char_boundary(token.end) && token.start < token.end);
            assert!(!token.term.is_empty() && token.term.len() <= MAX_TERM_BYTES);
        }
        // U+FFFD (what a lone surrogate from JavaScript arrives as) is not a word.
        assert!(a.tokens("\u{FFFD}\u{FFFD}").is_empty());
        let identifier = (0..100).map(|i| format!("p{i}")).collect::<Vec<_>>().join(".");
        assert_eq!(a.tokens(&identifier).len(), 1 + MAX_TAILS + MAX_PARTS);
        // A 10 MB identifier of a million segments: bounded terms, in linear time.
        let huge = "ab.".repeat(3_500_000);
        let start = std::time::Instant::now();
        assert_eq!(a.tokens(&huge).len(), 1 + MAX_TAILS + MAX_PARTS);
        assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    }

    #[test]
    fn stopwords_are_marked_by_the_texts_language() {
        let english = Analyzer::new(Some("english")).unwrap();
        let stops: Vec<(String, bool)> = english.tokens("The cats are on a mat").into_iter().map(|t| (t.term, t.stop)).collect();
        assert_eq!(
            stops,
            [("the", true), ("cat", false), ("are", true), ("on", true), ("a", true), ("mat", false)].map(|(t, s)| (t.to_string(), s))
        );
        let auto = Analyzer::new(Some("auto")).unwrap();
        let german: Vec<bool> = auto.tokens("Die Katze schläft auf dem Sofa").into_iter().map(|t| t.stop).collect();
        assert_eq!(german, [true, false, false, true, true, false]);
        // "die" is German's, not English's: an English text keeps it.
        let english_die: Vec<bool> = auto.tokens("the plants die in the winter").into_iter().map(|t| t.stop).collect();
        // One stopword of another language among several words names no language.
        assert!(auto.tokens("refund receipt guide page data").iter().all(|t| !t.stop));
        assert_eq!(english_die, [true, false, false, true, true, false]);
        assert!(auto.tokens("東京の天気").iter().all(|t| !t.stop));
        assert!(Analyzer::new(None).unwrap().tokens("the a of").iter().all(|t| !t.stop));
    }
}
