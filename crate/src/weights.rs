//! Weight files → named f32 tensors, with the architecture prefixes (`bert.`, `roberta.`, …)
//! that some exports add stripped, so the encoder sees one naming scheme.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use crate::error::{EmbedError, Result};
use crate::files::ModelFiles;
use crate::folder::{self, Dtype, WeightLayout};

pub struct Weights {
    /// The file (or files) the tensors came from, for error messages.
    file: String,
    tensors: HashMap<String, Tensor>,
}

impl Weights {
    pub fn new(file: &str) -> Self {
        Weights { file: file.to_string(), tensors: HashMap::new() }
    }

    /// Reads the first weight layout of `folder::weight_files` that `files` holds, taking each
    /// file's bytes out as it is read so they are dropped once they are tensors.
    pub fn from_files(files: &mut ModelFiles) -> Result<Self> {
        let device = Device::Cpu;
        let candidates = folder::weight_files(Dtype::F32);
        for candidate in &candidates {
            let Some(bytes) = files.take(candidate.name) else { continue };
            let mut loaded = Weights::new(candidate.name);
            match candidate.layout {
                WeightLayout::Safetensors => loaded.add_safetensors(candidate.name, &bytes, &device)?,
                WeightLayout::ShardIndex => {
                    for shard in folder::shard_files(&bytes)? {
                        let shard_bytes = files
                            .take(&shard)
                            .ok_or_else(|| EmbedError::weights(&shard, format!("missing: {} lists it", candidate.name)))?;
                        loaded.add_safetensors(&shard, &shard_bytes, &device)?;
                    }
                }
                WeightLayout::PytorchBin => loaded.add_pytorch_bin(candidate.name, &bytes, &device)?,
            }
            return Ok(loaded);
        }
        let names: Vec<&str> = candidates.iter().map(|c| c.name).collect();
        Err(EmbedError::weights(folder::SAFETENSORS, format!("missing: the model folder has none of {}", names.join(", "))))
    }

    /// Adds the tensors of one safetensors file (or shard).
    pub fn add_safetensors(&mut self, file: &str, bytes: &[u8], device: &Device) -> Result<()> {
        let raw = candle_core::safetensors::load_buffer(bytes, device)
            .map_err(|e| EmbedError::weights(file, format!("is not a complete safetensors file ({} bytes): {e}", bytes.len())))?;
        for (name, tensor) in raw {
            self.insert(&name, tensor)?;
        }
        Ok(())
    }

    /// Adds the tensors of a `torch.save` state dict (a zip holding `data.pkl` and raw storages).
    pub fn add_pytorch_bin(&mut self, file: &str, bytes: &[u8], device: &Device) -> Result<()> {
        let bad = |reason: String| EmbedError::weights(file, reason);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| bad(format!("is not a PyTorch zip archive ({} bytes): {e}", bytes.len())))?;
        let pickle_name = zip
            .file_names()
            .filter_map(|name| name.ok().map(|n| n.into_owned()))
            .find(|name| name.ends_with("data.pkl"))
            .ok_or_else(|| bad("holds no data.pkl; only the zip format of torch.save (PyTorch >= 1.6) is read".into()))?;
        let dir_name = pickle_name.trim_end_matches(".pkl").to_string();
        let mut stack = candle_core::pickle::Stack::empty();
        {
            let entry = zip.by_name(&pickle_name).map_err(|e| bad(e.to_string()))?;
            stack.read_loop(&mut std::io::BufReader::new(entry)).map_err(|e| bad(format!("data.pkl: {e}")))?;
        }
        let object = stack.finalize().map_err(|e| bad(format!("data.pkl: {e}")))?;
        let candle_core::pickle::Object::Dict(entries) = object else {
            return Err(bad("data.pkl is not a state dict".into()));
        };
        for (name, value) in entries {
            let Some(info) = value.into_tensor_info(name, std::path::Path::new(&dir_name)).map_err(|e| bad(e.to_string()))? else {
                continue;
            };
            if !info.layout.is_contiguous() {
                return Err(bad(format!("tensor `{}` is stored non-contiguously", info.name)));
            }
            let mut storage = Vec::new();
            {
                use std::io::Read;
                let mut entry = zip.by_name(&info.path).map_err(|e| bad(format!("{}: {e}", info.path)))?;
                entry.read_to_end(&mut storage).map_err(|e| bad(format!("{}: {e}", info.path)))?;
            }
            let size = info.dtype.size_in_bytes();
            let start = info.layout.start_offset() * size;
            let end = start + info.layout.shape().elem_count() * size;
            let data = storage.get(start..end).ok_or_else(|| bad(format!("tensor `{}` runs past its storage", info.name)))?;
            let tensor = Tensor::from_raw_buffer(data, info.dtype, info.layout.dims(), device)?;
            self.insert(&info.name, tensor)?;
        }
        Ok(())
    }

    /// Adds one tensor handed over on its own (the browser streams a safetensors file tensor by
    /// tensor, so the whole file never sits in wasm memory beside its tensors).
    pub fn add_f32(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> Result<()> {
        check_len(name, shape, values.len())?;
        self.insert(name, Tensor::from_vec(values, shape, &Device::Cpu)?)
    }

    /// Adds a float16 (`bfloat16: false`) or bfloat16 tensor given as raw 16-bit words.
    pub fn add_half(&mut self, name: &str, shape: &[usize], words: &[u16], bfloat16: bool) -> Result<()> {
        check_len(name, shape, words.len())?;
        let values: Vec<f32> = if bfloat16 {
            words.iter().map(|&w| half::bf16::from_bits(w).to_f32()).collect()
        } else {
            words.iter().map(|&w| half::f16::from_bits(w).to_f32()).collect()
        };
        self.insert(name, Tensor::from_vec(values, shape, &Device::Cpu)?)
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    fn insert(&mut self, name: &str, tensor: Tensor) -> Result<()> {
        let tensor = if tensor.dtype() == DType::F32 { tensor } else { tensor.to_dtype(DType::F32)? };
        self.tensors.insert(strip_prefix(name).to_string(), tensor);
        Ok(())
    }

    /// Takes a tensor out (so the map does not keep a second reference alive) and checks its shape.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let tensor = self.tensors.remove(name).ok_or_else(|| EmbedError::weights(&self.file, format!("has no tensor `{name}`")))?;
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

fn check_len(name: &str, shape: &[usize], len: usize) -> Result<()> {
    let expected: usize = shape.iter().product();
    if expected == len {
        Ok(())
    } else {
        Err(EmbedError::weights(name, format!("tensor of shape {shape:?} needs {expected} values, got {len}")))
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
