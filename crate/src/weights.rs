//! Weight files → named tensors, with the architecture prefixes (`bert.`, `roberta.`, …) that
//! some exports add stripped, so the model sees one naming scheme. Float tensors are kept as f32;
//! q8 matrices (`crate::quantize`) come either from a q8 file (I8 + scale tensors) or from
//! quantizing float tensors as they arrive, block of rows by block of rows, so a q8 load never
//! holds a whole f32 matrix.

use std::collections::{HashMap, HashSet};

use candle_core::{Device, Tensor};

use crate::error::{EmbedError, Result};
use crate::files::ModelFiles;
use crate::folder::{self, Dtype, WeightLayout};
use crate::pickle::{self, StorageType};
use crate::quantize::{self, Matrix, Quantize, QuantizedRows};

/// Which float tensors a q8 load quantizes, and how, by (prefix-stripped) name and shape.
pub type QuantizeRule = fn(&str, &[usize]) -> Option<Quantize>;

/// Float rows that a q8 load quantizes at a time when a file is read whole (natively).
const ROWS_BLOCK_VALUES: usize = 1 << 20;

/// A float tensor still arriving in blocks of rows.
struct PartialFloat {
    shape: Vec<usize>,
    values: Vec<f32>,
    rows_done: usize,
}

pub struct Weights {
    /// The file (or files) the tensors came from, for error messages.
    file: String,
    tensors: HashMap<String, Tensor>,
    quantized: HashMap<String, QuantizedRows>,
    /// Rows of each quantized tensor received so far (it is complete when all have arrived).
    quantized_rows_done: HashMap<String, usize>,
    /// I8 tensors of a q8 file, waiting for their scales.
    int8: HashMap<String, (Vec<usize>, Vec<i8>)>,
    partial: HashMap<String, PartialFloat>,
    /// Set for a q8 load: float tensors this rule picks are quantized as they arrive.
    quantize: Option<QuantizeRule>,
    /// Whether a q8 file's metadata was checked, which int8 tensors need first.
    q8_file_checked: bool,
    /// The int8 tensors a q8 file stores rotated (its metadata lists them).
    rotated_in_file: HashSet<String>,
    /// Integer tensors (a model2vec token mapping; BERT's `position_ids` buffer, unused), as
    /// non-negative indices.
    indices: HashMap<String, (Vec<usize>, Vec<u32>)>,
}

