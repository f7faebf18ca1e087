//! The engine: a loaded model that turns texts into sentence embeddings. Free of JS types so it
//! runs and is tested natively; `wasm.rs` only converts types around it.

use crate::backend::choice::{self, Calibration, CostLine, Route, Sample};
use crate::backend::cpu::dense::PackedDense;
use crate::backend::cpu::{CpuBackend, Network};
use crate::backend::webgpu::device::DeviceOptions;
use crate::backend::webgpu::WebGpuBackend;
use crate::backend::{Backend, Head, TokenBatch};
use crate::error::{EmbedError, Result};
use crate::files::ModelFiles;
use crate::folder::{self, Dtype};
use crate::model::{self, ModelParameters};
use crate::rerank::{self, Classifier};
use crate::spec::ModelSpec;
use crate::spec::StaticRules;
use crate::tokenize::{TextTokenizer, TokenRules, Tokens};
use crate::weights::Weights;

/// Tokens a static model's chunks hold by default (it has no window of its own to fill).
pub const STATIC_CHUNK_TOKENS: usize = 256;

/// sentence-transformers' default batch size.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// Weights a wasm32 instance can hold: 4 GiB of address space, less room for the tokenizer,
/// activations and the allocator's slack.
pub const WASM32_WEIGHT_BUDGET: u64 = 3 << 30;

/// Refuses, before anything is downloaded or allocated, a model whose weights cannot fit `budget`.
/// Tokenizes a probe text at load, so a tokenizer that cannot work (an empty vocabulary, no
/// unknown token, special tokens beyond the embedding table) fails as E_TOKENIZER / E_CONFIG
/// now, not later as an input error blaming the user's text.
fn check_tokenizer_fits(tokenizer: &TextTokenizer, spec: &ModelSpec) -> Result<()> {
    let ids = tokenizer.ids("webembed probe \u{2603} \u{e000} 123", None).map_err(|e| EmbedError::Tokenizer {
        file: folder::TOKENIZER.into(),
        reason: format!("cannot tokenize a plain probe text ({e}); its vocabulary or unknown token is missing"),
    })?;
    if ids.is_empty() {
        return Err(EmbedError::Tokenizer { file: folder::TOKENIZER.into(), reason: "gives no tokens for a plain probe text".into() });
    }
    // A static model's table size is known once its weights are read; it must then equal the
    // tokenizer's vocabulary (see `Engine::build`).
    if spec.is_static() {
        return Ok(());
    }
    ids_within_vocab(ids, spec).map(drop)
}

/// `ids`, unless one is past the embedding table (the tokenizer belongs to another model).
fn ids_within_vocab(ids: Vec<u32>, spec: &ModelSpec) -> Result<Vec<u32>> {
    match ids.iter().find(|&&id| id as usize >= spec.encoder.vocab_size) {
        Some(&bad) => Err(EmbedError::config(
            folder::TOKENIZER,
            format!(
                "produced token id {bad}, beyond the model's vocab_size {}; tokenizer.json does not belong to this model",
                spec.encoder.vocab_size
            ),
        )),
        None => Ok(ids),
    }
}

pub fn check_fits(spec: &ModelSpec, budget: u64) -> Result<()> {
    let needed = spec.weight_bytes();
    if needed > budget {
        return Err(EmbedError::TooLarge(format!(
            "this model needs {:.1} GB for its weights as f32, more than the {:.1} GB a WebAssembly (wasm32) instance can hold",
            needed as f64 / 1e9,
            budget as f64 / 1e9
        )));
    }
    Ok(())
}

/// A q8 file (`model.q8.safetensors`, see `crate::quantize`) for a folder of float weights: the
/// matrices quantized exactly as a q8 load quantizes them. The configs are read first, so a
/// folder the engine cannot run is refused rather than converted.
pub fn quantize_folder(mut files: ModelFiles) -> Result<Vec<u8>> {
    let spec = ModelSpec::from_files(&files)?;
    let mut weights = Weights::quantized_from_float_files(&mut files, model::quantized_in_q8)?;
    model::dense::read_files(&spec.dense, &mut files, &mut weights)?;
    weights.to_q8_safetensors()
}

/// How a model's tokenizer is used: a static model averages the text's own tokens (model2vec
/// with its own cuts and the unknown token dropped).
fn token_rules(spec: &ModelSpec) -> TokenRules {
    match &spec.static_rules {
        None => TokenRules::default(),
        Some(StaticRules::SentenceTransformers) => TokenRules { without_special_tokens: true, model2vec: None },
        Some(StaticRules::Model2Vec { max_length }) => TokenRules { without_special_tokens: true, model2vec: Some(*max_length) },
    }
}

