//! The bytes of a model folder, keyed by their path inside the folder (`config.json`,
//! `1_Pooling/config.json`). The engine never does I/O itself: natively the folder is read
//! from disk, in the browser the JS layer fetches it, and both hand over a `ModelFiles`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{EmbedError, Result};
use crate::folder::{self, Dtype};

#[derive(Clone, Default)]
pub struct ModelFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl ModelFiles {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(path.into(), bytes);
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Every file, by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
    }

    /// Removes and returns a file, so large weight buffers can be dropped as soon as they are
    /// turned into tensors.
    pub fn take(&mut self, path: &str) -> Option<Vec<u8>> {
        self.files.remove(path)
    }

    /// Reads every file the engine may need from a model folder on disk (missing optional
    /// files are simply absent).
    pub fn read_dir(dir: &Path) -> Result<Self> {
        let mut files = ModelFiles::new();
        let modules = std::fs::read(dir.join(folder::MODULES)).ok();
        let plan = folder::folder_plan(modules.as_deref())?;
        let mut wanted: Vec<String> = folder::OPTIONAL_CONFIGS.iter().map(|s| s.to_string()).collect();
        wanted.push(folder::CONFIG.to_string());
        wanted.extend(plan.required);
        wanted.extend(folder::weight_files_in(&plan.weights_dir, Dtype::F32).into_iter().map(|(name, _)| name));
        wanted.extend(plan.module_weights.into_iter().flatten());
        if let Ok(index) = std::fs::read(dir.join(format!("{}{}", plan.weights_dir, folder::SHARD_INDEX))) {
            wanted.extend(folder::shard_files(&index)?.into_iter().map(|shard| format!("{}{shard}", plan.weights_dir)));
        }
        wanted.sort();
        wanted.dedup();
        for name in wanted {
            let path = dir.join(&name);
            if path.is_file() {
                let bytes = std::fs::read(&path).map_err(|e| EmbedError::config(&name, format!("cannot read {}: {e}", path.display())))?;
                files.insert(name, bytes);
            }
        }
        Ok(files)
    }
}
