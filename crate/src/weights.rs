//! Weight files → named f32 tensors, with the architecture prefixes (`bert.`, `roberta.`, …)
//! that some exports add stripped, so the encoder sees one naming scheme.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use crate::error::{EmbedError, Result};

/// Weight files we look for, in order of preference.
pub const WEIGHT_FILES: &[&str] = &["model.safetensors"];

pub struct Weights {
    file: String,
    tensors: HashMap<String, Tensor>,
}

impl Weights {
    pub fn from_safetensors(file: &str, bytes: &[u8], device: &Device) -> Result<Self> {
        let raw = candle_core::safetensors::load_buffer(bytes, device).map_err(|e| {
            EmbedError::weights(file, format!("is not a complete safetensors file ({} bytes): {e}", bytes.len()))
        })?;
        let mut tensors = HashMap::with_capacity(raw.len());
        for (name, tensor) in raw {
            let tensor = if tensor.dtype() == DType::F32 { tensor } else { tensor.to_dtype(DType::F32)? };
            tensors.insert(strip_prefix(&name).to_string(), tensor);
        }
        Ok(Weights { file: file.to_string(), tensors })
    }

    /// Takes a tensor out (so the map does not keep a second reference alive) and checks its shape.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let tensor = self
            .tensors
            .remove(name)
            .ok_or_else(|| EmbedError::weights(&self.file, format!("has no tensor `{name}`")))?;
        if tensor.dims() != shape {
            return Err(EmbedError::weights(
                &self.file,
                format!("tensor `{name}` has shape {:?}, the config implies {shape:?}", tensor.dims()),
            ));
        }
        Ok(tensor)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

fn strip_prefix(name: &str) -> &str {
    for prefix in ["bert.", "roberta.", "xlm_roberta.", "model.", "0.auto_model."] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest;
        }
    }
    name
}