/// Texts the WebGPU self-test embeds on both backends: two lengths, so padding is exercised.
const SELF_TEST_TEXTS: [&str; 2] =
    ["WebGPU self-test.", "A longer second sentence checks that padded rows and masked keys agree with the CPU path too."];

/// The cosine every self-test text must reach between the two backends.
pub const WEBGPU_MIN_COSINE: f32 = 0.9999;
/// The same for a q8 model: the GPU multiplies the dequantized weights by f32 activations where
/// the CPU quantizes the activations too, so the two differ by about q8's own error (all-MiniLM-L6-v2:
/// 0.99965 on the self-test texts); a broken kernel is still far below.
pub const WEBGPU_MIN_COSINE_Q8: f32 = 0.998;

pub struct Engine {
    spec: ModelSpec,
    tokenizer: TextTokenizer,
    cpu: CpuBackend,
    /// Runs the batches while present; dropped for good when the device fails.
    webgpu: Option<WebGpuBackend>,
    /// Why the engine left WebGPU for the CPU, once it has.
    fallback_reason: Option<String>,
    /// Which batches go to the GPU while it is on: all of them, unless timing at load split them.
    route: Route,
    /// The backend the last batch ran on ("cpu" or "webgpu").
    last_batch_backend: &'static str,
    /// Milliseconds from a monotonic clock (`set_clock`; natively `Instant`).
    clock: fn() -> f64,
    /// The WebGPU self-test batch timed on each backend: the short sample 'auto' compares.
    self_test_timing: Option<(Sample, Sample)>,
    /// A reranker's classification head (see `crate::rerank`); None for an embedding model.
    classifier: Option<Classifier>,
    /// Dense modules after pooling, run on the CPU whichever backend pooled (then Normalize, when
    /// the model has it: the backends normalize only a model without Dense modules).
    dense: Vec<PackedDense>,
}

/// Milliseconds since the first call: the native clock. wasm32 has no `Instant`; there the
/// wasm-bindgen layer sets `performance.now()` (`Engine::set_clock`).
fn native_clock() -> f64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1000.0
    }
    #[cfg(target_arch = "wasm32")]
    {
        0.0
    }
}

impl Engine {
    /// Builds the engine on the CPU backend with f32 weights. Weight bytes are taken out of
    /// `files` and dropped as soon as they are tensors.
    pub fn from_files(files: ModelFiles) -> Result<Self> {
        Self::from_files_as(files, Dtype::F32)
    }

    /// `from_files` in `dtype`: q8 reads `model.q8.safetensors`, or quantizes the float weights
    /// tensor by tensor as they are read.
    pub fn from_files_as(mut files: ModelFiles, dtype: Dtype) -> Result<Self> {
        let weights = Weights::from_files(&mut files, dtype, model::quantized_in_q8)?;
        Self::from_parts(files, weights)
    }

    /// Builds the engine from config files plus tensors already handed over one by one; when
    /// `weights` is empty, the weight file in `files` is read instead.
    pub fn from_parts(files: ModelFiles, weights: Weights) -> Result<Self> {
        Self::from_parts_with(files, weights, None)
    }

    /// Reads and checks the folder's tokenizer for `spec`, and drops tokenizer.json's bytes: a
    /// loader that does this before the weights arrive keeps the file and its parse (~40 MB for a
    /// multilingual vocabulary) out of the load's peak.
    pub fn read_tokenizer(files: &mut ModelFiles, spec: &ModelSpec) -> Result<TextTokenizer> {
        let tokenizer_bytes = files.take(&spec.tokenizer_file).ok_or_else(|| {
            EmbedError::config(&spec.tokenizer_file, format!("missing: webembed needs the fast-tokenizer file {}", folder::TOKENIZER))
        })?;
        let tokenizer = TextTokenizer::from_bytes_with(&tokenizer_bytes, spec.max_seq_length, token_rules(spec))?;
        check_tokenizer_fits(&tokenizer, spec)?;
        Ok(tokenizer)
    }

    /// `from_parts` with the tokenizer already read by `read_tokenizer` (None: read it now).
    pub fn from_parts_with(files: ModelFiles, weights: Weights, tokenizer: Option<TextTokenizer>) -> Result<Self> {
        let spec = ModelSpec::from_files(&files)?;
        Self::build(spec, None, files, weights, tokenizer)
    }

