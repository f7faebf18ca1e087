//! The wasm-bindgen surface: converts JS values to engine types and engine errors to JS `Error`s
//! with a stable `code`. No logic lives here.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Mutex;

use wasm_bindgen::prelude::*;

use crate::backend::webgpu::device::{live_buffer_count, DeviceOptions, GpuDevice};
use crate::backend::webgpu::kernels::check::check_kernels as run_kernel_checks;
use crate::backend::webgpu::kernels::matmul::bench::time_matmul;
use crate::folder::{self, Dtype};
use crate::model;
use crate::search::documents::{utf16_spans, Documents};
use crate::search::fusion::{self, Fusion, RRF_K};
use crate::search::keywords::KeywordIndex;
use crate::search::metrics::{self, RankedQuery};
use crate::search::store::VectorKind;
use crate::tokenize::TextTokenizer;
use crate::weights::Weights;
use crate::{check_fits, EmbedError, Engine, ModelFiles, ModelSpec, WASM32_WEIGHT_BUDGET};

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

/// The config files of a model folder that may be there: `{ optional: [...], modules }`
/// (`modules` names the file whose bytes `requiredFiles`, `weightFiles` and `moduleWeightFiles` read).
#[wasm_bindgen(js_name = configFiles)]
pub fn config_files() -> Result<JsValue, JsValue> {
    // config.json is asked for here too: a static model's folder may not have one, and
    // `requiredFiles` says when it must.
    let optional: Vec<&str> = folder::OPTIONAL_CONFIGS.iter().copied().chain([folder::CONFIG]).collect();
    let lists = serde_json::json!({ "optional": optional, "modules": folder::MODULES });
    js_sys::JSON::parse(&lists.to_string())
}

/// The JSON files a folder with this `modules.json` (undefined: none) must have: the input
/// module's config and tokenizer, each module's config.
#[wasm_bindgen(js_name = requiredFiles)]
pub fn required_files(modules_json: Option<Vec<u8>>) -> Result<Vec<String>, JsValue> {
    folder::folder_plan(modules_json.as_deref()).map(|plan| plan.required).map_err(js_error)
}

/// The weight files to try for `dtype`, in order: `[{ name, layout, variant, dtype }]` (layout:
/// 'safetensors' | 'shard-index' | 'pytorch-bin'; variant: a lighter copy of the f32 weights;
/// dtype: what the file loads as). With no dtype, whatever weights the folder has. Names are
/// paths in the folder (a static model's table may sit in its module's folder).
#[wasm_bindgen(js_name = weightFiles)]
pub fn weight_files(dtype: Option<String>, modules_json: Option<Vec<u8>>) -> Result<JsValue, JsValue> {
    let dir = folder::folder_plan(modules_json.as_deref()).map_err(js_error)?.weights_dir;
    let candidates: Vec<(String, folder::WeightFile, Dtype)> = match dtype {
        None => folder::unasked_weight_files_in(&dir),
        Some(name) => {
            let dtype = Dtype::parse(&name).map_err(js_error)?;
            folder::weight_files_in(&dir, dtype).into_iter().map(|(name, f)| (name, f, dtype)).collect()
        }
    };
    let files: Vec<serde_json::Value> = candidates
        .iter()
        .map(|(name, f, dtype)| serde_json::json!({ "name": name, "layout": f.layout.name(), "variant": f.variant, "dtype": dtype.name() }))
        .collect();
    js_sys::JSON::parse(&serde_json::Value::from(files).to_string())
}

/// The weight files of modules with weights of their own (Dense), per module in order of
/// preference: `[[name, …], …]`. A q8 file holds them too, so a folder without them is not refused here.
#[wasm_bindgen(js_name = moduleWeightFiles)]
pub fn module_weight_files(modules_json: Option<Vec<u8>>) -> Result<JsValue, JsValue> {
    let plan = folder::folder_plan(modules_json.as_deref()).map_err(js_error)?;
    js_sys::JSON::parse(&serde_json::Value::from(plan.module_weights).to_string())
}

/// Where a shard index's files are (a static model's module folder, or the folder itself).
#[wasm_bindgen(js_name = weightsDir)]
pub fn weights_dir(modules_json: Option<Vec<u8>>) -> Result<String, JsValue> {
    folder::folder_plan(modules_json.as_deref()).map(|plan| plan.weights_dir).map_err(js_error)
}

/// The q8 file's name, for the error that tells a float load of a q8-only folder what to ask for.
#[wasm_bindgen(js_name = q8WeightFile)]
pub fn q8_weight_file() -> String {
    folder::SAFETENSORS_Q8.to_string()
}

/// The shard files a `model.safetensors.index.json` lists.
#[wasm_bindgen(js_name = shardFiles)]
pub fn shard_files(index_json: Vec<u8>) -> Result<Vec<String>, JsValue> {
    folder::shard_files(&index_json).map_err(js_error)
}

/// Empty weights for a load of `dtype`.
fn dtype_weights(dtype: Dtype) -> Weights {
    match dtype {
        Dtype::Q8 => Weights::quantizing(folder::SAFETENSORS, model::quantized_in_q8),
        Dtype::F32 | Dtype::F16 => Weights::new(folder::SAFETENSORS),
    }
}

