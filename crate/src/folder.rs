//! The files of a model folder, in one place: their names, which ones a folder must have, the
//! order in which weight layouts are preferred, and the further files that `modules.json` and a
//! shard index name. The JS loader asks for these lists (see `wasm.rs`) instead of keeping a copy.
//!
//! A leaf: it imports nothing of the crate but `error`, so `files`, `spec` and `weights` can all
//! read it without importing each other.

use serde_json::Value;

use crate::error::{EmbedError, Result};

pub const CONFIG: &str = "config.json";
pub const TOKENIZER: &str = "tokenizer.json";
pub const TOKENIZER_CONFIG: &str = "tokenizer_config.json";
pub const MODULES: &str = "modules.json";
pub const SENTENCE_BERT_CONFIG: &str = "sentence_bert_config.json";
pub const SENTENCE_TRANSFORMERS_CONFIG: &str = "config_sentence_transformers.json";

/// Config files every folder must have.
pub const REQUIRED_CONFIGS: &[&str] = &[CONFIG, TOKENIZER];
/// Config files sentence-transformers reads when they are present.
pub const OPTIONAL_CONFIGS: &[&str] = &[TOKENIZER_CONFIG, MODULES, SENTENCE_BERT_CONFIG, SENTENCE_TRANSFORMERS_CONFIG];

pub const SAFETENSORS: &str = "model.safetensors";
pub const SHARD_INDEX: &str = "model.safetensors.index.json";
pub const PYTORCH_BIN: &str = "pytorch_model.bin";
/// f16 weights as transformers' `save_pretrained(variant="fp16")` names them.
pub const SAFETENSORS_F16: &str = "model.fp16.safetensors";
/// q8 weights as `webembed quantize` writes them (see the quantize module).
pub const SAFETENSORS_Q8: &str = "model.q8.safetensors";

/// How a weight file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightLayout {
    /// One safetensors file.
    Safetensors,
    /// An index naming safetensors shards (see `shard_files`).
    ShardIndex,
    /// `torch.save`'s zip of a pickled state dict.
    PytorchBin,
}

impl WeightLayout {
    pub fn name(self) -> &'static str {
        match self {
            WeightLayout::Safetensors => "safetensors",
            WeightLayout::ShardIndex => "shard-index",
            WeightLayout::PytorchBin => "pytorch-bin",
        }
    }
}

/// The precision a user asks the weights in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    /// int8 matrices (the quantize module): a q8 file, or float weights quantized at load.
    Q8,
}

impl Dtype {
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
            Dtype::Q8 => "q8",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "f32" => Ok(Dtype::F32),
            "f16" => Ok(Dtype::F16),
            "q8" => Ok(Dtype::Q8),
            other => Err(EmbedError::Input(format!("dtype must be 'f32', 'f16' or 'q8'; got {other:?}"))),
        }
    }
}

/// One candidate weight file: the loader takes the first of the list that the folder has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightFile {
    pub name: &'static str,
    pub layout: WeightLayout,
    /// True for a lighter variant of the f32 weights (the loader says when it falls back from one).
    pub variant: bool,
}

const fn file(name: &'static str, layout: WeightLayout, variant: bool) -> WeightFile {
    WeightFile { name, layout, variant }
}

/// The f32 weight layouts in order of preference: one file, shards with an index, PyTorch's pickle.
const FLOAT_WEIGHTS: [WeightFile; 3] = [
    file(SAFETENSORS, WeightLayout::Safetensors, false),
    file(SHARD_INDEX, WeightLayout::ShardIndex, false),
    file(PYTORCH_BIN, WeightLayout::PytorchBin, false),
];

/// The weight files to look for, in order, when no dtype was asked for: the float weights, else
/// the q8 file (a folder `webembed quantize --out` wrote holds only that). Each with the dtype it loads as.
pub fn unasked_weight_files() -> Vec<(WeightFile, Dtype)> {
    let mut files: Vec<_> = FLOAT_WEIGHTS.iter().map(|f| (*f, Dtype::F32)).collect();
    files.push((file(SAFETENSORS_Q8, WeightLayout::Safetensors, false), Dtype::Q8));
    files
}

