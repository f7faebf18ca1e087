//! How `backend: 'auto'` splits work between the CPU and a real GPU. Each backend's time for a
//! batch is modelled as a fixed cost plus a cost per padded token, fitted from batches timed at
//! load; every batch then runs where that model says it is faster. Small models on small
//! batches are often faster on the CPU (no upload, no readback), big batches on the GPU.

use serde::Serialize;

/// One timed batch: its padded token count (rows × longest row) and milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub tokens: usize,
    pub ms: f64,
}

/// `fixed_ms + per_token_ms × tokens`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostLine {
    pub fixed_ms: f64,
    pub per_token_ms: f64,
}

impl CostLine {
    /// The line through a short and a long sample. Timing noise can give a negative slope or
    /// intercept; both are clamped at zero so the line never predicts a negative time.
    pub fn fit(short: Sample, long: Sample) -> Self {
        if long.tokens <= short.tokens {
            return Self::proportional(short);
        }
        let per_token_ms = ((long.ms - short.ms) / (long.tokens - short.tokens) as f64).max(0.0);
        CostLine { fixed_ms: (short.ms - per_token_ms * short.tokens as f64).max(0.0), per_token_ms }
    }

    /// The line through one sample and the origin: the cost when only the short batch was timed
    /// (a backend too slow to time a long batch within the budget). It overstates big batches,
    /// which is the safe side for a backend that slow.
    pub fn proportional(sample: Sample) -> Self {
        CostLine { fixed_ms: 0.0, per_token_ms: sample.ms / sample.tokens.max(1) as f64 }
    }

    pub fn predict(&self, tokens: usize) -> f64 {
        self.fixed_ms + self.per_token_ms * tokens as f64
    }
}

/// The smallest batch there is: one text of nothing but the two special tokens around it.
const MIN_BATCH_TOKENS: usize = 2;

/// Where batches run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Route {
    Cpu,
    Gpu,
    /// Each batch on whichever line predicts less time for its padded token count.
    ByTokens {
        cpu: CostLine,
        gpu: CostLine,
    },
}

impl Route {
    /// The route for two fitted lines over batches of `MIN_BATCH_TOKENS` to `max_tokens` padded
    /// tokens. Two lines cross at most once, so comparing the two ends says whether one backend
    /// wins everywhere. (A crossing below the smallest real batch, as a noisy short sample can
    /// fit, routes nothing and is not a split.)
    pub fn from_lines(cpu: CostLine, gpu: CostLine, max_tokens: usize) -> Self {
        let gpu_wins = |tokens: usize| gpu.predict(tokens) < cpu.predict(tokens);
        match (gpu_wins(MIN_BATCH_TOKENS), gpu_wins(max_tokens.max(MIN_BATCH_TOKENS))) {
            (false, false) => Route::Cpu,
            (true, true) => Route::Gpu,
            _ => Route::ByTokens { cpu, gpu },
        }
    }

    pub fn uses_gpu(&self, tokens: usize) -> bool {
        match self {
            Route::Cpu => false,
            Route::Gpu => true,
            Route::ByTokens { cpu, gpu } => gpu.predict(tokens) < cpu.predict(tokens),
        }
    }

    /// The padded token count from which batches move to the GPU, when the route splits that way.
    pub fn gpu_from_tokens(&self) -> Option<f64> {
        match self {
            Route::ByTokens { cpu, gpu } if cpu.per_token_ms > gpu.per_token_ms => {
                Some((gpu.fixed_ms - cpu.fixed_ms) / (cpu.per_token_ms - gpu.per_token_ms))
            }
            _ => None,
        }
    }

    /// "cpu", "webgpu" or "per-batch", as `model.backendChoice.chosen` reports it.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Cpu => "cpu",
            Route::Gpu => "webgpu",
            Route::ByTokens { .. } => "per-batch",
        }
    }
}