/// Little-endian float data as f32; `None` for storages that hold no weights (integers).
fn float_values(dtype: StorageType, data: &[u8]) -> Option<Vec<f32>> {
    let convert = |width: usize, one: &dyn Fn(&[u8]) -> f32| data.chunks_exact(width).map(one).collect();
    Some(match dtype {
        StorageType::F32 => convert(4, &|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        StorageType::F16 => convert(2, &|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()),
        StorageType::BF16 => convert(2, &|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        StorageType::F64 => convert(8, &|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32),
        StorageType::Other(_) => return None,
    })
}

/// The folder (a path prefix) the input module's weights are in (see `folder::FolderPlan`).
fn weights_dir(files: &ModelFiles) -> Result<String> {
    Ok(folder::folder_plan(files.get(folder::MODULES))?.weights_dir)
}

/// (rows, values per row) of a tensor: its first dimension, and the product of the others.
fn rows_and_width(name: &str, shape: &[usize]) -> Result<(usize, usize)> {
    let width = shape.iter().skip(1).try_fold(1usize, |a, &d| a.checked_mul(d));
    let rows = shape.first().copied().unwrap_or(1);
    match width {
        Some(width) if rows.checked_mul(width).is_some() => Ok((rows, width)),
        _ => Err(EmbedError::weights(name, format!("tensor shape {shape:?} has more elements than this platform can count"))),
    }
}

impl Weights {
    pub fn new(file: &str) -> Self {
        Weights {
            file: file.to_string(),
            tensors: HashMap::new(),
            quantized: HashMap::new(),
            quantized_rows_done: HashMap::new(),
            int8: HashMap::new(),
            partial: HashMap::new(),
            quantize: None,
            q8_file_checked: false,
            rotated_in_file: HashSet::new(),
            indices: HashMap::new(),
        }
    }

    /// Weights for a q8 load: float tensors `rule` picks are quantized as they arrive.
    pub fn quantizing(file: &str, rule: QuantizeRule) -> Self {
        Weights { quantize: Some(rule), ..Weights::new(file) }
    }

    /// Reads the first weight layout of `folder::weight_files(dtype)` that `files` holds, taking
    /// each file's bytes out as it is read so they are dropped once they are tensors. A q8 load
    /// quantizes the float tensors `rule` picks.
    pub fn from_files(files: &mut ModelFiles, dtype: Dtype, rule: QuantizeRule) -> Result<Self> {
        let dir = weights_dir(files)?;
        Self::read_first(files, &folder::weight_files_in(&dir, dtype), &dir, (dtype == Dtype::Q8).then_some(rule))
    }

    /// `from_files` for empty weights made with `new` (f32) or `quantizing` (q8).
    pub fn read_files(self, files: &mut ModelFiles) -> Result<Self> {
        let dtype = if self.quantize.is_some() { Dtype::Q8 } else { Dtype::F32 };
        let dir = weights_dir(files)?;
        Self::read_first(files, &folder::weight_files_in(&dir, dtype), &dir, self.quantize)
    }

    /// The float weights of a folder, quantized by `rule` as they are read (what a q8 file holds).
    pub fn quantized_from_float_files(files: &mut ModelFiles, rule: QuantizeRule) -> Result<Self> {
        let dir = weights_dir(files)?;
        Self::read_first(files, &folder::weight_files_in(&dir, Dtype::F32), &dir, Some(rule))
    }

    fn read_first(
        files: &mut ModelFiles,
        candidates: &[(String, folder::WeightFile)],
        dir: &str,
        quantize: Option<QuantizeRule>,
    ) -> Result<Self> {
        for (name, candidate) in candidates {
            let Some(bytes) = files.take(name) else { continue };
            let mut loaded = Weights { quantize, ..Weights::new(name) };
            match candidate.layout {
                WeightLayout::Safetensors => loaded.add_safetensors(name, &bytes)?,
                WeightLayout::ShardIndex => {
                    for shard in folder::shard_files(&bytes)? {
                        let path = format!("{dir}{shard}");
                        let shard_bytes =
                            files.take(&path).ok_or_else(|| EmbedError::weights(&path, format!("missing: {name} lists it")))?;
                        loaded.add_safetensors(&path, &shard_bytes)?;
                    }
                }
                WeightLayout::PytorchBin => loaded.add_pytorch_bin(name, &bytes)?,
            }
            return Ok(loaded);
        }
        let names: Vec<&str> = candidates.iter().map(|(name, _)| name.as_str()).collect();
        Err(EmbedError::weights(folder::SAFETENSORS, format!("missing: the model folder has none of {}", names.join(", "))))
    }

    /// The tensors of one small weight file of a module (a Dense layer's), each name prefixed by
    /// `prefix` so that two modules' `linear.weight` stay apart; f32 (a q8 load quantizes them
    /// too, by `rule`).
    pub fn add_module_file(&mut self, file: &str, bytes: &[u8], prefix: &str) -> Result<()> {
        let mut module = Weights { quantize: None, ..Weights::new(file) };
        if file.ends_with(folder::PYTORCH_BIN) {
            module.add_pytorch_bin(file, bytes)?;
        } else {
            module.add_safetensors(file, bytes)?;
        }
        for (name, tensor) in module.tensors {
            let values = tensor.flatten_all()?.to_vec1::<f32>()?;
            self.add_float_blocks(&format!("{prefix}{name}"), tensor.dims(), &values)?;
        }
        for (name, (shape, indices)) in module.indices {
            self.indices.insert(format!("{prefix}{name}"), (shape, indices));
        }
        Ok(())
    }

    /// Adds the tensors of one safetensors file (or shard).
    pub fn add_safetensors(&mut self, file: &str, bytes: &[u8]) -> Result<()> {
        let bad = |e: safetensors::SafeTensorError| {
            EmbedError::weights(file, format!("is not a complete safetensors file ({} bytes): {e}", bytes.len()))
        };
        let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes).map_err(bad)?;
        let file_tensors = safetensors::SafeTensors::deserialize(bytes).map_err(bad)?;
        let mut names = file_tensors.names();
        names.sort();
        if file_tensors.tensors().iter().any(|(_, view)| view.dtype() == safetensors::Dtype::I8) {
            self.accept_q8_file(file, metadata.metadata().as_ref())?;
        }
        for name in names {
            let view = file_tensors.tensor(name).map_err(bad)?;
            let (shape, data) = (view.shape().to_vec(), view.data());
            let dtype = match view.dtype() {
                safetensors::Dtype::F32 => StorageType::F32,
                safetensors::Dtype::F16 => StorageType::F16,
                safetensors::Dtype::BF16 => StorageType::BF16,
                safetensors::Dtype::F64 => StorageType::F64,
                safetensors::Dtype::I8 => {
                    self.add_i8(name, &shape, data.iter().map(|&b| b as i8).collect())?;
                    continue;
                }
                safetensors::Dtype::I64 => {
                    self.add_indices(
                        name,
                        &shape,
                        data.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).collect(),
                    )?;
                    continue;
                }
                safetensors::Dtype::I32 => {
                    let values = data.chunks_exact(4).map(|b| i32::from_le_bytes(b.try_into().unwrap_or([0; 4])) as i64).collect();
                    self.add_indices(name, &shape, values)?;
                    continue;
                }
                // Other integer buffers are not weights.
                _ => continue,
            };
            if let Some(values) = float_values(dtype, data) {
                self.add_float_blocks(name, &shape, &values)?;
            }
        }
        Ok(())
    }

    /// Adds the tensors of a `torch.save` state dict (a zip holding `data.pkl` and raw storages).
    /// Nothing read from the zip may exceed the zip's own size (a compressed entry could).
    pub fn add_pytorch_bin(&mut self, file: &str, bytes: &[u8]) -> Result<()> {
        let bad = |reason: String| EmbedError::weights(file, reason);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| bad(format!("is not a PyTorch zip archive ({} bytes): {e}", bytes.len())))?;
        let pickle_name = zip
            .file_names()
            .filter_map(|name| name.ok().map(|n| n.into_owned()))
            .find(|name| name.ends_with("data.pkl"))
            .ok_or_else(|| bad("holds no data.pkl; only the zip format of torch.save (PyTorch >= 1.6) is read".into()))?;
        let dir_name = pickle_name.trim_end_matches(".pkl").to_string();
        let read_entry = |zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, entry_name: &str| -> Result<Vec<u8>> {
            use std::io::Read;
            let entry = zip.by_name(entry_name).map_err(|e| bad(format!("{entry_name}: {e}")))?;
            let mut data = Vec::new();
            entry.take(bytes.len() as u64 + 1).read_to_end(&mut data).map_err(|e| bad(format!("{entry_name}: {e}")))?;
            if data.len() > bytes.len() {
                return Err(bad(format!("{entry_name} unpacks to more bytes than the whole file holds")));
            }
            Ok(data)
        };
        let pickle = read_entry(&mut zip, &pickle_name)?;
        let records = pickle::read_state_dict(&pickle).map_err(|e| bad(format!("data.pkl {e}")))?;
        drop(pickle);
        for record in records {
            let (name, size) = (&record.name, record.dtype.size());
            let storage = read_entry(&mut zip, &format!("{dir_name}/{}", record.storage))?;
            let count = record.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            let contiguous = record.shape.iter().rev().scan(1usize, |step, &d| {
                let stride = *step;
                *step = step.saturating_mul(d);
                Some(stride)
            });
            let strides_ok = record.stride.len() == record.shape.len()
                && contiguous
                    .zip(record.stride.iter().rev())
                    .zip(record.shape.iter().rev())
                    .all(|((want, &got), &d)| d <= 1 || want == got);
            if !strides_ok {
                return Err(bad(format!(
                    "tensor `{name}` is stored non-contiguously (stride {:?} for shape {:?})",
                    record.stride, record.shape
                )));
            }
            let range = count.and_then(|c| {
                let start = record.offset.checked_mul(size)?;
                Some(start..start.checked_add(c.checked_mul(size)?)?)
            });
            let data = range.and_then(|r| storage.get(r)).ok_or_else(|| {
                bad(format!(
                    "tensor `{name}` ({:?} at offset {}) runs past its storage of {} bytes",
                    record.shape,
                    record.offset,
                    storage.len()
                ))
            })?;
            let Some(values) = float_values(record.dtype, data) else { continue };
            self.add_float_blocks(name, &record.shape, &values)?;
        }
        Ok(())
    }

    /// Adds a whole float tensor in blocks of rows, as a q8 load quantizes them.
    fn add_float_blocks(&mut self, name: &str, shape: &[usize], values: &[f32]) -> Result<()> {
        let (_, width) = rows_and_width(name, shape)?;
        check_len(name, shape, shape.iter().product(), values.len())?;
        let rows_per_block = (ROWS_BLOCK_VALUES / width.max(1)).max(1);
        for (block, chunk) in values.chunks(rows_per_block * width.max(1)).enumerate() {
            self.add_rows(name, shape, block * rows_per_block, chunk)?;
        }
        if values.is_empty() {
            self.add_rows(name, shape, 0, &[])?;
        }
        Ok(())
    }

    /// Checks a q8 file's metadata (scheme and version) before any of its int8 tensors is read.
    pub fn accept_q8_file(&mut self, file: &str, metadata: Option<&HashMap<String, String>>) -> Result<()> {
        self.rotated_in_file.extend(quantize::read_metadata(file, metadata)?.into_iter().map(|n| strip_prefix(&n).to_string()));
        self.q8_file_checked = true;
        Ok(())
    }

    /// Adds an I8 tensor of a q8 file (its `_scale` tensor arrives as a float tensor).
    pub fn add_i8(&mut self, name: &str, shape: &[usize], values: Vec<i8>) -> Result<()> {
        if !self.q8_file_checked {
            return Err(EmbedError::weights(&self.file, format!("int8 tensor `{name}` arrived before the file's q8 metadata was checked")));
        }
        let (rows, width) = rows_and_width(name, shape)?;
        check_len(name, shape, rows * width, values.len())?;
        self.int8.insert(strip_prefix(name).to_string(), (shape.to_vec(), values));
        Ok(())
    }

    /// Adds rows `first_row..` of a float tensor of `shape` (a whole tensor is `first_row` 0 with
    /// every value). The browser hands large tensors over in blocks, so no whole f32 copy of a
    /// tensor a q8 load quantizes ever sits in wasm memory.
    pub fn add_rows(&mut self, name: &str, shape: &[usize], first_row: usize, values: &[f32]) -> Result<()> {
        let name = strip_prefix(name).to_string();
        let (rows, width) = rows_and_width(&name, shape)?;
        if width == 0 || !values.len().is_multiple_of(width) || first_row + values.len() / width > rows {
            return Err(EmbedError::weights(
                &name,
                format!("rows {first_row}.. of a tensor of shape {shape:?} cannot hold {} values", values.len()),
            ));
        }
        let count = values.len() / width;
        if let Some(kind) = self.quantize.and_then(|rule| rule(&name, shape)) {
            let rotated = kind == Quantize::RotatedRows;
            let matrix = self.quantized.entry(name.clone()).or_insert_with(|| QuantizedRows::zeros(rows, width, rotated));
            if (matrix.rows, matrix.cols) != (rows, width) {
                return Err(EmbedError::weights(&name, format!("arrives with shape {shape:?} after {}×{}", matrix.rows, matrix.cols)));
            }
            matrix.set_rows(first_row, values);
            *self.quantized_rows_done.entry(name).or_default() += count;
            return Ok(());
        }
        let total = rows * width;
        let partial = self.partial.entry(name.clone()).or_insert_with(|| PartialFloat {
            shape: shape.to_vec(),
            values: vec![0.0; total],
            rows_done: 0,
        });
        if partial.shape != shape {
            return Err(EmbedError::weights(&name, format!("arrives with shape {shape:?} after {:?}", partial.shape)));
        }
        partial.values[first_row * width..first_row * width + values.len()].copy_from_slice(values);
        partial.rows_done += count;
        if partial.rows_done >= rows {
            if let Some(done) = self.partial.remove(&name) {
                let tensor = Tensor::from_vec(done.values, done.shape, &Device::Cpu)?;
                self.tensors.insert(name, tensor);
            }
        }
        Ok(())
    }

    /// Adds an integer tensor (a token mapping) as indices; a negative or huge value is refused.
    pub fn add_indices(&mut self, name: &str, shape: &[usize], values: Vec<i64>) -> Result<()> {
        let (rows, width) = rows_and_width(name, shape)?;
        check_len(name, shape, rows * width, values.len())?;
        let indices = values
            .iter()
            .map(|&v| {
                u32::try_from(v).map_err(|_| EmbedError::weights(&self.file, format!("integer tensor `{name}` holds {v}, not an index")))
            })
            .collect::<Result<Vec<u32>>>()?;
        self.indices.insert(strip_prefix(name).to_string(), (shape.to_vec(), indices));
        Ok(())
    }

    /// Takes an integer tensor of `len` values out, if there is one.
    pub fn take_indices(&mut self, name: &str, len: usize) -> Result<Option<Vec<u32>>> {
        match self.indices.remove(name) {
            None => Ok(None),
            Some((shape, values)) if values.len() == len && shape.len() == 1 => Ok(Some(values)),
            Some((shape, _)) => Err(self.wrong_shape(name, &shape, &[len])),
        }
    }

    /// Takes a float vector of `len` values out, if there is one.
    pub fn take_optional(&mut self, name: &str, shape: &[usize]) -> Result<Option<Tensor>> {
        if self.tensors.contains_key(name) || self.partial.contains_key(name) {
            return self.take(name, shape).map(Some);
        }
        Ok(None)
    }

    /// Adds one whole float tensor handed over on its own.
    pub fn add_f32(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> Result<()> {
        let (rows, width) = rows_and_width(name, shape)?;
        check_len(name, shape, rows * width, values.len())?;
        self.add_rows(name, shape, 0, &values)
    }

    /// Adds rows of a float16 (`bfloat16: false`) or bfloat16 tensor given as raw 16-bit words.
    pub fn add_half_rows(&mut self, name: &str, shape: &[usize], first_row: usize, words: &[u16], bfloat16: bool) -> Result<()> {
        let values: Vec<f32> = if bfloat16 {
            words.iter().map(|&w| half::bf16::from_bits(w).to_f32()).collect()
        } else {
            words.iter().map(|&w| half::f16::from_bits(w).to_f32()).collect()
        };
        self.add_rows(name, shape, first_row, &values)
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty() && self.quantized.is_empty() && self.int8.is_empty() && self.partial.is_empty() && self.indices.is_empty()
    }

    fn missing(&self, name: &str) -> EmbedError {
        if self.partial.contains_key(name) {
            return EmbedError::weights(&self.file, format!("tensor `{name}` arrived incomplete"));
        }
        EmbedError::weights(&self.file, format!("has no tensor `{name}`"))
    }

    fn wrong_shape(&self, name: &str, got: &[usize], shape: &[usize]) -> EmbedError {
        EmbedError::weights(&self.file, format!("tensor `{name}` has shape {got:?}, the config implies {shape:?}"))
    }

    /// Takes a float tensor out (so the map does not keep a second reference alive) and checks its shape.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let tensor = self.tensors.remove(name).ok_or_else(|| self.missing(name))?;
        if tensor.dims() != shape {
            return Err(self.wrong_shape(name, tensor.dims(), shape));
        }
        Ok(tensor)
    }

    /// Takes a `rows × cols` matrix out: q8 when it was quantized here or read as int8, else f32.
    pub fn take_matrix(&mut self, name: &str, rows: usize, cols: usize) -> Result<Matrix> {
        if let Some(matrix) = self.quantized.remove(name) {
            let done = self.quantized_rows_done.remove(name).unwrap_or(0);
            if (matrix.rows, matrix.cols) != (rows, cols) {
                return Err(self.wrong_shape(name, &[matrix.rows, matrix.cols], &[rows, cols]));
            }
            if done < rows {
                return Err(EmbedError::weights(&self.file, format!("tensor `{name}` arrived incomplete ({done} of {rows} rows)")));
            }
            return Ok(Matrix::Q8(matrix));
        }
        if let Some((shape, values)) = self.int8.remove(name) {
            if shape != [rows, cols] {
                return Err(self.wrong_shape(name, &shape, &[rows, cols]));
            }
            let scale_name = format!("{name}{}", quantize::SCALE_SUFFIX);
            let scales = self.take(&scale_name, &[rows])?.to_vec1::<f32>()?;
            let rotated = self.rotated_in_file.contains(name);
            return Ok(Matrix::Q8(QuantizedRows::from_parts(name, values, scales, rows, cols, rotated)?));
        }
        let tensor = self.take(name, &[rows, cols])?;
        Ok(Matrix::F32(tensor.flatten_all()?.to_vec1::<f32>()?))
    }

    /// The file (or files) the tensors came from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The shape of tensor `name`, however it is held.
    pub fn shape_of(&self, name: &str) -> Option<Vec<usize>> {
        if let Some(tensor) = self.tensors.get(name) {
            return Some(tensor.dims().to_vec());
        }
        if let Some(matrix) = self.quantized.get(name) {
            return Some(vec![matrix.rows, matrix.cols]);
        }
        self.int8.get(name).map(|(shape, _)| shape.clone()).or_else(|| self.partial.get(name).map(|p| p.shape.clone()))
    }

    /// Whether `name` is held as a float tensor.
    pub fn has_float(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name) || self.quantized.contains_key(name) || self.int8.contains_key(name)
    }

    /// Every tensor as a q8 safetensors file: quantized matrices as I8 with their `_scale`,
    /// the rest as F32, and the scheme in the metadata. Fails while a tensor is incomplete.
    pub fn to_q8_safetensors(&self) -> Result<Vec<u8>> {
        if let Some(name) = self.partial.keys().next() {
            return Err(self.missing(name));
        }
        let mut entries: Vec<(String, &'static str, Vec<usize>, Vec<u8>)> = Vec::new();
        for (name, tensor) in &self.tensors {
            let values = tensor.flatten_all()?.to_vec1::<f32>()?;
            entries.push((name.clone(), "F32", tensor.dims().to_vec(), bytemuck::cast_slice(&values).to_vec()));
        }
        for (name, matrix) in &self.quantized {
            entries.push((name.clone(), "I8", vec![matrix.rows, matrix.cols], bytemuck::cast_slice(&matrix.values).to_vec()));
            let scale = format!("{name}{}", quantize::SCALE_SUFFIX);
            entries.push((scale, "F32", vec![matrix.rows], bytemuck::cast_slice(&matrix.scales).to_vec()));
        }
        for (name, (shape, indices)) in &self.indices {
            // Only a token mapping is kept; buffers such as `position_ids` are not part of a model.
            if name == "mapping" {
                let values: Vec<i32> = indices.iter().map(|&i| i as i32).collect();
                entries.push((name.clone(), "I32", shape.clone(), bytemuck::cast_slice(&values).to_vec()));
            }
        }
        if !self.int8.is_empty() {
            return Err(EmbedError::weights(&self.file, "is already a q8 file".to_string()));
        }
        let mut rotated: Vec<String> = self.quantized.iter().filter(|(_, m)| m.rotated).map(|(name, _)| name.clone()).collect();
        rotated.sort();
        Ok(quantize::write_safetensors(&entries, &rotated))
    }
}

fn check_len(name: &str, shape: &[usize], expected: usize, len: usize) -> Result<()> {
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