    /// A cross-encoder reranker from its folder (see `crate::rerank`), in `dtype`.
    pub fn reranker_from_files_as(mut files: ModelFiles, dtype: Dtype) -> Result<Self> {
        let weights = Weights::from_files(&mut files, dtype, model::quantized_in_q8)?;
        Self::reranker_from_parts_with(files, weights, None)
    }

    /// `from_parts_with` for a reranker folder: its encoder and classification head.
    pub fn reranker_from_parts_with(files: ModelFiles, weights: Weights, tokenizer: Option<TextTokenizer>) -> Result<Self> {
        let (spec, rerank) = rerank::reranker_spec(&files)?;
        Self::build(spec, Some(rerank), files, weights, tokenizer)
    }

    fn build(
        mut spec: ModelSpec,
        rerank: Option<rerank::RerankSpec>,
        mut files: ModelFiles,
        weights: Weights,
        tokenizer: Option<TextTokenizer>,
    ) -> Result<Self> {
        if cfg!(target_arch = "wasm32") {
            check_fits(&spec, WASM32_WEIGHT_BUDGET)?;
        }
        let tokenizer = match tokenizer {
            Some(tokenizer) => tokenizer,
            None => Self::read_tokenizer(&mut files, &spec)?,
        };
        // Weights handed over as files (a pytorch_model.bin) are read now, quantized if `weights` quantizes.
        let mut weights = if weights.is_empty() { weights.read_files(&mut files)? } else { weights };
        model::dense::read_files(&spec.dense, &mut files, &mut weights)?;
        if spec.is_static() {
            // The table has a row per token of the tokenizer (model2vec's mapping folded in).
            spec.encoder = crate::spec::static_spec(tokenizer.vocab_size(), 0, 0);
        }
        let network = Network::load(&spec.encoder, &mut weights)?;
        if spec.is_static() {
            spec = spec.with_static_table(tokenizer.vocab_size(), network.word_table().width())?;
        }
        let classifier = rerank.map(|r| Classifier::load(&spec.encoder, &r, &mut weights)).transpose()?;
        let dense = spec.dense.iter().map(|d| model::dense::load(d, &mut weights).map(PackedDense::pack)).collect::<Result<Vec<_>>>()?;
        // With Dense modules the backends pool only; Normalize follows the last Dense here.
        let head = Head { pooling: spec.pooling.clone(), normalize: spec.normalize && dense.is_empty() };
        Ok(Engine {
            spec,
            tokenizer,
            cpu: CpuBackend::new(network, head),
            webgpu: None,
            fallback_reason: None,
            route: Route::Gpu,
            last_batch_backend: "cpu",
            clock: native_clock,
            self_test_timing: None,
            classifier,
            dense,
        })
    }

    /// Cuts every vector to its first `dim` values from now on (sentence-transformers'
    /// `truncate_dim`: after Normalize, so a cut vector's norm is below 1); None: whole vectors.
    pub fn set_truncate_dim(&mut self, dim: Option<usize>) -> Result<()> {
        self.spec = self.spec.clone().truncated(dim)?;
        Ok(())
    }

    /// The backend's pooled vectors (`rows × pooled width`) through the Dense modules, Normalize
    /// and truncation: the vectors as returned (`rows × dimension`).
    fn finish_vectors(&self, mut vectors: Vec<f32>, rows: usize) -> Vec<f32> {
        if self.dense.is_empty() && self.spec.truncate_dim.is_none() {
            return vectors;
        }
        for layer in &self.dense {
            vectors = layer.apply(&vectors, rows);
        }
        let width = self.spec.full_dimension();
        if !self.dense.is_empty() && self.spec.normalize {
            vectors.chunks_exact_mut(width.max(1)).for_each(crate::pooling::normalize);
        }
        match self.spec.truncate_dim {
            Some(dim) if dim < width => vectors.chunks_exact(width).flat_map(|row| row[..dim].iter().copied()).collect(),
            _ => vectors,
        }
    }