/// What the timing at load measured and decided (`model.backendChoice` in the package).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Calibration {
    pub chosen: &'static str,
    pub cpu: Vec<Sample>,
    pub webgpu: Vec<Sample>,
    pub cpu_line: CostLine,
    pub webgpu_line: CostLine,
    /// Padded tokens from which a batch runs on the GPU (per-batch routes only).
    pub gpu_from_tokens: Option<f64>,
    /// Milliseconds the timing added to the load.
    pub spent_ms: f64,
}

/// The most padded tokens a long timing batch may have.
pub const LONG_TOKENS_MAX: usize = 8 * 64;

/// Padded tokens of the long batch a backend can afford: what its short batch's rate says fits
/// in `allowance_ms`, capped; `None` when not even twice the short batch fits.
pub fn affordable_long_tokens(short: Sample, allowance_ms: f64) -> Option<usize> {
    let rate = short.ms.max(1e-3) / short.tokens.max(1) as f64;
    let tokens = ((allowance_ms / rate) as usize).min(LONG_TOKENS_MAX);
    (tokens >= 2 * short.tokens).then_some(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPU: CostLine = CostLine { fixed_ms: 3.0, per_token_ms: 0.005 };
    const CPU: CostLine = CostLine { fixed_ms: 0.5, per_token_ms: 0.1 };

    #[test]
    fn a_line_through_two_samples_predicts_both() {
        let line = CostLine::fit(Sample { tokens: 16, ms: 2.1 }, Sample { tokens: 512, ms: 51.7 });
        assert!((line.predict(16) - 2.1).abs() < 1e-9 && (line.predict(512) - 51.7).abs() < 1e-9, "{line:?}");
        // A long batch timed faster than the short one (noise) gives a flat line, never a negative one.
        let flat = CostLine::fit(Sample { tokens: 16, ms: 5.0 }, Sample { tokens: 512, ms: 4.0 });
        assert_eq!(flat, CostLine { fixed_ms: 5.0, per_token_ms: 0.0 });
    }

    #[test]
    fn small_batches_go_to_the_cpu_and_big_ones_to_the_gpu() {
        let route = Route::from_lines(CPU, GPU, 32 * 256);
        assert_eq!(route.name(), "per-batch");
        let crossover = route.gpu_from_tokens().unwrap();
        assert!((crossover - 2.5 / 0.095).abs() < 1e-9, "{crossover}");
        assert!(!route.uses_gpu(16) && !route.uses_gpu(26));
        assert!(route.uses_gpu(27) && route.uses_gpu(8192));
    }

    #[test]
    fn one_backend_faster_everywhere_takes_every_batch() {
        let slow_gpu = CostLine { fixed_ms: 40.0, per_token_ms: 0.2 };
        assert_eq!(Route::from_lines(CPU, slow_gpu, 8192), Route::Cpu);
        let fast_gpu = CostLine { fixed_ms: 0.1, per_token_ms: 0.001 };
        assert_eq!(Route::from_lines(CPU, fast_gpu, 8192), Route::Gpu);
        // The crossover lies past the biggest batch the model can get: the CPU takes them all.
        assert_eq!(Route::from_lines(CPU, GPU, 20), Route::Cpu);
        // A noisy short CPU sample (SwiftShader run, CI) fitted a 30 ms fixed cost: the lines then
        // cross below one token, where no batch is, so the CPU still takes them all.
        let noisy_cpu = CostLine { fixed_ms: 30.03, per_token_ms: 0.319 };
        let swiftshader = CostLine { fixed_ms: 0.0, per_token_ms: 29.13 };
        assert_eq!(Route::from_lines(noisy_cpu, swiftshader, 8192), Route::Cpu);
    }

    #[test]
    fn the_long_batch_fits_the_allowance() {
        let quick = Sample { tokens: 16, ms: 1.0 };
        assert_eq!(affordable_long_tokens(quick, 100.0), Some(LONG_TOKENS_MAX));
        assert_eq!(affordable_long_tokens(Sample { tokens: 16, ms: 4.0 }, 100.0), Some(400));
        // SwiftShader-slow: not even 32 tokens fit.
        assert_eq!(affordable_long_tokens(Sample { tokens: 16, ms: 80.0 }, 100.0), None);
    }
}