/// The weight files to look for, in order, for `dtype`.
pub fn weight_files(dtype: Dtype) -> Vec<WeightFile> {
    let mut files = Vec::with_capacity(4);
    match dtype {
        Dtype::F16 => files.push(file(SAFETENSORS_F16, WeightLayout::Safetensors, true)),
        Dtype::Q8 => files.push(file(SAFETENSORS_Q8, WeightLayout::Safetensors, true)),
        Dtype::F32 => {}
    }
    files.extend(FLOAT_WEIGHTS);
    files
}

/// Parses a JSON file of the folder; an HTML answer (a server's error page) is named as such.
pub fn parse_json(file: &str, bytes: &[u8]) -> Result<Value> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        // Python's json (and so transformers) refuses a BOM too; say what it is.
        return Err(EmbedError::config(file, "starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without a BOM"));
    }
    serde_json::from_slice(bytes).map_err(|err| {
        let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).chars().filter(|c| !c.is_control()).collect();
        let looks_like_html = head.trim_start().starts_with('<');
        if looks_like_html {
            EmbedError::config(
                file,
                format!(
                    "is HTML, not JSON (it starts with {:?}); the server answered with a web page, so the model URL is probably wrong",
                    head.chars().take(40).collect::<String>()
                ),
            )
        } else {
            EmbedError::config(file, format!("is not valid JSON: {err}"))
        }
    })
}

/// The shard files a `model.safetensors.index.json` names, each once, in order of first use.
pub fn shard_files(index_json: &[u8]) -> Result<Vec<String>> {
    let index = parse_json(SHARD_INDEX, index_json)?;
    let map = index
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| EmbedError::weights(SHARD_INDEX, "has no `weight_map` object"))?;
    let mut files: Vec<String> = Vec::new();
    for file in map.values() {
        let file = file.as_str().ok_or_else(|| EmbedError::weights(SHARD_INDEX, "maps a tensor to a non-string file"))?;
        check_inside(SHARD_INDEX, "weight_map", file)?;
        if !files.iter().any(|f| f == file) {
            files.push(file.to_string());
        }
    }
    Ok(files)
}

/// Refuses a path that a model file supplies (`entry` names where) unless it stays inside the
/// folder however it is resolved: as a URL against the folder URL (where `%2e%2e`, a scheme or
/// `//host` escape) and as a path on disk (where `..`, `/` and `\` do).
pub fn check_inside(file: &str, entry: &str, path: &str) -> Result<()> {
    let refuse =
        |why: &str| Err(EmbedError::config(file, format!("`{entry}` names {path:?}, {why}; every path must stay inside the model folder")));
    if path.len() > 512 {
        return refuse("which is too long");
    }
    if path.chars().any(|c| c.is_control() || matches!(c, '\\' | '%' | '?' | '#' | ':')) {
        return refuse("which holds a character a relative file path cannot have (\\ % ? # : or a control character)");
    }
    if path.starts_with('/') {
        return refuse("an absolute path");
    }
    if path.split('/').any(|segment| segment == ".." || segment == ".") {
        return refuse("which steps out of the folder or through `.`");
    }
    Ok(())
}

/// The sentence-transformers modules webembed runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleKind {
    Transformer,
    Pooling,
    Normalize,
}

/// One entry of `modules.json`: what it is and the folder its files live in.
pub struct Module {
    pub kind: ModuleKind,
    pub path: String,
}

impl Module {
    /// The module's own config file (`1_Pooling/config.json`).
    pub fn config_file(&self) -> String {
        let dir = self.path.trim_end_matches('/');
        if dir.is_empty() {
            CONFIG.to_string()
        } else {
            format!("{dir}/{CONFIG}")
        }
    }
}

