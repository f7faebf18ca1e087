//! The ASCII WordPiece fast path (`webembed::ascii_wordpiece`) gives tokenizers' ids: on every
//! text the fixtures hold, on random ASCII (controls, punctuation, words past 100 characters,
//! pieces the vocabulary lacks), under both WordPiece tokenizers the tests have; and texts it
//! must not take (non-ASCII, an added token's text) go to tokenizers.

mod common;

use common::repo_root;
use webembed::ascii_wordpiece::AsciiWordPiece;
use webembed::tokenize::{TextTokenizer, TokenRules};

fn tokenizers() -> Vec<(String, Vec<u8>)> {
    ["models/all-MiniLM-L6-v2/tokenizer.json", "tests/fixtures/tiny/families/model2vec-like/tokenizer.json"]
        .iter()
        .map(|path| (path.to_string(), std::fs::read(repo_root().join(path)).unwrap()))
        .collect()
}

/// Every text the fixtures have, and random ASCII built to hit every branch.
fn texts() -> Vec<String> {
    let mut texts: Vec<String> = serde_json::from_slice(&std::fs::read(repo_root().join("tests/fixtures/texts.json")).unwrap()).unwrap();
    for file in ["tokenizer-e5-small-v2-like.json", "tokenizer-xlmr-minilm-nonorm-like.json"] {
        let reference: serde_json::Value =
            serde_json::from_slice(&std::fs::read(repo_root().join("tests/fixtures/tiny/references").join(file)).unwrap()).unwrap();
        texts.extend(reference["cases"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap().to_string()));
    }
    let mut state = 7u64;
    let mut next = |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let alphabet: Vec<u8> = (0u8..128).collect();
    for _ in 0..2000 {
        let len = next(200) as usize;
        let text: String = (0..len)
            .map(|_| match next(10) {
                0 => alphabet[next(128) as usize] as char,
                1 => ' ',
                2 => ".,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`".as_bytes()[next(32) as usize] as char,
                _ => (b'a' + next(26) as u8) as char,
            })
            .collect();
        texts.push(text);
    }
    texts.push("x".repeat(150));
    texts.push(format!("{} tail", "supercalifragilistic".repeat(6)));
    texts.push("\u{0}\u{b}\u{c}\u{1f}\u{7f}\tmixed\r\ncontrols".into());
    texts
}

#[test]
fn the_fast_path_gives_tokenizers_ids() {
    let texts = texts();
    for (path, bytes) in tokenizers() {
        assert!(AsciiWordPiece::from_tokenizer_json(&bytes).is_some(), "{path} is BERT's uncased WordPiece");
        let tokenizer = TextTokenizer::from_bytes_with(&bytes, 4096, TokenRules { without_special_tokens: true, model2vec: None }).unwrap();
        assert!(tokenizer.has_fast_path());
        let mut fast = 0;
        for text in &texts {
            let got = tokenizer.ids(text, None).unwrap();
            assert_eq!(got, tokenizer.reference_ids(text, None).unwrap(), "{path}: {text:?}");
            fast += usize::from(text.is_ascii());
        }
        assert!(fast > 2000, "{fast} texts took the fast path");
        // With a prompt, and cut at a limit, as an engine cuts them.
        let short = TextTokenizer::from_bytes_with(&bytes, 7, TokenRules { without_special_tokens: true, model2vec: None }).unwrap();
        for text in texts.iter().take(200) {
            assert_eq!(short.ids(text, Some("query: ")).unwrap(), short.reference_ids(text, Some("query: ")).unwrap(), "{path}: {text:?}");
        }
    }
}

#[test]
fn texts_the_fast_path_is_not_sure_of_go_to_tokenizers() {
    let (_, bytes) = &tokenizers()[0];
    let fast = AsciiWordPiece::from_tokenizer_json(bytes).unwrap();
    assert!(fast.ids("café au lait", 100).is_none(), "non-ASCII");
    assert!(fast.ids("fill the [MASK] in", 100).is_none(), "an added token's text");
    assert_eq!(fast.ids("hello, world", 100).unwrap().len(), 3);
    // A tokenizer of another kind has no fast path.
    let unigram = std::fs::read(repo_root().join("tests/fixtures/tiny/models/xlmr-minilm-nonorm-like/tokenizer.json")).unwrap();
    assert!(AsciiWordPiece::from_tokenizer_json(&unigram).is_none());
    let cased = String::from_utf8(bytes.clone()).unwrap().replace("\"lowercase\":true", "\"lowercase\":false");
    assert!(AsciiWordPiece::from_tokenizer_json(cased.as_bytes()).is_none(), "cased BERT keeps its case: not this path");
}