    /// A reranker's labels per pair; 0 for an embedding model.
    pub fn num_labels(&self) -> usize {
        self.classifier.as_ref().map_or(0, Classifier::num_labels)
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn dimension(&self) -> usize {
        self.spec.dimension()
    }

    /// Whether the model reads many languages: a vocabulary of 100 000 tokens or more (XLM-R's,
    /// Gemma's, Qwen's byte-level one), or one where at least 1% of the tokens are words of a
    /// script other than Latin. Search indexes pick their keyword analyzer by it.
    pub fn multilingual(&self) -> bool {
        self.spec.encoder.vocab_size >= 100_000 || self.tokenizer.non_latin_share() >= 0.01
    }

    /// The model's family, as the JS layer names it.
    pub fn architecture_name(&self) -> &'static str {
        use crate::spec::Architecture;
        match self.spec.encoder.architecture {
            Architecture::Bert => "bert",
            Architecture::XlmRoberta => "xlm-roberta",
            Architecture::ModernBert => "modernbert",
            Architecture::Gemma3 => "gemma3",
            Architecture::Qwen3 => "qwen3",
            Architecture::Static => "static",
        }
    }

    /// The weight precision running now: 'q8' (int8 kernels), 'f16' (f16 weights on WebGPU) or 'f32'.
    pub fn dtype(&self) -> &'static str {
        match &self.webgpu {
            Some(gpu) if gpu.uses_q8() => "q8",
            Some(gpu) if gpu.uses_f16() => "f16",
            Some(_) => "f32",
            None if self.cpu.network().is_q8() => "q8",
            None => "f32",
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match &self.webgpu {
            Some(gpu) => gpu.name(),
            None => self.cpu.name(),
        }
    }

