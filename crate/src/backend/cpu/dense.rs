//! Dense modules on pooled vectors (`crate::model::dense`), after every backend: a batch's
//! vectors are few, so the GPU hands them back pooled and they finish here.

use super::linear::PackedLinear;
use super::norms::activate;
use crate::model::dense::DenseLayer;
use crate::spec::{DenseActivation, HiddenAct};

pub struct PackedDense {
    linear: PackedLinear,
    residual: Option<PackedLinear>,
    activation: DenseActivation,
    use_residual: bool,
    pub in_features: usize,
    pub out_features: usize,
}

impl PackedDense {
    pub fn pack(layer: DenseLayer) -> Self {
        PackedDense {
            in_features: layer.spec.in_features,
            out_features: layer.spec.out_features,
            activation: layer.spec.activation,
            use_residual: layer.spec.residual,
            linear: PackedLinear::pack(layer.linear),
            residual: layer.residual.map(PackedLinear::pack),
        }
    }

    /// `rows` vectors `in_features` wide → `rows` vectors `out_features` wide.
    pub fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut out = self.linear.apply(x, rows);
        out.iter_mut().for_each(|v| *v = dense_activation(*v, self.activation));
        if self.use_residual {
            let residual = match &self.residual {
                Some(projection) => projection.apply(x, rows),
                None => x.to_vec(),
            };
            out.iter_mut().zip(&residual).for_each(|(v, r)| *v += r);
        }
        out
    }
}

fn dense_activation(x: f32, activation: DenseActivation) -> f32 {
    match activation {
        DenseActivation::Identity => x,
        DenseActivation::Tanh => x.tanh(),
        DenseActivation::Relu => activate(x, HiddenAct::Relu),
        DenseActivation::Gelu => activate(x, HiddenAct::GeluErf),
        DenseActivation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        DenseActivation::Silu => activate(x, HiddenAct::Silu),
    }
}
