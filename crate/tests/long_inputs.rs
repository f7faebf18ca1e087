//! Long texts are tokenized by prefixes (tokenize.rs) so memory stays flat; these check that the
//! ids still equal what the tokenizer gives for the whole text, on every committed tokenizer.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::{repo_root, tiny_dir};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};
use webembed::tokenize::TextTokenizer;

const MAX_SEQ_LENGTH: usize = 128;

fn tokenizer_files() -> Vec<PathBuf> {
    let mut files = vec![repo_root().join("models/all-MiniLM-L6-v2/tokenizer.json")];
    for folder in ["models", "tokenizers"] {
        for entry in std::fs::read_dir(tiny_dir().join(folder)).unwrap() {
            let file = entry.unwrap().path().join("tokenizer.json");
            if file.is_file() {
                files.push(file);
            }
        }
    }
    assert!(files.len() > 5 && files[0].is_file(), "{files:?}");
    files
}

/// The ids of the whole text, tokenized at once, truncated as the engine truncates.
fn whole_text_ids(file: &PathBuf, text: &str) -> Vec<u32> {
    let mut tokenizer = Tokenizer::from_file(file).unwrap();
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_SEQ_LENGTH,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .unwrap();
    tokenizer.encode(text, true).unwrap().get_ids().to_vec()
}

fn long_texts() -> Vec<(&'static str, String)> {
    let fixtures: Vec<String> = serde_json::from_slice(&std::fs::read(repo_root().join("tests/fixtures/texts.json")).unwrap()).unwrap();
    let prose = fixtures.join(" ");
    vec![
        ("prose, 200 kB", prose.repeat(200_000 / prose.len() + 1)),
        ("prose without spaces", prose.replace(' ', "").repeat(40)),
        // Prefixes are cut before every kind of whitespace, and stop early only before a space.
        ("prose, mixed whitespace", mixed_whitespace(&prose).repeat(60)),
        ("CJK without spaces", "語義検索は意味で文書を見つける。".repeat(3000)),
        ("10^4 combining marks", format!("e{} word", "\u{301}".repeat(10_000))),
        // Within the bound (128 × 512 bytes) a prefix grows until it reaches the words.
        ("spaces, then words", format!("{}after many spaces", " ".repeat(50_000))),
    ]
}

/// `prose` with its spaces in turn a space, a newline, a no-break space, a tab, an ideographic
/// space, and two spaces.
fn mixed_whitespace(prose: &str) -> String {
    let kinds = [" ", "\n", "\u{a0}", "\t", "\u{3000}", "  "];
    prose.split(' ').enumerate().map(|(i, word)| format!("{}{word}", if i == 0 { "" } else { kinds[i % kinds.len()] })).collect()
}

#[test]
fn long_texts_give_the_whole_texts_ids() {
    for file in tokenizer_files() {
        let engine_tokenizer = TextTokenizer::from_bytes(&std::fs::read(&file).unwrap(), MAX_SEQ_LENGTH).unwrap();
        for (what, text) in long_texts() {
            let got = engine_tokenizer.ids(&text, None).unwrap();
            assert_eq!(got, whole_text_ids(&file, &text), "{}: {what}", file.display());
            let with_prompt = engine_tokenizer.ids(&text, Some("query: ")).unwrap();
            assert_eq!(with_prompt, whole_text_ids(&file, &format!("query: {text}")), "{}: {what} with a prompt", file.display());
        }
    }
}

#[test]
fn megabytes_of_nothing_are_cut_not_tokenized_whole() {
    // Control characters and whitespace produce no tokens, so no prefix ever reaches the
    // truncation point: the bound (max_seq_length × TEXT_BYTES_PER_TOKEN bytes) ends the search.
    let file = &tokenizer_files()[0];
    let tokenizer = TextTokenizer::from_bytes(&std::fs::read(file).unwrap(), MAX_SEQ_LENGTH).unwrap();
    for text in ["\u{1}".repeat(20 << 20), " ".repeat(20 << 20), "\0".repeat(20 << 20)] {
        let start = Instant::now();
        let ids = tokenizer.ids(&text, Some("query: ")).unwrap();
        assert!(ids.len() <= 4, "{ids:?}");
        assert!(start.elapsed().as_secs_f64() < 5.0, "{:?}", start.elapsed());
    }
}
