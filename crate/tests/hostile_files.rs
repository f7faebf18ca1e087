//! Hostile model folders, table-driven: each case changes one file of a good tiny model and
//! must end as a clear error with the expected code naming the file, never a panic, and the
//! untouched folder must load afterwards.

mod common;

use common::tiny_dir;
use serde_json::{json, Value};
use webembed::{Engine, ModelFiles};

fn folder(name: &str) -> ModelFiles {
    ModelFiles::read_dir(&tiny_dir().join("models").join(name)).unwrap()
}

fn with_config(change: impl Fn(&mut Value)) -> ModelFiles {
    let mut files = folder("e5-small-v2-like");
    let mut config: Value = serde_json::from_slice(files.get("config.json").unwrap()).unwrap();
    change(&mut config);
    files.insert("config.json", serde_json::to_vec(&config).unwrap());
    files
}

fn expect_error(what: &str, files: ModelFiles, code: &str, names: &str) {
    match Engine::from_files(files) {
        Ok(_) => panic!("{what}: loaded"),
        Err(err) => {
            assert_eq!(err.code(), code, "{what}: {err}");
            assert!(err.to_string().contains(names), "{what}: {err} does not name {names}");
        }
    }
}

#[test]
fn config_numbers_out_of_range_are_config_errors() {
    let cases: Vec<(&str, Value)> = vec![
        ("hidden_size", json!(0)),
        ("hidden_size", json!(-384)),
        ("hidden_size", json!(4294967680u64)), // 2^32 + 384: read as 384 by a 32-bit usize
        ("hidden_size", json!(384.5)),
        ("hidden_size", json!("384")),
        ("num_hidden_layers", json!(0)),
        ("num_attention_heads", json!(1e9)),
        ("intermediate_size", json!(null)),
        ("vocab_size", json!(-1)),
        ("max_position_embeddings", json!(0)),
        ("layer_norm_eps", json!(-1)),
        ("layer_norm_eps", json!("abc")),
        ("layer_norm_eps", json!(0)),
        ("pad_token_id", json!(4294967295u64)),
        ("pad_token_id", json!(1200)), // past the vocabulary
        ("type_vocab_size", json!(-2)),
        ("hidden_act", json!("swish")),
        ("model_type", json!("gpt2")),
    ];
    for (key, value) in cases {
        let files = with_config(|c| {
            c[key] = value.clone();
            if key == "model_type" {
                c["architectures"] = json!(["GPT2Model"]);
            }
        });
        expect_error(&format!("{key} = {value}"), files, "E_CONFIG", "config.json");
    }
    Engine::from_files(folder("e5-small-v2-like")).expect("the untouched folder loads");
}

#[test]
fn bad_sentence_transformers_configs_are_config_errors() {
    for (file, text) in [
        ("sentence_bert_config.json", r#"{"max_seq_length": -1}"#),
        ("sentence_bert_config.json", r#"{"max_seq_length": "64"}"#),
        ("config.json", "\u{feff}{}"),
        ("modules.json", r#"[{"path": "../x", "type": "sentence_transformers.models.Pooling"}]"#),
        ("tokenizer_config.json", r#"{"model_max_length": "512"}"#),
        // Every legacy mode written false: sentence-transformers refuses it too; not mean pooling.
        (
            "1_Pooling/config.json",
            r#"{"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": false,
            "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}"#,
        ),
    ] {
        let mut files = folder("e5-small-v2-like");
        files.insert(file, text.as_bytes().to_vec());
        expect_error(&format!("{file}: {text}"), files, "E_CONFIG", file);
    }
    let mut files = folder("e5-small-v2-like");
    files.insert("config.json", "\u{feff}{}".as_bytes().to_vec());
    assert!(Engine::from_files(files).err().unwrap().to_string().contains("BOM"));
    for (what, bytes) in [
        ("50 MB of whitespace", vec![b' '; 50 << 20]),
        ("invalid UTF-8", b"{\"model_type\": \"\xff\xfe\"}".to_vec()),
        ("nesting 10^5 deep", [vec![b'['; 100_000], vec![b']'; 100_000]].concat()),
    ] {
        let mut files = folder("e5-small-v2-like");
        files.insert("config.json", bytes);
        expect_error(what, files, "E_CONFIG", "config.json");
    }
}

#[test]
fn tokenizers_that_cannot_work_fail_at_load() {
    let mut files = folder("e5-small-v2-like");
    let mut tokenizer: Value = serde_json::from_slice(files.get("tokenizer.json").unwrap()).unwrap();
    tokenizer["model"]["vocab"] = json!({});
    files.insert("tokenizer.json", serde_json::to_vec(&tokenizer).unwrap());
    expect_error("empty WordPiece vocab", files, "E_TOKENIZER", "tokenizer.json");
}

#[test]
fn hostile_weight_files_are_weight_errors() {
    let good = folder("e5-small-v2-like").take("model.safetensors").unwrap();
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&good[8..8 + header_len]).unwrap();
    let with_header = |header: &Value| {
        let mut text = serde_json::to_vec(header).unwrap();
        while !(8 + text.len()).is_multiple_of(8) {
            text.push(b' ');
        }
        let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
        bytes.extend(text);
        bytes.extend(&good[8 + header_len..]);
        bytes
    };
    let names: Vec<String> = header.as_object().unwrap().keys().filter(|k| *k != "__metadata__").cloned().collect();
    let mut overlapping = header.clone();
    let first = overlapping[&names[0]]["data_offsets"].clone();
    overlapping[&names[1]]["data_offsets"] = first;
    let mut huge_shape = header.clone();
    huge_shape[&names[0]]["shape"] = json!([u64::MAX, u64::MAX]);
    let mut unknown_dtype = header.clone();
    unknown_dtype[&names[0]]["dtype"] = json!("F128");
    let mut long_header = (u64::MAX / 2).to_le_bytes().to_vec();
    long_header.extend(&good[8..]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("zero bytes", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("header length past the file", long_header),
        ("overlapping tensors", with_header(&overlapping)),
        ("shape whose product overflows", with_header(&huge_shape)),
        ("unknown dtype", with_header(&unknown_dtype)),
        ("empty header", with_header(&json!({}))),
    ];
    for (what, bytes) in cases {
        let mut files = folder("e5-small-v2-like");
        files.insert("model.safetensors", bytes);
        expect_error(what, files, "E_WEIGHTS", "");
    }
}

#[test]
fn hostile_pytorch_bins_are_weight_errors() {
    let good = folder("e5-small-v2-like-bin").take("pytorch_model.bin").unwrap();
    for (what, bytes) in
        [("zero bytes", Vec::new()), ("not a zip", b"PK\x03\x04 not really".to_vec()), ("truncated", good[..good.len() / 3].to_vec())]
    {
        let mut files = folder("e5-small-v2-like-bin");
        files.insert("pytorch_model.bin", bytes);
        expect_error(what, files, "E_WEIGHTS", "pytorch_model.bin");
    }
    Engine::from_files(folder("e5-small-v2-like-bin")).expect("the untouched folder loads");
}

/// The tiny WordPiece tokenizer.json with `change` applied.
fn with_tokenizer(change: impl Fn(&mut Value)) -> ModelFiles {
    let mut files = folder("e5-small-v2-like");
    let mut tokenizer: Value = serde_json::from_slice(files.get("tokenizer.json").unwrap()).unwrap();
    change(&mut tokenizer);
    files.insert("tokenizer.json", serde_json::to_vec(&tokenizer).unwrap());
    files
}

fn split_on(pattern: &str) -> impl Fn(&mut Value) + '_ {
    move |t: &mut Value| {
        t["pre_tokenizer"] = json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false},
            {"type": "BertPreTokenizer"}]});
    }
}