/// The modules `modules.json` lists, in order.
pub fn modules(modules_json: &Value) -> Result<Vec<Module>> {
    let list = modules_json.as_array().ok_or_else(|| EmbedError::config(MODULES, "must be a JSON array of modules"))?;
    let mut out = Vec::new();
    for entry in list {
        let type_name = entry.get("type").and_then(Value::as_str).unwrap_or("");
        // 5.x writes `sentence_transformers.models.Pooling`; 6.x moved the classes into
        // submodules, so only the final class name is stable across versions.
        let class = type_name.rsplit('.').next().unwrap_or("");
        let kind = match class {
            "Transformer" => ModuleKind::Transformer,
            "Pooling" => ModuleKind::Pooling,
            "Normalize" => ModuleKind::Normalize,
            _ => {
                return Err(EmbedError::config(
                    MODULES,
                    format!("module type {type_name:?} is not supported (webembed runs Transformer, Pooling and Normalize modules)"),
                ))
            }
        };
        let path = match entry.get("path") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(path)) => path.clone(),
            Some(other) => return Err(EmbedError::config(MODULES, format!("module path must be a string; got {other}"))),
        };
        check_inside(MODULES, "path", &path)?;
        out.push(Module { kind, path });
    }
    Ok(out)
}

/// The module config files (`1_Pooling/config.json`) a folder must also provide, given its
/// `modules.json` (none without one).
pub fn module_config_files(modules_json: Option<&[u8]>) -> Result<Vec<String>> {
    let Some(bytes) = modules_json else { return Ok(Vec::new()) };
    let parsed = parse_json(MODULES, bytes)?;
    Ok(modules(&parsed)?.iter().filter(|m| m.kind == ModuleKind::Pooling).map(Module::config_file).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_prefers_its_variant_then_the_float_layouts() {
        let names: Vec<&str> = weight_files(Dtype::F16).iter().map(|f| f.name).collect();
        assert_eq!(names, [SAFETENSORS_F16, SAFETENSORS, SHARD_INDEX, PYTORCH_BIN]);
        let names: Vec<&str> = weight_files(Dtype::F32).iter().map(|f| f.name).collect();
        assert_eq!(names, [SAFETENSORS, SHARD_INDEX, PYTORCH_BIN]);
        assert_eq!(weight_files(Dtype::Q8)[0].name, SAFETENSORS_Q8);
    }

    #[test]
    fn module_configs_follow_modules_json() {
        let json = br#"[{"path":"","type":"sentence_transformers.models.Transformer"},
            {"path":"1_Pooling/","type":"sentence_transformers.models.Pooling"},
            {"path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#;
        assert_eq!(module_config_files(Some(json)).unwrap(), ["1_Pooling/config.json"]);
        assert!(module_config_files(None).unwrap().is_empty());
    }

    #[test]
    fn shards_outside_the_folder_are_refused() {
        for escape in
            ["../x.safetensors", "%2e%2e/x.safetensors", "file:///etc/passwd", "http://other/x", "//other/x", "/abs", "a\\..\\b", "a/./b"]
        {
            let json = serde_json::json!({ "weight_map": { "a": escape } }).to_string();
            let err = shard_files(json.as_bytes()).unwrap_err();
            assert_eq!(err.code(), "E_CONFIG", "{escape}");
            assert!(err.to_string().contains(SHARD_INDEX) && err.to_string().contains("weight_map"), "{err}");
        }
        let files = shard_files(br#"{"weight_map":{"a":"1.safetensors","b":"2.safetensors","c":"1.safetensors"}}"#).unwrap();
        assert_eq!(files, ["1.safetensors", "2.safetensors"]);
    }

    #[test]
    fn module_paths_outside_the_folder_are_refused() {
        for escape in ["../x", "/etc/ssl", "http://127.0.0.1:9/x", "%2e%2e/x", "1_Pooling/../../x"] {
            let json = serde_json::json!([{ "path": escape, "type": "sentence_transformers.models.Pooling" }]).to_string();
            let err = module_config_files(Some(json.as_bytes())).unwrap_err();
            assert_eq!(err.code(), "E_CONFIG", "{escape}");
            assert!(err.to_string().contains(MODULES), "{err}");
        }
        let json = br#"[{"path":7,"type":"sentence_transformers.models.Pooling"}]"#;
        assert_eq!(module_config_files(Some(json)).unwrap_err().code(), "E_CONFIG");
    }

    #[test]
    fn html_is_named_as_html() {
        let err = parse_json(CONFIG, b"<!doctype html><html>").unwrap_err();
        assert!(err.to_string().contains("is HTML"), "{err}");
    }
}
