//! Dense modules as their weight files store them: `linear.weight` (`out × in`), `linear.bias`
//! when the module has one, and `residual.weight` for a residual whose width changes. Each
//! module's tensors are kept under its folder's prefix (`2_Dense/linear.weight`), so two modules
//! stay apart in one set of weights (and in a q8 file).

use super::{vector, LinearParameters};
use crate::error::{EmbedError, Result};
use crate::files::ModelFiles;
use crate::spec::DenseSpec;
use crate::weights::Weights;

pub struct DenseLayer {
    pub spec: DenseSpec,
    pub linear: LinearParameters,
    /// `use_residual` with `in ≠ out`: the projection the input is added through.
    pub residual: Option<LinearParameters>,
}

/// Reads each Dense module's weight file from `files` into `weights` (unless `weights`, a q8
/// file's, holds its tensors already).
pub fn read_files(specs: &[DenseSpec], files: &mut ModelFiles, weights: &mut Weights) -> Result<()> {
    for spec in specs {
        if weights.contains(&format!("{}linear.weight", spec.prefix)) {
            continue;
        }
        let Some((file, bytes)) = spec.weight_files.iter().find_map(|f| files.take(f).map(|b| (f.clone(), b))) else {
            return Err(EmbedError::weights(
                &spec.weight_files[0],
                format!("missing: the Dense module in {} needs its weights ({})", spec.prefix, spec.weight_files.join(" or ")),
            ));
        };
        weights.add_module_file(&file, &bytes, &spec.prefix)?;
    }
    Ok(())
}

/// Takes a Dense module's tensors out of `weights`.
pub fn load(spec: &DenseSpec, weights: &mut Weights) -> Result<DenseLayer> {
    let (out_features, in_features) = (spec.out_features, spec.in_features);
    let weight = weights.take_matrix(&format!("{}linear.weight", spec.prefix), out_features, in_features)?;
    let bias =
        if spec.bias { vector(weights.take(&format!("{}linear.bias", spec.prefix), &[out_features])?)? } else { vec![0.0; out_features] };
    let residual = if spec.residual && in_features != out_features {
        let weight = weights.take_matrix(&format!("{}residual.weight", spec.prefix), out_features, in_features)?;
        Some(LinearParameters { weight, bias: vec![0.0; out_features], out_features, in_features })
    } else {
        None
    };
    Ok(DenseLayer { spec: spec.clone(), linear: LinearParameters { weight, bias, out_features, in_features }, residual })
}