/// Collects a model folder: config files whole, safetensors weights tensor by tensor and large
/// tensors block of rows by block of rows (so neither a weight file nor, for q8, a whole f32
/// matrix ever sits in wasm memory beside what is made of it).
#[wasm_bindgen]
pub struct ModelLoader {
    files: ModelFiles,
    weights: Weights,
    /// Read by `checkSpec`, before any weight arrives (see `Engine::read_tokenizer`).
    tokenizer: Option<TextTokenizer>,
    /// The folder is read as a cross-encoder reranker (`asReranker`).
    reranker: bool,
}

#[wasm_bindgen]
impl ModelLoader {
    /// `dtype` 'q8' quantizes float matrices as they arrive; 'f32' (also for undefined) and
    /// 'f16' keep them as f32. Anything else is E_INPUT.
    #[wasm_bindgen(constructor)]
    pub fn new(dtype: JsValue) -> Result<ModelLoader, JsValue> {
        let name = if dtype.is_undefined() { Some("f32".to_string()) } else { dtype.as_string() };
        let name = name.unwrap_or_else(|| js_sys::JSON::stringify(&dtype).map(String::from).unwrap_or_else(|_| "?".into()));
        let dtype = Dtype::parse(&name).map_err(js_error)?;
        Ok(ModelLoader { files: ModelFiles::new(), weights: dtype_weights(dtype), tokenizer: None, reranker: false })
    }

    /// Reads the folder as a CrossEncoder reranker (its classification head too), not an embedding model.
    #[wasm_bindgen(js_name = asReranker)]
    pub fn as_reranker(&mut self) {
        self.reranker = true;
    }

    /// Loads the weights as `dtype` after all (a folder whose only weights are the q8 file):
    /// the configs and tokenizer already read stay. Only before any weight has arrived.
    #[wasm_bindgen(js_name = useDtype)]
    pub fn use_dtype(&mut self, dtype: &str) -> Result<(), JsValue> {
        self.weights = dtype_weights(Dtype::parse(dtype).map_err(js_error)?);
        Ok(())
    }

    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&mut self, name: String, bytes: Vec<u8>) {
        self.files.insert(name, bytes);
    }

    /// Reads the configs added so far and refuses a model too large for wasm32, before any
    /// weight is downloaded; then reads the tokenizer, while memory is still empty.
    #[wasm_bindgen(js_name = checkSpec)]
    pub fn check_spec(&mut self) -> Result<(), JsValue> {
        let spec = if self.reranker {
            crate::rerank::reranker_spec(&self.files).map(|(spec, _)| spec)
        } else {
            ModelSpec::from_files(&self.files)
        };
        let spec = spec.map_err(js_error)?;
        check_fits(&spec, WASM32_WEIGHT_BUDGET).map_err(js_error)?;
        self.tokenizer = Some(Engine::read_tokenizer(&mut self.files, &spec).map_err(js_error)?);
        Ok(())
    }

    /// Rows `firstRow..` of a float tensor of `shape` (all of it when `firstRow` is 0 and every
    /// value is given).
    #[wasm_bindgen(js_name = addTensorRows)]
    pub fn add_tensor_rows(&mut self, name: &str, shape: Vec<usize>, first_row: usize, values: Vec<f32>) -> Result<(), JsValue> {
        self.weights.add_rows(name, &shape, first_row, &values).map_err(js_error)
    }

    /// `addTensorRows` for float16 (`bfloat16` false) or bfloat16 words.
    #[wasm_bindgen(js_name = addTensorHalfRows)]
    pub fn add_tensor_half_rows(
        &mut self,
        name: &str,
        shape: Vec<usize>,
        first_row: usize,
        words: Vec<u16>,
        bfloat16: bool,
    ) -> Result<(), JsValue> {
        self.weights.add_half_rows(name, &shape, first_row, &words, bfloat16).map_err(js_error)
    }

    /// Checks a q8 file's `__metadata__` (JSON, or null when it has none) before its int8 tensors.
    #[wasm_bindgen(js_name = acceptQ8Metadata)]
    pub fn accept_q8_metadata(&mut self, file: &str, metadata_json: &str) -> Result<(), JsValue> {
        let metadata: Option<std::collections::HashMap<String, String>> = serde_json::from_str(metadata_json)
            .map_err(|e| js_error(EmbedError::weights(file, format!("__metadata__ is not an object of strings: {e}"))))?;
        self.weights.accept_q8_file(file, metadata.as_ref()).map_err(js_error)
    }

    /// An integer tensor (a model2vec token mapping), its values as i32.
    #[wasm_bindgen(js_name = addTensorIndices)]
    pub fn add_tensor_indices(&mut self, name: &str, shape: Vec<usize>, values: Vec<i32>) -> Result<(), JsValue> {
        self.weights.add_indices(name, &shape, values.into_iter().map(i64::from).collect()).map_err(js_error)
    }

    /// An I8 tensor of a q8 file.
    #[wasm_bindgen(js_name = addTensorI8)]
    pub fn add_tensor_i8(&mut self, name: &str, shape: Vec<usize>, values: Vec<i8>) -> Result<(), JsValue> {
        self.weights.add_i8(name, &shape, values).map_err(js_error)
    }

    /// The weights added so far (a q8 load's; or a `pytorch_model.bin` added as a file,
    /// quantized now) as a `model.q8.safetensors` file.
    #[wasm_bindgen(js_name = exportQ8)]
    pub fn export_q8(&mut self) -> Result<Vec<u8>, JsValue> {
        let spec = ModelSpec::from_files(&self.files).map_err(js_error)?;
        if self.weights.is_empty() {
            self.weights = Weights::quantized_from_float_files(&mut self.files, model::quantized_in_q8).map_err(js_error)?;
        }
        // Dense modules' weights go into the q8 file too, quantized like every linear layer.
        model::dense::read_files(&spec.dense, &mut self.files, &mut self.weights).map_err(js_error)?;
        self.weights.to_q8_safetensors().map_err(js_error)
    }

    pub fn build(self) -> Result<JsEngine, JsValue> {
        let mut engine = if self.reranker {
            Engine::reranker_from_parts_with(self.files, self.weights, self.tokenizer)
        } else {
            Engine::from_parts_with(self.files, self.weights, self.tokenizer)
        }
        .map_err(js_error)?;
        engine.set_clock(|| performance_now() * 1000.0);
        Ok(JsEngine { inner: Rc::new(RefCell::new(engine)) })
    }
}

