//! The CPU backend: the networks (`encoder.rs` for BERT / XLM-R, `prenorm.rs` for the rotary
//! pre-norm families, a static table's rows) with their matmuls on a packed SIMD kernel
//! (`matmul.rs`, `linear.rs`), attention (`attention.rs`), norms and gates (`norms.rs`) and
//! vectorizable exp/erf (`activations.rs`), with row-wise work split over threads where there
//! are any (`parallel.rs`); Dense modules after pooling (`dense.rs`).

pub mod activations;
pub mod attention;
pub mod dense;
pub mod encoder;
pub mod linear;
pub mod matmul;
pub mod matmul_q8;
pub mod norms;
pub mod parallel;
pub mod prenorm;

use candle_core::{Device, Tensor};

use self::encoder::Encoder;
use self::prenorm::PreNormEncoder;
use crate::backend::{Backend, Embeddings, Head, TokenBatch};
use crate::error::Result;
use crate::model::{self, EmbeddingParameters, LayerParameters, ModelParameters, WordTable};
use crate::pooling;
use crate::spec::{Architecture, EncoderSpec};
use crate::weights::Weights;

/// The network a model runs before pooling.
pub enum Network {
    /// BERT and XLM-RoBERTa.
    Bert(Encoder),
    /// ModernBERT, Gemma3, Qwen3.
    PreNorm(PreNormEncoder),
    /// A static model: its (folded) token table; hidden states are the rows themselves.
    Static { spec: EncoderSpec, table: WordTable },
}

impl Network {
    /// Builds the network `spec` names from `weights` (a static table is read by `load_static`).
    pub fn load(spec: &EncoderSpec, weights: &mut Weights) -> Result<Self> {
        Ok(match spec.architecture {
            Architecture::Bert | Architecture::XlmRoberta => Network::Bert(Encoder::load(spec, weights)?),
            Architecture::Static => {
                let table = model::static_table::load(weights, spec.vocab_size)?;
                let spec = crate::spec::static_spec(spec.vocab_size, table.width(), spec.pad_token_id);
                Network::Static { spec, table }
            }
            _ => Network::PreNorm(PreNormEncoder::load(spec, weights)?),
        })
    }

    pub fn is_q8(&self) -> bool {
        match self {
            Network::Bert(e) => e.is_q8(),
            Network::PreNorm(e) => e.is_q8(),
            Network::Static { table, .. } => table.is_q8(),
        }
    }

    /// The BERT encoder, for what only it has (a reranker's classifier reads its output).
    pub fn as_bert(&self) -> Option<&Encoder> {
        match self {
            Network::Bert(e) => Some(e),
            _ => None,
        }
    }
}

fn no_bert_parts() -> crate::error::EmbedError {
    crate::error::EmbedError::Inference("this model has no BERT embedding stage or layers".into())
}

impl ModelParameters for Network {
    fn spec(&self) -> &EncoderSpec {
        match self {
            Network::Bert(e) => e.spec(),
            Network::PreNorm(e) => e.spec(),
            Network::Static { spec, .. } => spec,
        }
    }

    fn word_table(&self) -> &WordTable {
        match self {
            Network::Bert(e) => e.word_table(),
            Network::PreNorm(e) => e.words(),
            Network::Static { table, .. } => table,
        }
    }

    fn embedding_parameters(&self) -> Result<EmbeddingParameters> {
        self.as_bert().ok_or_else(no_bert_parts)?.embedding_parameters()
    }

    fn type_deltas(&self) -> &[f32] {
        self.as_bert().map_or(&[], |e| e.type_deltas())
    }

    fn layer_parameters(&self, index: usize) -> Result<LayerParameters> {
        self.as_bert().ok_or_else(no_bert_parts)?.layer_parameters(index)
    }

    fn is_q8(&self) -> bool {
        Network::is_q8(self)
    }

    fn prenorm_layer(&self, index: usize) -> Result<model::prenorm::PreNormLayer> {
        match self {
            Network::PreNorm(e) => Ok(e.layer_parameters(index)),
            _ => Err(crate::error::EmbedError::Inference("this model has no pre-norm layers".into())),
        }
    }

    fn prenorm_ends(&self) -> Result<model::prenorm::PreNormEnds> {
        match self {
            Network::PreNorm(e) => Ok(e.ends()),
            _ => Err(crate::error::EmbedError::Inference("this model has no pre-norm layers".into())),
        }
    }
}

/// A batch is cut into at least this many small batches per thread (when it has the texts).
const SHARES_PER_THREAD: usize = 4;

