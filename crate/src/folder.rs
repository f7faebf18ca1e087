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
    /// A token → vector table averaged over a text (sentence-transformers' `StaticEmbedding`, and
    /// the module list model2vec writes beside its own files).
    StaticEmbedding,
    Pooling,
    /// A linear layer with an activation on the pooled vector.
    Dense,
    Normalize,
}

/// The class names `modules.json` may give, and what each is.
const MODULE_CLASSES: [(&str, ModuleKind); 5] = [
    ("Transformer", ModuleKind::Transformer),
    ("StaticEmbedding", ModuleKind::StaticEmbedding),
    ("Pooling", ModuleKind::Pooling),
    ("Dense", ModuleKind::Dense),
    ("Normalize", ModuleKind::Normalize),
];

/// One entry of `modules.json`: what it is and the folder its files live in.
pub struct Module {
    pub kind: ModuleKind,
    pub path: String,
}

impl Module {
    /// The module's folder as a prefix of its files' paths: "" for the model folder itself.
    pub fn dir(&self) -> String {
        let dir = self.path.trim_end_matches('/');
        if dir.is_empty() || dir == "." {
            String::new()
        } else {
            format!("{dir}/")
        }
    }

    /// The module's own config file (`1_Pooling/config.json`).
    pub fn config_file(&self) -> String {
        format!("{}{CONFIG}", self.dir())
    }

    /// The module's weight files, in order of preference (a Dense module has one of them).
    pub fn weight_files(&self) -> Vec<String> {
        [SAFETENSORS, PYTORCH_BIN].iter().map(|name| format!("{}{name}", self.dir())).collect()
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
        let Some(&(_, kind)) = MODULE_CLASSES.iter().find(|(name, _)| *name == class) else {
            let known: Vec<&str> = MODULE_CLASSES.iter().map(|(name, _)| *name).collect();
            return Err(EmbedError::config(
                MODULES,
                format!("module type {type_name:?} is not supported (webembed runs {} modules)", known.join(", ")),
            ));
        };
        let path = match entry.get("path") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(path)) => path.clone(),
            Some(other) => return Err(EmbedError::config(MODULES, format!("module path must be a string; got {other}"))),
        };
        // "." is how model2vec names the folder itself.
        if path != "." {
            check_inside(MODULES, "path", &path)?;
        }
        out.push(Module { kind, path });
    }
    Ok(out)
}

/// The modules of a folder: its `modules.json` (parsed), or, without one, a plain transformers
/// folder (sentence-transformers wraps it in a Transformer and mean pooling).
pub fn modules_of(modules_json: Option<&[u8]>) -> Result<Option<Vec<Module>>> {
    modules_json.map(|bytes| modules(&parse_json(MODULES, bytes)?)).transpose()
}

/// Where a folder's files are, as its `modules.json` lays them out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderPlan {
    /// JSON files the folder must have beyond the optional ones: the input module's config and
    /// tokenizer, and each module's config.
    pub required: Vec<String>,
    /// The input module's folder, as a prefix of its weight files' paths ("" for the folder itself).
    pub weights_dir: String,
    /// The tokenizer the model reads.
    pub tokenizer: String,
    /// Per module with weights of its own (Dense): its weight files, in order of preference.
    pub module_weights: Vec<Vec<String>>,
}

/// The plan of a folder with this `modules.json` (None: a plain transformers folder).
pub fn folder_plan(modules_json: Option<&[u8]>) -> Result<FolderPlan> {
    let modules = modules_of(modules_json)?;
    let mut plan =
        FolderPlan { required: Vec::new(), weights_dir: String::new(), tokenizer: TOKENIZER.to_string(), module_weights: Vec::new() };
    let input = modules.as_ref().and_then(|m| m.first()).filter(|m| m.kind == ModuleKind::StaticEmbedding);
    match input {
        // A static model's table and tokenizer sit in its module's folder; config.json, if any, is model2vec's.
        Some(module) => {
            plan.weights_dir = module.dir();
            plan.tokenizer = format!("{}{TOKENIZER}", module.dir());
            plan.required.push(plan.tokenizer.clone());
        }
        None => plan.required.extend(REQUIRED_CONFIGS.iter().map(|s| s.to_string())),
    }
    for module in modules.iter().flatten() {
        match module.kind {
            ModuleKind::Pooling => plan.required.push(module.config_file()),
            ModuleKind::Dense => {
                plan.required.push(module.config_file());
                plan.module_weights.push(module.weight_files());
            }
            ModuleKind::Transformer | ModuleKind::StaticEmbedding | ModuleKind::Normalize => {}
        }
    }
    Ok(plan)
}