/// Runs this binary's q8 integer kernel against a scalar reference on every M, N, K in `sizes`;
/// the shapes whose integers differ (none when the kernel is right).
#[wasm_bindgen(js_name = checkQ8Kernel)]
pub fn check_q8_kernel(sizes: Vec<usize>) -> Vec<String> {
    crate::backend::cpu::matmul_q8::check_kernel(&sizes)
}

/// Runs the search scan's nibble kernel against its scalar reference; one line per shape that differs.
#[wasm_bindgen(js_name = checkScanKernel)]
pub fn check_scan_kernel() -> Vec<String> {
    crate::search::scan::check_kernel()
}

/// GPU buffers this instance holds, for leak checks (0 once a model on WebGPU is disposed).
#[wasm_bindgen(js_name = gpuBufferCount)]
pub fn gpu_buffer_count() -> usize {
    live_buffer_count()
}

/// Runs every WGSL kernel against the CPU result on a fresh device; resolves to the reports
/// (`quick` trims the largest matmul sizes, for software adapters).
#[wasm_bindgen(js_name = checkKernels)]
pub fn check_kernels(quick: bool) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let gpu = GpuDevice::open(DeviceOptions { allow_f16: true, ..Default::default() }).await.map_err(js_error)?;
        let reports = run_kernel_checks(&gpu, quick).await.map_err(js_error)?;
        let adapter = serde_json::json!({ "adapter": gpu.adapter_name, "f16Weights": gpu.shader_f16, "reports": reports });
        Ok(JsValue::from_str(&adapter.to_string()))
    })
}

/// `performance.now()` in seconds (windows and workers alike), else the wall clock.
fn performance_now() -> f64 {
    let global = js_sys::global();
    let performance = js_sys::Reflect::get(&global, &"performance".into()).ok();
    let now = performance.as_ref().and_then(|p| js_sys::Reflect::get(p, &"now".into()).ok().map(|f| (p, js_sys::Function::from(f))));
    match now.and_then(|(p, f)| f.call0(p).ok()).and_then(|v| v.as_f64()) {
        Some(ms) => ms / 1000.0,
        None => js_sys::Date::now() / 1000.0,
    }
}

/// Times `repeats` matmuls of `rows × cols × depth` on a fresh device; resolves to
/// `{ seconds, adapter, f16Weights }` (for bench/).
#[wasm_bindgen(js_name = benchMatmul)]
pub fn bench_matmul(rows: usize, cols: usize, depth: usize, repeats: usize) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let gpu = GpuDevice::open(DeviceOptions { allow_f16: true, ..Default::default() }).await.map_err(js_error)?;
        let seconds = time_matmul(&gpu, rows, cols, depth, repeats, performance_now).await.map_err(js_error)?;
        let result = serde_json::json!({ "seconds": seconds, "adapter": gpu.adapter_name, "f16Weights": gpu.shader_f16 });
        Ok(JsValue::from_str(&result.to_string()))
    })
}

/// Seconds for one `rows × cols × depth` CPU matmul, f32 or q8 (input rotation and
/// quantization included), after a warm-up (for bench/).
#[wasm_bindgen(js_name = benchCpuMatmul)]
pub fn bench_cpu_matmul(rows: usize, cols: usize, depth: usize, q8: bool) -> f64 {
    use crate::backend::cpu::{matmul::PackedWeights, matmul_q8::PackedQ8};
    let values = |n: usize, seed: usize| -> Vec<f32> { (0..n).map(|i| (((i + seed) * 2654435761) % 2001) as f32 / 1000.0 - 1.0).collect() };
    let (x, w, b) = (values(rows * depth, 1), values(cols * depth, 2), values(cols, 3));
    let run: Box<dyn Fn() -> Vec<f32>> = if q8 {
        let packed = PackedQ8::pack(&crate::quantize::QuantizedRows::from_f32(&w, cols, depth, true), &b);
        Box::new(move || packed.apply(&x, rows))
    } else {
        let packed = PackedWeights::pack(&w, &b, cols, depth);
        Box::new(move || packed.apply(&x, rows))
    };
    run();
    let start = performance_now();
    let out = run();
    let seconds = performance_now() - start;
    std::hint::black_box(out);
    seconds
}

/// The prompt a call's `promptName` / `prompt` arguments ask for (see `Engine::resolve_prompt`).
fn resolve_prompt(engine: &Engine, prompt_name: &Option<String>, prompt: &Option<String>) -> Result<Option<String>, JsValue> {
    engine.resolve_prompt(prompt_name.as_deref(), prompt.as_deref()).map_err(js_error)
}

