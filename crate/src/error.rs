//! One error type for the whole engine. Each variant carries a stable code that the JS layer
//! exposes as `error.code`, so applications can branch on it without parsing messages.

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A configuration file is missing, is not JSON, or holds values we cannot honour.
    #[error("{file}: {reason}")]
    Config { file: String, reason: String },
    /// The weight file cannot be read or lacks a tensor the architecture needs.
    #[error("{file}: {reason}")]
    Weights { file: String, reason: String },
    /// `tokenizer.json` could not be loaded or a text could not be tokenized.
    #[error("{file}: {reason}")]
    Tokenizer { file: String, reason: String },
    /// The model needs more memory than the platform can give (wasm32 addresses 4 GiB).
    #[error("{0}")]
    TooLarge(String),
    /// The caller passed something we cannot embed.
    #[error("{0}")]
    Input(String),
    /// The forward pass failed; this is a bug or an exhausted resource, not bad input.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The WebGPU backend cannot start (no adapter, limits too small, self-test failed) or the
    /// device failed mid-call (lost, out of memory).
    #[error("WebGPU: {0}")]
    WebGpu(String),
}

impl EmbedError {
    pub fn code(&self) -> &'static str {
        match self {
            EmbedError::Config { .. } => "E_CONFIG",
            EmbedError::Weights { .. } => "E_WEIGHTS",
            EmbedError::Tokenizer { .. } => "E_TOKENIZER",
            EmbedError::TooLarge(_) => "E_TOO_LARGE",
            EmbedError::Input(_) => "E_INPUT",
            EmbedError::Inference(_) => "E_INFERENCE",
            EmbedError::WebGpu(_) => "E_WEBGPU",
        }
    }

    pub fn config(file: &str, reason: impl Into<String>) -> Self {
        EmbedError::Config { file: file.to_string(), reason: reason.into() }
    }

    pub fn weights(file: &str, reason: impl Into<String>) -> Self {
        EmbedError::Weights { file: file.to_string(), reason: reason.into() }
    }
}

impl From<candle_core::Error> for EmbedError {
    fn from(err: candle_core::Error) -> Self {
        EmbedError::Inference(err.to_string())
    }
}

pub type Result<T> = std::result::Result<T, EmbedError>;