    /// Why the engine moved from WebGPU to the CPU (device lost, out of memory), once it has.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    pub fn webgpu(&self) -> Option<&WebGpuBackend> {
        self.webgpu.as_ref()
    }

    /// Moves the encoder onto the GPU, after checking that it embeds like the CPU path does
    /// (cosine ≥ `WEBGPU_MIN_COSINE` on a short and a padded text). On failure the engine
    /// stays on the CPU and the error (`E_WEBGPU`) says why.
    pub async fn enable_webgpu(&mut self, options: DeviceOptions) -> Result<()> {
        let backend = WebGpuBackend::new(self.cpu.network(), self.cpu.head().clone(), options).await?;
        self.start_webgpu(backend).await
    }

    /// `enable_webgpu` on a backend already made (tests pick the adapter and precision).
    pub async fn start_webgpu(&mut self, mut backend: WebGpuBackend) -> Result<()> {
        let rows: Vec<Vec<u32>> = SELF_TEST_TEXTS.iter().map(|t| self.checked_ids(t, None)).collect::<Result<_>>()?;
        let rows: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
        let batch = self.make_batch(&rows, 0);
        let expected = time_batch(&mut self.cpu, &batch, self.clock).await;
        let got = time_batch(&mut backend, &batch, self.clock).await;
        let ((expected, cpu_sample), (got, gpu_sample)) = (expected?, got?);
        self.self_test_timing = Some((cpu_sample, gpu_sample));
        // The backends' own output: pooled (and normalized), before any Dense module.
        let dimension = self.spec.pooling.output_dimension();
        for (row, text) in SELF_TEST_TEXTS.iter().enumerate() {
            let range = row * dimension..(row + 1) * dimension;
            let cosine = crate::pooling::cosine(&expected[range.clone()], &got[range]);
            let minimum = if self.cpu.network().is_q8() { WEBGPU_MIN_COSINE_Q8 } else { WEBGPU_MIN_COSINE };
            if cosine.is_nan() || cosine < minimum {
                return Err(EmbedError::WebGpu(format!(
                    "self-test failed on {} ({}): cosine {cosine} to the CPU result for {text:?}, below {minimum}",
                    backend.adapter_name(),
                    if backend.uses_q8() {
                        "q8 weights"
                    } else if backend.uses_f16() {
                        "f16 weights"
                    } else {
                        "f32 weights"
                    }
                )));
            }
        }
        self.webgpu = Some(backend);
        self.fallback_reason = None;
        self.route = Route::Gpu;
        Ok(())
    }

    /// For `backend: 'auto'` on a GPU that passed its self-test: compares the two backends on
    /// the self-test batch (already timed), then, where they fit in `budget_ms`, on a second run
    /// of it and on a longer batch; then routes each later batch to the backend predicted faster
    /// for its size. When the CPU wins at every size a batch can have, the GPU is left and its
    /// memory freed.
    pub async fn choose_backend_by_timing(&mut self, budget_ms: f64) -> Result<Calibration> {
        let now = self.clock;
        let start = now();
        let (Some(mut gpu), Some((cpu_short, gpu_short))) = (self.webgpu.take(), self.self_test_timing) else {
            return Err(EmbedError::WebGpu("timing needs the GPU on; enable WebGPU first".into()));
        };
        let (mut cpu_samples, mut gpu_samples) = (vec![cpu_short], vec![gpu_short]);
        // A GPU that fails while being timed is left, as a failure mid-encode would leave it.
        let gpu_timing: Result<()> = async {
            // A second look where the budget allows, keeping the quicker: the self-test was the
            // GPU's first batch, which may have compiled shaders.
            if cpu_short.ms + gpu_short.ms <= budget_ms / 4.0 {
                let short = self.timing_batch(cpu_short.tokens);
                gpu_samples[0] = quicker(gpu_short, time_batch(&mut gpu, &short, now).await?.1);
                cpu_samples[0] = quicker(cpu_short, time_batch(&mut self.cpu, &short, now).await?.1);
            }
            // Each backend's long batch gets half of what remains, sized by its short batch's rate.
            let share = (budget_ms - (now() - start)) / 2.0;
            if let Some(tokens) = choice::affordable_long_tokens(cpu_samples[0], share) {
                let batch = self.timing_batch(tokens);
                cpu_samples.push(time_batch(&mut self.cpu, &batch, now).await?.1);
            }
            if let Some(tokens) = choice::affordable_long_tokens(gpu_samples[0], share) {
                let batch = self.timing_batch(tokens);
                gpu_samples.push(time_batch(&mut gpu, &batch, now).await?.1);
            }
            Ok(())
        }
        .await;
        if let Err(error) = gpu_timing {
            self.fallback_reason = Some(error.to_string());
            return Err(error);
        }
        let line = |samples: &[Sample]| match samples {
            [short, long, ..] => CostLine::fit(*short, *long),
            [only] => CostLine::proportional(*only),
            [] => CostLine { fixed_ms: 0.0, per_token_ms: 0.0 },
        };
        let (cpu_line, webgpu_line) = (line(&cpu_samples), line(&gpu_samples));
        let max_tokens = DEFAULT_BATCH_SIZE * self.spec.max_seq_length;
        self.route = Route::from_lines(cpu_line, webgpu_line, max_tokens);
        // The CPU wins everywhere: the GPU's buffers are freed now, not kept for nothing.
        self.webgpu = (self.route != Route::Cpu).then_some(gpu);
        Ok(Calibration {
            chosen: self.route.name(),
            cpu: cpu_samples,
            webgpu: gpu_samples,
            cpu_line,
            webgpu_line,
            gpu_from_tokens: self.route.gpu_from_tokens(),
            spent_ms: now() - start,
        })
    }

    /// The clock timings read, in milliseconds (the wasm-bindgen layer gives `performance.now`).
    pub fn set_clock(&mut self, clock: fn() -> f64) {
        self.clock = clock;
    }

    /// Test hook: routes batches by these cost lines, as timing at load would.
    pub fn set_route(&mut self, route: Route) {
        self.route = route;
    }

    /// "cpu" or "webgpu": where the last batch ran.
    pub fn last_batch_backend(&self) -> &'static str {
        self.last_batch_backend
    }

    /// A batch of about `tokens` padded tokens in rows of up to 64, for timing.
    fn timing_batch(&self, tokens: usize) -> TokenBatch {
        let row_len = tokens.clamp(1, 64).min(self.spec.max_seq_length.max(1));
        let rows = tokens.div_ceil(row_len).max(1);
        // Real tokens of a real text, repeated: the vocabulary's first ids may be unused rows.
        let mut source = self.tokenizer.ids(SELF_TEST_TEXTS[1], None).unwrap_or_default();
        source.retain(|&id| (id as usize) < self.spec.encoder.vocab_size);
        if source.is_empty() {
            source.push(0);
        }
        let row: Vec<u32> = source.iter().copied().cycle().take(row_len).collect();
        self.make_batch(&vec![row.as_slice(); rows], 0)
    }

    /// Leaves WebGPU (if it was on) and frees its GPU memory.
    pub fn use_cpu(&mut self) {
        self.webgpu = None;
    }

    /// Test hook: the GPU device is destroyed when `batches` more batches have started.
    pub fn lose_device_after(&mut self, batches: usize) -> Result<()> {
        match self.webgpu.as_mut() {
            Some(gpu) => {
                gpu.lose_device_after(batches);
                Ok(())
            }
            None => Err(EmbedError::Input("the engine is not on WebGPU".into())),
        }
    }

    /// The prompt sentence-transformers would prepend: an explicit `prompt` wins, then a named
    /// one from the model's config, then the model's default prompt. An empty prompt is none.
    pub fn resolve_prompt(&self, prompt_name: Option<&str>, prompt: Option<&str>) -> Result<Option<String>> {
        let chosen = match (prompt, prompt_name) {
            (Some(prompt), _) => Some(prompt.to_string()),
            (None, Some(name)) => Some(self.spec.prompts.get(name).cloned().ok_or_else(|| {
                let known: Vec<&str> = self.spec.prompts.keys().map(String::as_str).collect();
                EmbedError::Input(format!(
                    "promptName {name:?} is not defined by this model (config_sentence_transformers.json defines {})",
                    if known.is_empty() { "no prompts".to_string() } else { format!("{known:?}") }
                ))
            })?),
            (None, None) => self.spec.default_prompt_name.as_ref().and_then(|n| self.spec.prompts.get(n)).cloned(),
        };
        Ok(chosen.filter(|p| !p.is_empty()))
    }

    /// The chunks a long `text` is cut into for a search index, as UTF-16 spans (see
    /// `search::chunk`); `max_tokens` defaults to, and may not exceed, `max_seq_length`.
    pub fn chunk_spans(
        &self,
        text: &str,
        prompt: Option<&str>,
        max_tokens: Option<usize>,
        overlap_tokens: usize,
    ) -> Result<Vec<(usize, usize)>> {
        let limit = self.spec.max_seq_length;
        // A static model reads whole texts; a search index still wants passages of a few hundred tokens.
        let max_tokens = max_tokens.unwrap_or(if self.spec.is_static() { limit.min(STATIC_CHUNK_TOKENS) } else { limit });
        if max_tokens > limit {
            return Err(EmbedError::Input(format!("chunks of {max_tokens} tokens would be truncated: this model reads at most {limit}")));
        }
        let options = crate::search::chunk::ChunkOptions { max_tokens, overlap_tokens };
        crate::search::chunk::chunk_spans(&self.tokenizer, text, prompt, options)
    }

    pub fn tokenize(&self, text: &str, prompt: Option<&str>) -> Result<Tokens> {
        let prompt_length = prompt.map(|p| self.tokenizer.prompt_length(p)).transpose()?.unwrap_or(0);
        Ok(Tokens { ids: self.checked_ids(text, prompt)?, prompt_length })
    }

    /// Token ids, refused when the tokenizer produces ids the embedding table does not have.
    fn checked_ids(&self, text: &str, prompt: Option<&str>) -> Result<Vec<u32>> {
        ids_within_vocab(self.tokenizer.ids(text, prompt)?, &self.spec)
    }

    /// Embeds `texts` (after prepending `prompt`); returns `texts.len() × dimension` row-major.
    /// Natively this waits for the GPU; in wasm it needs the CPU backend (use `encode_async`).
    pub fn encode<S: AsRef<str>>(&mut self, texts: &[S], prompt: Option<&str>, batch_size: usize) -> Result<Vec<f32>> {
        self.refuse_sync_on_gpu("encodeAsync")?;
        finish_now(self.encode_async(texts, prompt, batch_size), "encodeAsync")
    }

    /// In wasm a call that would wait on the GPU must be made async: starting a GPU batch only to
    /// drop it would leave its readback buffer mid-map. Natively every call may block.
    fn refuse_sync_on_gpu(&self, async_name: &str) -> Result<()> {
        if cfg!(target_arch = "wasm32") && self.webgpu.is_some() {
            return Err(EmbedError::Input(format!("the WebGPU backend answers asynchronously: call {async_name}")));
        }
        Ok(())
    }

    /// `encode` on whichever backend is active. A WebGPU failure mid-call (device lost, out of
    /// memory) finishes the call on the CPU and keeps the engine there.
    pub async fn encode_async<S: AsRef<str>>(&mut self, texts: &[S], prompt: Option<&str>, batch_size: usize) -> Result<Vec<f32>> {
        if batch_size == 0 {
            return Err(EmbedError::Input("batchSize must be at least 1".into()));
        }
        // The prompt is the same for every text: its length is counted once per call.
        let prompt_length = prompt.map(|p| self.tokenizer.prompt_length(p)).transpose()?.unwrap_or(0);
        let pool_skip = if self.spec.pooling.include_prompt { 0 } else { prompt_length };
        // Longest first by characters, as sentence-transformers orders them, so each batch pads
        // little; each batch is tokenized when it runs, so memory does not grow with the count.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].as_ref().chars().count()));

        let dimension = self.dimension();
        let mut output = vec![0f32; texts.len() * dimension];
        for chunk in order.chunks(batch_size) {
            let tokenized = chunk.iter().map(|&i| self.checked_ids(texts[i].as_ref(), prompt)).collect::<Result<Vec<_>>>()?;
            let rows: Vec<&[u32]> = tokenized.iter().map(Vec::as_slice).collect();
            let batch = self.make_batch(&rows, pool_skip);
            let pooled = self.embed_batch(&batch).await?;
            let pooled = self.finish_vectors(pooled, chunk.len());
            if let Some(bad) = pooled.iter().position(|v| !v.is_finite()) {
                return Err(EmbedError::Inference(format!(
                    "the model produced a non-finite value for texts[{}]; its weights hold NaN or infinity, or overflow f32",
                    chunk[bad / dimension]
                )));
            }
            for (row, &index) in chunk.iter().enumerate() {
                output[index * dimension..(index + 1) * dimension].copy_from_slice(&pooled[row * dimension..(row + 1) * dimension]);
            }
        }
        Ok(output)
    }

    /// A reranker's scores for `(first, second)` text pairs: `pairs.len() × num_labels` row-major,
    /// the folder's activation applied, as `CrossEncoder.predict` returns them.
    pub fn score_pairs<A: AsRef<str>, B: AsRef<str>>(&mut self, pairs: &[(A, B)], batch_size: usize) -> Result<Vec<f32>> {
        self.refuse_sync_on_gpu("scorePairsAsync")?;
        finish_now(self.score_pairs_async(pairs, batch_size), "scorePairsAsync")
    }

    /// `score_pairs` on whichever backend is active (a GPU failure finishes on the CPU, as in `encode_async`).
    pub async fn score_pairs_async<A: AsRef<str>, B: AsRef<str>>(&mut self, pairs: &[(A, B)], batch_size: usize) -> Result<Vec<f32>> {
        if self.classifier.is_none() {
            return Err(EmbedError::Input(
                "this model is an embedding model, not a reranker: load a CrossEncoder folder with Reranker.load".into(),
            ));
        }
        if batch_size == 0 {
            return Err(EmbedError::Input("batchSize must be at least 1".into()));
        }
        let length = |i: usize| pairs[i].0.as_ref().chars().count() + pairs[i].1.as_ref().chars().count();
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(length(i)));
        let labels = self.num_labels();
        let mut output = vec![0f32; pairs.len() * labels];
        for chunk in order.chunks(batch_size) {
            let tokenized =
                chunk.iter().map(|&i| self.checked_pair(pairs[i].0.as_ref(), pairs[i].1.as_ref())).collect::<Result<Vec<_>>>()?;
            let rows: Vec<&[u32]> = tokenized.iter().map(|(ids, _)| ids.as_slice()).collect();
            let mut batch = self.make_batch(&rows, 0);
            if tokenized.iter().any(|(_, types)| types.iter().any(|&t| t > 0)) {
                batch.types = vec![0; batch.batch * batch.seq_len];
                for (row, (_, types)) in tokenized.iter().enumerate() {
                    batch.types[row * batch.seq_len..row * batch.seq_len + types.len()].copy_from_slice(types);
                }
            }
            let first_tokens = self.embed_batch(&batch).await?;
            let classifier = self.classifier.as_ref().expect("checked above");
            let scores = classifier.scores(&first_tokens);
            if let Some(bad) = scores.iter().position(|v| !v.is_finite()) {
                return Err(EmbedError::Inference(format!(
                    "the model produced a non-finite score for pairs[{}]; its weights hold NaN or infinity, or overflow f32",
                    chunk[bad / labels]
                )));
            }
            for (row, &index) in chunk.iter().enumerate() {
                output[index * labels..(index + 1) * labels].copy_from_slice(&scores[row * labels..(row + 1) * labels]);
            }
        }
        Ok(output)
    }

    /// A pair's ids and token types, refused when either is beyond the model's tables.
    fn checked_pair(&self, first: &str, second: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        let (ids, types) = self.tokenizer.pair_ids(first, second)?;
        let ids = ids_within_vocab(ids, &self.spec)?;
        let type_vocab = self.spec.encoder.type_vocab_size;
        if let Some(&bad) = types.iter().find(|&&t| t as usize >= type_vocab) {
            return Err(EmbedError::config(
                folder::TOKENIZER,
                format!("gives token type id {bad} to a text pair, beyond config.json's type_vocab_size {type_vocab}"),
            ));
        }
        Ok((ids, types))
    }

    async fn embed_batch(&mut self, batch: &TokenBatch) -> Result<Vec<f32>> {
        let on_gpu = self.route.uses_gpu(batch.batch * batch.seq_len);
        if let Some(gpu) = self.webgpu.as_mut().filter(|_| on_gpu) {
            self.last_batch_backend = "webgpu";
            match gpu.embed(batch).await {
                Ok(pooled) => return Ok(pooled),
                Err(error) => {
                    // Whatever broke, the GPU is not trusted again: this batch and the rest run on the CPU.
                    self.fallback_reason = Some(error.to_string());
                    self.webgpu = None;
                }
            }
        }
        self.last_batch_backend = "cpu";
        self.cpu.embed(batch).await
    }

    fn make_batch(&self, rows: &[&[u32]], pool_skip: usize) -> TokenBatch {
        let seq_len = rows.iter().map(|ids| ids.len()).max().unwrap_or(0).max(1);
        let pad = self.spec.encoder.pad_token_id;
        let mut batch = TokenBatch {
            batch: rows.len(),
            seq_len,
            lengths: rows.iter().map(|ids| ids.len()).collect(),
            ids: Vec::with_capacity(rows.len() * seq_len),
            mask: Vec::with_capacity(rows.len() * seq_len),
            positions: Vec::with_capacity(rows.len() * seq_len),
            types: Vec::new(),
            pool_skip,
        };
        for ids in rows {
            let len = ids.len();
            batch.ids.extend_from_slice(ids);
            batch.ids.extend(std::iter::repeat_n(pad, seq_len - len));
            batch.mask.extend((0..seq_len).map(|i| if i < len { 1.0 } else { 0.0 }));
            model::positions(&self.spec.encoder, len, seq_len, &mut batch.positions);
        }
        batch
    }
}