/// Calls run one at a time (the JS layer queues them); a call that finds the engine busy is an
/// error, never a second mutable borrow.
fn busy() -> JsValue {
    js_error(EmbedError::Input("the engine is busy with another call; await it first".into()))
}

/// The engine as JS sees it (`Engine` there too): a shared handle, so async calls can hold it.
#[wasm_bindgen(js_name = Engine)]
pub struct JsEngine {
    inner: Rc<RefCell<Engine>>,
}

impl JsEngine {
    fn with<T>(&self, f: impl FnOnce(&mut Engine) -> Result<T, JsValue>) -> Result<T, JsValue> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| busy())?;
        f(&mut inner)
    }
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    #[wasm_bindgen(getter)]
    pub fn dimension(&self) -> Result<usize, JsValue> {
        self.with(|e| Ok(e.dimension()))
    }

    /// Cuts every vector to its first `dim` values from now on (undefined: whole vectors), as
    /// sentence-transformers' `truncate_dim` does; E_INPUT outside 1..=the model's dimension.
    #[wasm_bindgen(js_name = setTruncateDim)]
    pub fn set_truncate_dim(&self, dim: Option<usize>) -> Result<(), JsValue> {
        self.with(|e| e.set_truncate_dim(dim).map_err(js_error))
    }

    /// The model's whole width (before truncation).
    #[wasm_bindgen(getter, js_name = fullDimension)]
    pub fn full_dimension(&self) -> Result<usize, JsValue> {
        self.with(|e| Ok(e.spec().full_dimension()))
    }

    /// The model's family: 'bert', 'xlm-roberta', 'modernbert', 'gemma3', 'qwen3' or 'static'.
    #[wasm_bindgen(getter)]
    pub fn architecture(&self) -> Result<String, JsValue> {
        self.with(|e| Ok(e.architecture_name().to_string()))
    }

    /// Whether the model reads many languages (see `Engine::multilingual`).
    #[wasm_bindgen(getter)]
    pub fn multilingual(&self) -> Result<bool, JsValue> {
        self.with(|e| Ok(e.multilingual()))
    }

    /// Tokens in the model's vocabulary (a multilingual model's is large: 100 000 and more).
    #[wasm_bindgen(getter, js_name = vocabSize)]
    pub fn vocab_size(&self) -> Result<usize, JsValue> {
        self.with(|e| Ok(e.spec().encoder.vocab_size))
    }

    #[wasm_bindgen(getter, js_name = maxSeqLength)]
    pub fn max_seq_length(&self) -> Result<usize, JsValue> {
        self.with(|e| Ok(e.spec().max_seq_length))
    }

    /// The weight precision running now: 'q8', 'f16' or 'f32'.
    #[wasm_bindgen(getter)]
    pub fn dtype(&self) -> Result<String, JsValue> {
        self.with(|e| Ok(e.dtype().to_string()))
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> Result<String, JsValue> {
        self.with(|e| Ok(e.backend_name().to_string()))
    }

    /// Why the engine left WebGPU for the CPU mid-session, once it has.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Result<Option<String>, JsValue> {
        self.with(|e| Ok(e.fallback_reason().map(str::to_string)))
    }

    /// The WebGPU adapter in use and whether weights are stored as f16, when on WebGPU.
    #[wasm_bindgen(getter, js_name = gpuInfo)]
    pub fn gpu_info(&self) -> Result<JsValue, JsValue> {
        self.with(|e| {
            Ok(match e.webgpu() {
                Some(gpu) => {
                    let info =
                        serde_json::json!({ "adapter": gpu.adapter_name(), "f16Weights": gpu.uses_f16(), "buffers": gpu.live_buffers() });
                    js_sys::JSON::parse(&info.to_string())?
                }
                None => JsValue::NULL,
            })
        })
    }

    /// The model's named prompts (`config_sentence_transformers.json`), as a plain object.
    #[wasm_bindgen(getter)]
    pub fn prompts(&self) -> Result<JsValue, JsValue> {
        // json_compatible: a plain object (`prompts.query`), not the Map serde-wasm-bindgen makes by default.
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        self.with(|e| serde::Serialize::serialize(&e.spec().prompts, &serializer).map_err(|e| e.into()))
    }

    pub fn tokenize(&self, text: &str, prompt_name: Option<String>, prompt: Option<String>) -> Result<Vec<u32>, JsValue> {
        self.with(|e| {
            let prompt = resolve_prompt(e, &prompt_name, &prompt)?;
            e.tokenize(text, prompt.as_deref()).map(|t| t.ids).map_err(js_error)
        })
    }

    /// The chunks a search index cuts `text` into: `[start, end, …]` in UTF-16 units (see
    /// `Engine::chunk_spans`).
    #[wasm_bindgen(js_name = chunkSpans)]
    pub fn chunk_spans(
        &self,
        text: &str,
        prompt_name: Option<String>,
        prompt: Option<String>,
        max_tokens: Option<usize>,
        overlap_tokens: usize,
    ) -> Result<Vec<u32>, JsValue> {
        self.with(|e| {
            let prompt = resolve_prompt(e, &prompt_name, &prompt)?;
            let spans = e.chunk_spans(text, prompt.as_deref(), max_tokens, overlap_tokens).map_err(js_error)?;
            Ok(spans.iter().flat_map(|&(s, e)| [s as u32, e as u32]).collect())
        })
    }

    /// Panics on purpose, so tests can prove a trapped instance is replaced and nothing leaks to the page.
    #[wasm_bindgen(js_name = panicForTest)]
    pub fn panic_for_test(&self) {
        panic!("deliberate panic for the crash-recovery test");
    }

    /// Test hook: the GPU device is destroyed when `batches` more batches have started.
    #[wasm_bindgen(js_name = loseDeviceForTest)]
    pub fn lose_device_for_test(&self, batches: usize) -> Result<(), JsValue> {
        self.with(|e| e.lose_device_after(batches).map_err(js_error))
    }

    /// Moves the encoder to WebGPU after a self-test against the CPU path; rejects with
    /// `E_WEBGPU` saying why when it cannot, and the engine stays on the CPU.
    // The borrow is held across the await on purpose: it is the busy flag that refuses a second
    // call until this one ends (see `busy`).
    #[allow(clippy::await_holding_refcell_ref)]
    #[wasm_bindgen(js_name = enableWebGpu)]
    pub fn enable_webgpu(&self, allow_f16: bool, software_adapter: bool) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut engine = inner.try_borrow_mut().map_err(|_| busy())?;
            engine.enable_webgpu(DeviceOptions { allow_f16, software_adapter }).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// For `backend: 'auto'`: times both backends within about `budget_ms` and routes each later
    /// batch to the faster one (see `Engine::choose_backend_by_timing`); resolves to what it
    /// measured and chose, as a JSON string.
    #[allow(clippy::await_holding_refcell_ref)]
    #[wasm_bindgen(js_name = chooseBackendByTiming)]
    pub fn choose_backend_by_timing(&self, budget_ms: f64) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut engine = inner.try_borrow_mut().map_err(|_| busy())?;
            let calibration = engine.choose_backend_by_timing(budget_ms).await.map_err(js_error)?;
            Ok(JsValue::from_str(&serde_json::to_string(&calibration).map_err(|e| js_error(EmbedError::Inference(e.to_string())))?))
        })
    }

    /// "cpu" or "webgpu": where the last batch ran.
    #[wasm_bindgen(getter, js_name = lastBatchBackend)]
    pub fn last_batch_backend(&self) -> Result<String, JsValue> {
        self.with(|e| Ok(e.last_batch_backend().to_string()))
    }

    /// Test hook: routes batches by these cost lines (milliseconds), as timing at load would.
    #[wasm_bindgen(js_name = setRouteForTest)]
    pub fn set_route_for_test(&self, cpu_fixed: f64, cpu_per_token: f64, gpu_fixed: f64, gpu_per_token: f64) -> Result<(), JsValue> {
        use crate::backend::choice::{CostLine, Route};
        self.with(|e| {
            let cpu = CostLine { fixed_ms: cpu_fixed, per_token_ms: cpu_per_token };
            let gpu = CostLine { fixed_ms: gpu_fixed, per_token_ms: gpu_per_token };
            e.set_route(Route::ByTokens { cpu, gpu });
            Ok(())
        })
    }

    /// Leaves WebGPU and frees its GPU memory.
    #[wasm_bindgen(js_name = useCpu)]
    pub fn use_cpu(&self) -> Result<(), JsValue> {
        self.with(|e| {
            e.use_cpu();
            Ok(())
        })
    }

    /// Returns `texts.length × dimension` floats, row-major, on the CPU backend (synchronously).
    pub fn encode(
        &self,
        texts: Vec<String>,
        prompt_name: Option<String>,
        prompt: Option<String>,
        batch_size: usize,
    ) -> Result<Vec<f32>, JsValue> {
        self.with(|e| {
            let prompt = resolve_prompt(e, &prompt_name, &prompt)?;
            e.encode(&texts, prompt.as_deref(), batch_size).map_err(js_error)
        })
    }

    /// `encode` on whichever backend is active; resolves to a Float32Array.
    // The borrow is held across the await on purpose: it is the busy flag that refuses a second
    // call until this one ends (see `busy`).
    #[allow(clippy::await_holding_refcell_ref)]
    #[wasm_bindgen(js_name = encodeAsync)]
    pub fn encode_async(
        &self,
        texts: Vec<String>,
        prompt_name: Option<String>,
        prompt: Option<String>,
        batch_size: usize,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut engine = inner.try_borrow_mut().map_err(|_| busy())?;
            let prompt = resolve_prompt(&engine, &prompt_name, &prompt)?;
            let vectors = engine.encode_async(&texts, prompt.as_deref(), batch_size).await.map_err(js_error)?;
            Ok(js_sys::Float32Array::from(vectors.as_slice()).into())
        })
    }

    /// A reranker's labels per pair (0: an embedding model).
    #[wasm_bindgen(getter, js_name = numLabels)]
    pub fn num_labels(&self) -> Result<usize, JsValue> {
        self.with(|e| Ok(e.num_labels()))
    }

    /// Scores of the pairs `(firsts[i], seconds[i])`, `pairs × numLabels` (on the CPU backend).
    #[wasm_bindgen(js_name = scorePairs)]
    pub fn score_pairs(&self, firsts: Vec<String>, seconds: Vec<String>, batch_size: usize) -> Result<Vec<f32>, JsValue> {
        let pairs = zip_pairs(firsts, seconds)?;
        self.with(|e| e.score_pairs(&pairs, batch_size).map_err(js_error))
    }

    /// `scorePairs` on whichever backend is active; resolves to a Float32Array.
    #[allow(clippy::await_holding_refcell_ref)]
    #[wasm_bindgen(js_name = scorePairsAsync)]
    pub fn score_pairs_async(&self, firsts: Vec<String>, seconds: Vec<String>, batch_size: usize) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let pairs = zip_pairs(firsts, seconds)?;
            let mut engine = inner.try_borrow_mut().map_err(|_| busy())?;
            let scores = engine.score_pairs_async(&pairs, batch_size).await.map_err(js_error)?;
            Ok(js_sys::Float32Array::from(scores.as_slice()).into())
        })
    }
}

