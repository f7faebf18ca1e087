//! The wasm-bindgen surface: converts JS values to engine types and engine errors to JS `Error`s
//! with a stable `code`. No logic lives here.

use std::sync::Mutex;

use wasm_bindgen::prelude::*;

use crate::weights::Weights;
use crate::{check_fits, EmbedError, Embedder, ModelFiles, ModelSpec, WASM32_WEIGHT_BUDGET};

static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

fn js_error(err: EmbedError) -> JsValue {
    let error = js_sys::Error::new(&err.to_string());
    let _ = js_sys::Reflect::set(&error, &"code".into(), &err.code().into());
    error.into()
}

/// A panic aborts the instance; keep its message so the JS layer can report it before it
/// replaces the instance with a fresh one.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = info.to_string();
        }
    }));
}

#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> String {
    LAST_PANIC.lock().map(|s| s.clone()).unwrap_or_default()
}

/// Bytes of linear memory this instance holds, for leak checks.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) * 65536) as f64
}

/// The module config files (e.g. `1_Pooling/config.json`) a folder's `modules.json` asks for.
#[wasm_bindgen(js_name = moduleConfigFiles)]
pub fn module_config_files(modules_json: Option<Vec<u8>>) -> Result<Vec<String>, JsValue> {
    crate::spec::module_config_files(modules_json.as_deref()).map_err(js_error)
}

/// The shard files a `model.safetensors.index.json` lists.
#[wasm_bindgen(js_name = shardFiles)]
pub fn shard_files(index_json: Vec<u8>) -> Result<Vec<String>, JsValue> {
    crate::weights::shard_files(&index_json).map_err(js_error)
}

/// Collects a model folder: config files whole, safetensors weights tensor by tensor (so a
/// weight file never sits in wasm memory beside the tensors made from it).
#[wasm_bindgen]
pub struct ModelLoader {
    files: ModelFiles,
    weights: Weights,
}

#[wasm_bindgen]
impl ModelLoader {
    #[wasm_bindgen(constructor)]
    pub fn new() -> ModelLoader {
        ModelLoader { files: ModelFiles::new(), weights: Weights::new("model.safetensors") }
    }

    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&mut self, name: String, bytes: Vec<u8>) {
        self.files.insert(name, bytes);
    }

    /// Reads the configs added so far and refuses a model too large for wasm32, before any
    /// weight is downloaded.
    #[wasm_bindgen(js_name = checkSpec)]
    pub fn check_spec(&self) -> Result<(), JsValue> {
        let spec = ModelSpec::from_files(&self.files).map_err(js_error)?;
        check_fits(&spec, WASM32_WEIGHT_BUDGET).map_err(js_error)
    }

    #[wasm_bindgen(js_name = addTensorF32)]
    pub fn add_tensor_f32(&mut self, name: &str, shape: Vec<usize>, values: Vec<f32>) -> Result<(), JsValue> {
        self.weights.add_f32(name, &shape, values).map_err(js_error)
    }

    /// `bfloat16` selects bfloat16 over IEEE float16.
    #[wasm_bindgen(js_name = addTensorHalf)]
    pub fn add_tensor_half(&mut self, name: &str, shape: Vec<usize>, words: Vec<u16>, bfloat16: bool) -> Result<(), JsValue> {
        self.weights.add_half(name, &shape, &words, bfloat16).map_err(js_error)
    }

    pub fn build(self) -> Result<Engine, JsValue> {
        Embedder::from_parts(self.files, self.weights).map(|inner| Engine { inner }).map_err(js_error)
    }
}

impl Default for ModelLoader {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
pub struct Engine {
    inner: Embedder,
}

#[wasm_bindgen]
impl Engine {
    #[wasm_bindgen(getter)]
    pub fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    #[wasm_bindgen(getter, js_name = maxSeqLength)]
    pub fn max_seq_length(&self) -> usize {
        self.inner.spec().max_seq_length
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.inner.backend_name().to_string()
    }

    /// The model's named prompts (`config_sentence_transformers.json`), as a plain object.
    #[wasm_bindgen(getter)]
    pub fn prompts(&self) -> Result<JsValue, JsValue> {
        serde_wasm_bindgen::to_value(&self.inner.spec().prompts).map_err(|e| e.into())
    }

    pub fn tokenize(&self, text: &str, prompt_name: Option<String>, prompt: Option<String>) -> Result<Vec<u32>, JsValue> {
        let prompt = self.inner.resolve_prompt(prompt_name.as_deref(), prompt.as_deref()).map_err(js_error)?;
        self.inner.tokenize(text, prompt.as_deref()).map(|t| t.ids).map_err(js_error)
    }

    /// Panics on purpose, so tests can prove a trapped instance is replaced and nothing leaks to the page.
    #[wasm_bindgen(js_name = panicForTest)]
    pub fn panic_for_test(&self) {
        panic!("deliberate panic for the crash-recovery test");
    }

    /// Returns `texts.length × dimension` floats, row-major.
    pub fn encode(
        &mut self,
        texts: Vec<String>,
        prompt_name: Option<String>,
        prompt: Option<String>,
        batch_size: usize,
    ) -> Result<Vec<f32>, JsValue> {
        let prompt = self.inner.resolve_prompt(prompt_name.as_deref(), prompt.as_deref()).map_err(js_error)?;
        self.inner.encode(&texts, prompt.as_deref(), batch_size).map_err(js_error)
    }
}