/// `weight_files` for a folder whose input module keeps its weights in `dir` (see `FolderPlan`):
/// the float files there; the q8 file, which `webembed quantize` writes, stays in the folder itself.
pub fn weight_files_in(dir: &str, dtype: Dtype) -> Vec<(String, WeightFile)> {
    weight_files(dtype)
        .into_iter()
        .map(|f| (if f.name == SAFETENSORS_Q8 { f.name.to_string() } else { format!("{dir}{}", f.name) }, f))
        .collect()
}

/// `unasked_weight_files` in `dir`, as `weight_files_in` places them.
pub fn unasked_weight_files_in(dir: &str) -> Vec<(String, WeightFile, Dtype)> {
    unasked_weight_files()
        .into_iter()
        .map(|(f, dtype)| (if f.name == SAFETENSORS_Q8 { f.name.to_string() } else { format!("{dir}{}", f.name) }, f, dtype))
        .collect()
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
    fn the_plan_follows_modules_json() {
        let json = br#"[{"path":"","type":"sentence_transformers.models.Transformer"},
            {"path":"1_Pooling/","type":"sentence_transformers.models.Pooling"},
            {"path":"2_Dense","type":"sentence_transformers.models.Dense"},
            {"path":"3_Normalize","type":"sentence_transformers.models.Normalize"}]"#;
        let plan = folder_plan(Some(json)).unwrap();
        assert_eq!(plan.required, [CONFIG, TOKENIZER, "1_Pooling/config.json", "2_Dense/config.json"]);
        assert_eq!(plan.module_weights, [["2_Dense/model.safetensors", "2_Dense/pytorch_model.bin"]]);
        assert_eq!(plan.weights_dir, "");
        let plain = folder_plan(None).unwrap();
        assert_eq!(plain.required, [CONFIG, TOKENIZER]);
        // sentence-transformers 3-5 keep a static model in a module folder; model2vec names the folder ".".
        let json = br#"[{"path":"0_StaticEmbedding","type":"sentence_transformers.models.StaticEmbedding"}]"#;
        let plan = folder_plan(Some(json)).unwrap();
        assert_eq!(
            (plan.required.as_slice(), plan.weights_dir.as_str()),
            (&["0_StaticEmbedding/tokenizer.json".to_string()][..], "0_StaticEmbedding/")
        );
        let names: Vec<String> = weight_files_in(&plan.weights_dir, Dtype::Q8).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names[..2], [SAFETENSORS_Q8.to_string(), "0_StaticEmbedding/model.safetensors".to_string()]);
        let json = br#"[{"path":".","type":"sentence_transformers.models.StaticEmbedding"},{"path":"1_Normalize","type":"sentence_transformers.models.Normalize"}]"#;
        assert_eq!(folder_plan(Some(json)).unwrap().tokenizer, TOKENIZER);
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
            let err = folder_plan(Some(json.as_bytes())).unwrap_err();
            assert_eq!(err.code(), "E_CONFIG", "{escape}");
            assert!(err.to_string().contains(MODULES), "{err}");
        }
        let json = br#"[{"path":7,"type":"sentence_transformers.models.Pooling"}]"#;
        assert_eq!(folder_plan(Some(json)).unwrap_err().code(), "E_CONFIG");
    }

    #[test]
    fn html_is_named_as_html() {
        let err = parse_json(CONFIG, b"<!doctype html><html>").unwrap_err();
        assert!(err.to_string().contains("is HTML"), "{err}");
    }
}