fn zip_pairs(firsts: Vec<String>, seconds: Vec<String>) -> Result<Vec<(String, String)>, JsValue> {
    if firsts.len() != seconds.len() {
        return Err(js_error(EmbedError::Input(format!("{} first texts but {} second texts", firsts.len(), seconds.len()))));
    }
    Ok(firsts.into_iter().zip(seconds).collect())
}

/// The documents of one search index in memory: chunk vectors (`search::store`) and chunk terms
/// (`search::keywords`) under one slot each (`search::documents`); ids, texts and storage are the JS layer's.
#[wasm_bindgen]
pub struct SearchStore {
    inner: Documents,
}

/// `[slot, chunk, score, …]`, the flat form hits cross to JS in.
fn flat_hits(hits: impl Iterator<Item = (u32, u32, f32)>) -> Vec<f64> {
    hits.flat_map(|(slot, chunk, score)| [slot as f64, chunk as f64, score as f64]).collect()
}

#[wasm_bindgen]
impl SearchStore {
    /// `vectors`: 'int8' (one scale per vector) or 'f32'; `language`: the keyword analyzer's
    /// stemming language (none: no stemming); `k1`, `b`: BM25's.
    #[wasm_bindgen(constructor)]
    pub fn new(dimension: usize, vectors: &str, language: Option<String>, k1: f32, b: f32) -> Result<SearchStore, JsValue> {
        let kind = VectorKind::parse(vectors).map_err(js_error)?;
        let keywords = KeywordIndex::new(language.as_deref(), k1, b).map_err(js_error)?;
        Ok(SearchStore { inner: Documents::new(dimension, kind, keywords).map_err(js_error)? })
    }