/// Runs an engine call's future to its end now: natively by blocking on it; in wasm by polling it
/// once, which finishes every CPU-backend call (nothing in it waits).
fn finish_now<T>(future: impl std::future::Future<Output = Result<T>>, async_name: &str) -> Result<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = async_name;
        pollster::block_on(future)
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(result) => result,
            std::task::Poll::Pending => Err(EmbedError::Input(format!("the WebGPU backend answers asynchronously: call {async_name}"))),
        }
    }
}

fn quicker(a: Sample, b: Sample) -> Sample {
    if b.ms < a.ms {
        b
    } else {
        a
    }
}

/// Runs one batch on `backend`: its embeddings, and how long it took.
async fn time_batch(backend: &mut dyn Backend, batch: &TokenBatch, now: fn() -> f64) -> Result<(Vec<f32>, Sample)> {
    let start = now();
    let pooled = backend.embed(batch).await?;
    Ok((pooled, Sample { tokens: batch.batch * batch.seq_len, ms: now() - start }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(layers: usize, hidden: usize, vocab: usize) -> ModelSpec {
        let mut files = ModelFiles::new();
        let config = serde_json::json!({"architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
            "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 16, "intermediate_size": 4 * hidden,
            "vocab_size": vocab, "max_position_embeddings": 514, "type_vocab_size": 1});
        files.insert("config.json", config.to_string().into_bytes());
        ModelSpec::from_files(&files).unwrap()
    }

    #[test]
    fn multilingual_e5_large_fits_wasm32() {
        // 24 × 1024 with a 250k vocabulary: about 560M parameters, 2.24 GB as f32.
        let large = spec(24, 1024, 250_002);
        assert!((2.2e9..2.3e9).contains(&(large.encoder.weight_bytes() as f64)));
        check_fits(&large, WASM32_WEIGHT_BUDGET).unwrap();
    }

    #[test]
    fn a_model_beyond_wasm32_is_too_large() {
        let err = check_fits(&spec(48, 4096, 250_002), WASM32_WEIGHT_BUDGET).unwrap_err();
        assert_eq!(err.code(), "E_TOO_LARGE");
        assert!(err.to_string().contains("GB"), "{err}");
    }
}
