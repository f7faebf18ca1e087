//! What distinguishes the encoder architectures before any backend runs them. BERT and
//! XLM-RoBERTa share one layer stack (see `backend::cpu::encoder`); they differ in how
//! positions are numbered, which this module computes for a padded batch.

use crate::spec::{Architecture, EncoderSpec};

/// Position ids for one right-padded row of `len` real tokens out of `seq_len`.
/// BERT counts from 0; RoBERTa counts real tokens from `pad + 1` and gives padding `pad`.
pub fn positions(spec: &EncoderSpec, len: usize, seq_len: usize, out: &mut Vec<u32>) {
    match spec.architecture {
        Architecture::Bert => out.extend(0..seq_len as u32),
        Architecture::XlmRoberta => {
            let pad = spec.pad_token_id;
            out.extend((0..seq_len as u32).map(|i| if (i as usize) < len { pad + 1 + i } else { pad }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::HiddenAct;

    fn spec(architecture: Architecture, pad_token_id: u32) -> EncoderSpec {
        EncoderSpec {
            architecture,
            vocab_size: 10,
            hidden_size: 4,
            num_layers: 1,
            num_heads: 1,
            intermediate_size: 4,
            max_position_embeddings: 16,
            type_vocab_size: 1,
            layer_norm_eps: 1e-5,
            pad_token_id,
            hidden_act: HiddenAct::GeluErf,
        }
    }

    #[test]
    fn bert_numbers_every_slot_from_zero() {
        let mut out = Vec::new();
        positions(&spec(Architecture::Bert, 0), 2, 4, &mut out);
        assert_eq!(out, vec![0, 1, 2, 3]);
    }

    #[test]
    fn roberta_starts_after_the_pad_index_and_pads_with_it() {
        let mut out = Vec::new();
        positions(&spec(Architecture::XlmRoberta, 1), 3, 5, &mut out);
        assert_eq!(out, vec![2, 3, 4, 1, 1]);
    }
}