    /// One document's chunk vectors (row-major), its chunks' texts and its title field (its
    /// title, heading chain and path; undefined: none); returns its slot.
    pub fn add(&mut self, vectors: &[f32], chunks: Vec<String>, title: Option<String>) -> Result<u32, JsValue> {
        let chunks: Vec<&str> = chunks.iter().map(String::as_str).collect();
        self.inner.add_titled(vectors, &chunks, title.as_deref()).map_err(js_error)
    }

    /// Documents stored before, as `rowValues` and `rowScales` gave them, all at once:
    /// `rowCounts[d]` rows each, `chunks` every row's text in order, `titles` each document's
    /// title field ("" for none; fewer than the documents: the rest have none); returns their slots.
    #[wasm_bindgen(js_name = addStored)]
    pub fn add_stored(
        &mut self,
        values: &[i8],
        scales: &[f32],
        floats: &[f32],
        row_counts: &[u32],
        chunks: Vec<String>,
        titles: Vec<String>,
    ) -> Result<Vec<u32>, JsValue> {
        let dimension = self.inner.vectors.dimension();
        let mut slots = Vec::with_capacity(row_counts.len());
        let mut row = 0usize;
        let mut added = || -> Result<(), EmbedError> {
            for (d, &count) in row_counts.iter().enumerate() {
                let title = titles.get(d).map(String::as_str).filter(|t| !t.is_empty());
                let end = row + count as usize;
                let ended = || EmbedError::Input(format!("the stored rows end before row {end}"));
                let texts: Vec<&str> = chunks.get(row..end).ok_or_else(ended)?.iter().map(String::as_str).collect();
                let slot = match self.inner.vectors.kind() {
                    VectorKind::Int8 => {
                        let (Some(values), Some(scales)) = (values.get(row * dimension..end * dimension), scales.get(row..end)) else {
                            return Err(ended());
                        };
                        self.inner.add_int8(values, scales, &texts, title)?
                    }
                    VectorKind::F32 => {
                        self.inner.add_titled(floats.get(row * dimension..end * dimension).ok_or_else(ended)?, &texts, title)?
                    }
                };
                slots.push(slot);
                row = end;
            }
            Ok(())
        };
        if let Err(err) = added() {
            // All or nothing: what this call added goes again.
            for &slot in &slots {
                let _ = self.inner.remove(slot);
            }
            return Err(js_error(err));
        }
        Ok(slots)
    }

    /// Makes room for `rows` more vectors at once.
    pub fn reserve(&mut self, rows: usize) {
        self.inner.vectors.reserve(rows);
    }

    /// A document's int8 values (empty for an f32 index).
    #[wasm_bindgen(js_name = rowValues)]
    pub fn row_values(&self, slot: u32) -> Result<Vec<i8>, JsValue> {
        self.inner.vectors.int8_values(slot).map_err(js_error)
    }

    /// A document's int8 scales (empty for an f32 index).
    #[wasm_bindgen(js_name = rowScales)]
    pub fn row_scales(&self, slot: u32) -> Result<Vec<f32>, JsValue> {
        self.inner.vectors.int8_scales(slot).map(<[f32]>::to_vec).map_err(js_error)
    }