#[test]
fn hostile_tokenizers_load_and_answer_in_bounded_time() {
    use std::time::{Duration, Instant};
    let within = |what: &str, limit: Duration, run: &dyn Fn()| {
        let start = Instant::now();
        run();
        let took = start.elapsed();
        eprintln!("{what}: {took:?}");
        assert!(took < limit, "{what} took {took:?}");
    };
    // 10^5 added tokens: tokenizers numbers them past its vocabulary (ids up to ~10^5, beyond
    // this model's 1200 rows). The folder loads in bounded time; a text that meets one is E_CONFIG
    // naming tokenizer.json, and other texts still embed.
    let many = with_tokenizer(|t| {
        let added: Vec<Value> = (0..100_000)
            .map(|i| {
                json!({"id": 5 + i, "content": format!("tok{i}x"), "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": true, "special": false})
            })
            .collect();
        t["added_tokens"] = Value::Array(added);
    });
    within("10^5 added tokens", Duration::from_secs(20), &|| {
        let mut engine = Engine::from_files(many.clone()).expect("10^5 added tokens load");
        let err = engine.encode(&["say tok99999x"], None, 1).unwrap_err();
        assert_eq!(err.code(), "E_CONFIG", "{err}");
        assert!(err.to_string().contains("tokenizer.json"), "{err}");
        engine.encode(&["a plain text"], None, 1).unwrap();
    });
    // No model, or a model of an unknown type: E_TOKENIZER at load.
    for (what, change) in [
        ("no model", Box::new(|t: &mut Value| drop(t.as_object_mut().unwrap().remove("model"))) as Box<dyn Fn(&mut Value)>),
        ("an unknown model type", Box::new(|t: &mut Value| t["model"]["type"] = json!("Magic"))),
        ("a model that is a number", Box::new(|t: &mut Value| t["model"] = json!(7))),
    ] {
        expect_error(what, with_tokenizer(change), "E_TOKENIZER", "tokenizer.json");
    }
    // Templates tokenizers would panic on at encode: refused at load.
    for (what, piece) in [
        ("a template naming an undefined special token", json!({"SpecialToken": {"id": "[NOPE]", "type_id": 0}})),
        ("a single-text template with $B", json!({"Sequence": {"id": "B", "type_id": 0}})),
    ] {
        let files = with_tokenizer(|t| {
            assert_eq!(t["post_processor"]["type"], "TemplateProcessing");
            t["post_processor"]["single"].as_array_mut().unwrap().push(piece.clone());
        });
        expect_error(what, files, "E_TOKENIZER", "post_processor.single");
    }
    // Nested repetition: the regex crate refuses what would compile too large, at load.
    let huge = with_tokenizer(split_on("((((a{100}){100}){100}){100})"));
    within("a regex too large to compile", Duration::from_secs(10), &|| {
        expect_error("huge regex", huge.clone(), "E_TOKENIZER", "tokenizer.json");
    });
    // Catastrophic backtracking: fancy-regex gives up after its backtrack limit.
    let backtracking = with_tokenizer(split_on("(?=(a+)+b)a"));
    let text = format!("{}c", "a".repeat(5_000));
    within("a backtracking regex on 5000 a's", Duration::from_secs(20), &|| {
        let outcome = Engine::from_files(backtracking.clone()).map(|mut e| e.encode(&[text.as_str()], None, 1));
        match outcome {
            Ok(Ok(_)) => {}
            Ok(Err(err)) | Err(err) => assert!(["E_INPUT", "E_TOKENIZER"].contains(&err.code()), "{err}"),
        }
    });
}