pub struct CpuBackend {
    network: Network,
    head: Head,
}

impl CpuBackend {
    pub fn new(network: Network, head: Head) -> Self {
        CpuBackend { network, head }
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Last hidden states, `batch × seq_len × hidden` row-major.
    pub fn hidden_states(&self, batch: &TokenBatch) -> Result<Vec<f32>> {
        match &self.network {
            Network::Bert(encoder) => {
                let device = Device::Cpu;
                let shape = (batch.batch, batch.seq_len);
                let ids = Tensor::from_slice(&batch.ids, shape, &device)?;
                let positions = Tensor::from_slice(&batch.positions, shape, &device)?;
                encoder.forward(&ids, &positions, &batch.types, &batch.lengths)
            }
            Network::PreNorm(encoder) => encoder.forward(&batch.ids, &batch.lengths, batch.seq_len),
            // A static model's "hidden states" are its rows: the mean pooling averages them.
            Network::Static { table, .. } => table.gather(&batch.ids),
        }
    }

    /// Pooled vectors, `batch × dimension`. With threads, the batch is cut into small batches of
    /// neighbouring texts (texts arrive longest first, so each pads little), several per thread,
    /// which the threads take as they come free; inside each, rows split further when a thread
    /// idles. A lone text is split by rows alone. A text's vector does not depend on the texts
    /// batched with it, so neither on any of this.
    fn pooled(&self, batch: &TokenBatch) -> Result<Vec<f32>> {
        let threads = parallel::threads();
        // A static model's mean is a few additions per token: not worth a thread's start.
        if threads <= 1 || batch.batch <= 1 || matches!(self.network, Network::Static { .. }) {
            return self.pooled_together(batch);
        }
        let per_share = batch.batch.div_ceil(threads * SHARES_PER_THREAD);
        let shares: Vec<Vec<usize>> =
            (0..batch.batch).step_by(per_share).map(|s| (s..(s + per_share).min(batch.batch)).collect()).collect();
        let pooled = parallel::map_indices(shares.len(), |s| self.pooled_together(&batch.select(&shares[s])));
        let mut output = Vec::with_capacity(batch.batch * self.head.pooling.output_dimension());
        for vectors in pooled {
            output.extend_from_slice(&vectors?);
        }
        Ok(output)
    }

    /// A static model's vectors: each text's rows summed straight from the table (no padded
    /// `batch × seq_len × dimension` copy), then averaged as `pooling::pool`'s mean averages them.
    fn static_mean(&self, table: &WordTable, batch: &TokenBatch) -> Result<Vec<f32>> {
        let dim = table.width();
        let mut output = vec![0f32; batch.batch * dim];
        table.with_rows(|add_row| {
            for (row, out) in output.chunks_exact_mut(dim.max(1)).enumerate() {
                let ids = &batch.ids[row * batch.seq_len..row * batch.seq_len + batch.lengths[row]];
                let counted = &ids[batch.pool_skip.min(ids.len())..];
                for &id in counted {
                    add_row(id, out);
                }
                let denominator = (counted.len() as f32).max(1e-9);
                out.iter_mut().for_each(|v| *v /= denominator);
                if self.head.normalize {
                    pooling::normalize(out);
                }
            }
        })?;
        Ok(output)
    }

    fn pooled_together(&self, batch: &TokenBatch) -> Result<Vec<f32>> {
        if let Network::Static { table, .. } = &self.network {
            if self.head.pooling.modes == [pooling::PoolingMode::Mean] {
                return self.static_mean(table, batch);
            }
        }
        let hidden = self.hidden_states(batch)?;
        let width = self.network.spec().hidden_size;
        let mut output = Vec::with_capacity(batch.batch * self.head.pooling.output_dimension());
        let mut pooled = Vec::new();
        for row in 0..batch.batch {
            let tokens = &hidden[row * batch.seq_len * width..(row + 1) * batch.seq_len * width];
            let mut mask = batch.mask[row * batch.seq_len..(row + 1) * batch.seq_len].to_vec();
            mask[..batch.pool_skip.min(batch.seq_len)].fill(0.0);
            pooled.clear();
            pooling::pool(&self.head.pooling, tokens, &mask, &mut pooled);
            if self.head.normalize {
                pooling::normalize(&mut pooled);
            }
            output.extend_from_slice(&pooled);
        }
        Ok(output)
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn embed<'a>(&'a mut self, batch: &'a TokenBatch) -> Embeddings<'a> {
        let result = parallel::in_pool(|| self.pooled(batch));
        Box::pin(std::future::ready(result))
    }
}