    /// A document's f32 vectors (empty for an int8 index).
    #[wasm_bindgen(js_name = rowFloats)]
    pub fn row_floats(&self, slot: u32) -> Result<Vec<f32>, JsValue> {
        self.inner.vectors.f32_values(slot).map(<[f32]>::to_vec).map_err(js_error)
    }

    pub fn remove(&mut self, slot: u32) -> Result<(), JsValue> {
        self.inner.remove(slot).map_err(js_error)
    }

    /// The `k` best documents by their vectors: `[slot, chunk, score, …]`. `allowed` (one byte per
    /// slot, 0 = skip) filters documents.
    pub fn search(&self, query: &[f32], k: usize, allowed: Option<Vec<u8>>) -> Result<Vec<f64>, JsValue> {
        let hits = self.inner.vectors.search(query, k, allowed.as_deref()).map_err(js_error)?;
        Ok(flat_hits(hits.iter().map(|h| (h.slot, h.chunk, h.score))))
    }

    /// Each of `slots`' best chunk by its vectors: `[slot, chunk, score, …]`.
    #[wasm_bindgen(js_name = scoreSlots)]
    pub fn score_slots(&self, query: &[f32], slots: Vec<u32>) -> Result<Vec<f64>, JsValue> {
        let hits = self.inner.vectors.best_chunks(query, &slots).map_err(js_error)?;
        Ok(flat_hits(hits.iter().map(|h| (h.slot, h.chunk, h.score))))
    }

    /// The `k` best documents by BM25 for `query` (only documents with a query term), then each
    /// of `also`'s best chunk (score 0: no term), from one scoring pass: `[slot, chunk, score, …]`,
    /// the last `also.length` triples for `also`.
    #[wasm_bindgen(js_name = keywordSearch)]
    pub fn keyword_search(&self, query: &str, k: usize, allowed: Option<Vec<u8>>, also: Vec<u32>) -> Result<Vec<f64>, JsValue> {
        let (hits, scored) = self.inner.keywords.search_and_score(query, k, allowed.as_deref(), &also).map_err(js_error)?;
        Ok(flat_hits(hits.iter().chain(&scored).map(|h| (h.slot, h.chunk, h.score))))
    }

    /// Fuses a semantic and a keyword ranking (`[slot, score, …]`, best first) by `method`
    /// ('rrf', or 'weighted' with `weight` for the semantic side and the query's keyword `bound`,
    /// `keywordBound(query)`): `[slot, fused, …]`, best first.
    pub fn fuse(semantic: Vec<f64>, keyword: Vec<f64>, method: &str, weight: f32, bound: f32) -> Result<Vec<f64>, JsValue> {
        let fusion = match method {
            "rrf" => Fusion::ReciprocalRank(RRF_K),
            "weighted" => Fusion::weighted(weight, bound).map_err(js_error)?,
            other => return Err(js_error(EmbedError::Input(format!("fusion method must be 'rrf' or 'weighted'; got {other:?}")))),
        };
        let pairs = |flat: &[f64]| flat.chunks_exact(2).map(|p| (p[0] as u32, p[1] as f32)).collect::<Vec<_>>();
        let fused = fusion::rank(&pairs(&semantic), &pairs(&keyword), fusion);
        Ok(fused.iter().flat_map(|(c, score)| [c.slot as f64, *score as f64]).collect())
    }

    /// Where `query`'s terms occur in `text`: `[start, end, …]` in UTF-16 indices.
    pub fn highlights(&self, query: &str, text: &str) -> Vec<u32> {
        let terms = self.inner.keywords.query_terms(query);
        utf16_spans(text, &self.inner.keywords.matches(text, &terms))
    }

    /// The keyword side as a shipped index stores it: every live term (byte order) and, flat,
    /// `[term number, slot, chunk, impact, …]` (see `KeywordIndex::impacts`).
    #[wasm_bindgen(js_name = keywordTerms)]
    /// (A posting's chunk `titleChunk()` is the document's title field, weighed by `titleWeight()`.)
    pub fn keyword_terms(&self) -> Vec<String> {
        self.inner.keywords.impacts().into_iter().map(|t| t.term.to_owned()).collect()
    }

    #[wasm_bindgen(js_name = keywordImpacts)]
    pub fn keyword_impacts(&self) -> Vec<f64> {
        let mut flat = Vec::new();
        for (number, term) in self.inner.keywords.impacts().into_iter().enumerate() {
            for posting in term.postings {
                flat.extend([number as f64, posting.slot as f64, posting.chunk as f64, posting.score as f64]);
            }
        }
        flat
    }

    /// A document's keyword entries as `add` would index them, without indexing them (see
    /// `KeywordIndex::analyze`): `{ terms, entries }`, `entries` flat `[chunk, length, n, count₁ …
    /// countₙ, …]`, each entry's n terms the next n of `terms`. A builder streaming millions of
    /// documents keeps these on disk rather than in one store.
    #[wasm_bindgen(js_name = analyzeDocument)]
    pub fn analyze_document(&self, chunks: Vec<String>, title: Option<String>) -> Result<JsValue, JsValue> {
        let texts: Vec<&str> = chunks.iter().map(String::as_str).collect();
        let terms = js_sys::Array::new();
        let mut entries = Vec::new();
        for entry in self.inner.keywords.analyze(&texts, title.as_deref()) {
            entries.extend([entry.chunk, entry.length, entry.terms.len() as u32]);
            for (term, count) in entry.terms {
                terms.push(&JsValue::from_str(&term));
                entries.push(count);
            }
        }
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"terms".into(), &terms)?;
        js_sys::Reflect::set(&out, &"entries".into(), &js_sys::Uint32Array::from(entries.as_slice()))?;
        Ok(out.into())
    }

    /// BM25 impacts of postings scored outside the store, exactly as the store scores its own:
    /// `fields` `[body entries, body length, title entries, title length]` of the whole corpus,
    /// `frequencies` `[body, title]` per term, and per posting its term (an index into those),
    /// chunk number, count and entry length.
    #[wasm_bindgen(js_name = postingImpacts)]
    pub fn posting_impacts(
        &self,
        fields: Vec<f64>,
        frequencies: Vec<u32>,
        term: Vec<u32>,
        chunk: Vec<u32>,
        count: Vec<u32>,
        length: Vec<u32>,
    ) -> Result<Vec<f32>, JsValue> {
        use crate::search::keywords::{FieldStats, TITLE_CHUNK};
        if fields.len() != 4
            || !frequencies.len().is_multiple_of(2)
            || [chunk.len(), count.len(), length.len()].iter().any(|&n| n != term.len())
        {
            return Err(js_error(EmbedError::Input("postingImpacts: fields are [body entries, body length, title entries, title length] and every posting has a term, chunk, count and length".into())));
        }
        let mut out = Vec::with_capacity(term.len());
        for p in 0..term.len() {
            let field = usize::from(chunk[p] == TITLE_CHUNK);
            let Some(&frequency) = frequencies.get(2 * term[p] as usize + field) else {
                return Err(js_error(EmbedError::Input(format!(
                    "postingImpacts: posting {p} names term {} of {}",
                    term[p],
                    frequencies.len() / 2
                ))));
            };
            let stats = FieldStats::new(fields[2 * field] as usize, fields[2 * field + 1] as u64, frequency);
            out.push(self.inner.keywords.posting_impact(stats, count[p], length[p]));
        }
        Ok(out)
    }

    /// Bench hook: titles weighed by `weight` (the engine's `titleWeight()` otherwise).
    #[wasm_bindgen(js_name = setTitleWeightForBench)]
    pub fn set_title_weight_for_bench(&mut self, weight: f32) {
        self.inner.keywords.set_title_weight(weight);
    }

    /// The most a body chunk can score for `query` (see `KeywordIndex::query_bound`).
    #[wasm_bindgen(js_name = keywordBound)]
    pub fn keyword_bound(&self, query: &str) -> f32 {
        self.inner.keywords.query_bound(query)
    }

    /// The chunk number of a document's title field in `keywordImpacts`.
    #[wasm_bindgen(js_name = titleChunk)]
    pub fn title_chunk() -> u32 {
        crate::search::keywords::TITLE_CHUNK
    }

    /// What a title's BM25 counts for beside the best body chunk's.
    #[wasm_bindgen(js_name = titleWeight)]
    pub fn title_weight() -> f32 {
        crate::search::keywords::TITLE_WEIGHT
    }

    /// `query`'s distinct terms as this store's analyzer makes them, in order.
    #[wasm_bindgen(js_name = queryTerms)]
    pub fn query_terms(&self, query: &str) -> Vec<String> {
        self.inner.keywords.query_terms(query)
    }

    /// Each of `queryTerms(query)`'s weight (1, or less for a part of an identifier the query holds whole).
    #[wasm_bindgen(js_name = queryWeights)]
    pub fn query_weights(&self, query: &str) -> Vec<f32> {
        self.inner.keywords.weighted_query_terms(query).into_iter().map(|(_, weight)| weight).collect()
    }

    /// Slots in use or free (the length an `allowed` mask needs).
    #[wasm_bindgen(getter)]
    pub fn slots(&self) -> usize {
        self.inner.vectors.slots()
    }

    #[wasm_bindgen(getter)]
    pub fn documents(&self) -> usize {
        self.inner.vectors.documents()
    }

    #[wasm_bindgen(getter)]
    pub fn chunks(&self) -> usize {
        self.inner.vectors.chunks()
    }

    #[wasm_bindgen(getter, js_name = vectorBytes)]
    pub fn vector_bytes(&self) -> usize {
        self.inner.vectors.vector_bytes()
    }

    /// Bytes the keyword postings take.
    #[wasm_bindgen(getter, js_name = keywordBytes)]
    pub fn keyword_bytes(&self) -> usize {
        self.inner.keywords.bytes()
    }
}

/// sentence-transformers' IR metrics for ranked queries (`[{ retrieved, relevant }]` as JSON) at
/// each cutoff; returns `{ accuracy, precision, recall, mrr, ndcg, map, queries }` as JSON.
#[wasm_bindgen(js_name = irMetrics)]
pub fn ir_metrics(queries_json: &str, cutoffs: Vec<usize>) -> Result<String, JsValue> {
    let queries: Vec<RankedQuery> =
        serde_json::from_str(queries_json).map_err(|e| js_error(EmbedError::Input(format!("ranked queries: {e}"))))?;
    serde_json::to_string(&metrics::ir_metrics(&queries, &cutoffs)).map_err(|e| js_error(EmbedError::Inference(e.to_string())))
}
