//! Hybrid search: one ranking of documents from a semantic and a keyword ranking.
//!
//! Reciprocal rank fusion (Cormack et al. 2009; what Elasticsearch, Azure AI Search and
//! pgvector users run): a document scores Σ 1 / (k + rank) over the rankings it appears in, so
//! neither side's score scale matters. Weighted fusion mixes the scores themselves: cosine as
//! it is, and BM25 as the share of the query it holds: divided by the query's bound (each term's
//! idf × (k1 + 1), `KeywordIndex::query_bound`), capped at 1, then its square root. Dividing by
//! the best BM25 among the candidates, as webembed did before, made a lone stopword match the
//! top keyword score (1.0) and fitted one corpus; the bound is the same on 15 sentences or
//! 10^6 chunks, and the square root lets a partial match of a short query still count, as the
//! development sets showed (bench/search-quality: worst hybrid − semantic −0.004 over seven
//! corpora, against −0.023).

use crate::error::{EmbedError, Result};

/// RRF's usual constant.
pub const RRF_K: f32 = 60.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fusion {
    /// Reciprocal rank fusion with this constant.
    ReciprocalRank(f32),
    /// `weight · semantic + (1 − weight) · √min(1, keyword / bound)`; `bound` the query's
    /// (`KeywordIndex::query_bound`), 0 when it has no keyword side.
    Weighted { weight: f32, bound: f32 },
}

impl Fusion {
    pub fn weighted(weight: f32, bound: f32) -> Result<Self> {
        if !(weight.is_finite() && (0.0..=1.0).contains(&weight)) {
            return Err(EmbedError::Input(format!("fusion weight must be a number from 0 to 1; got {weight}")));
        }
        if !(bound.is_finite() && bound >= 0.0) {
            return Err(EmbedError::Input(format!("a query's keyword bound must be a finite non-negative number; got {bound}")));
        }
        Ok(Fusion::Weighted { weight, bound })
    }

    /// A keyword score as weighted fusion counts it: the share of the query's bound, at most 1,
    /// under a square root.
    pub fn keyword_share(score: f32, bound: f32) -> f32 {
        if bound > 0.0 {
            (score / bound).clamp(0.0, 1.0).sqrt()
        } else {
            0.0
        }
    }
}

/// One candidate: its semantic and keyword scores (None: not in that ranking) and its rank in
/// each (0-based).
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub slot: u32,
    pub semantic: Option<(usize, f32)>,
    pub keyword: Option<(usize, f32)>,
}

/// Merges two rankings (each best first, by slot) into candidates, each slot once.
pub fn candidates(semantic: &[(u32, f32)], keyword: &[(u32, f32)]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = semantic
        .iter()
        .enumerate()
        .map(|(rank, &(slot, score))| Candidate { slot, semantic: Some((rank, score)), keyword: None })
        .collect();
    let mut at: std::collections::HashMap<u32, usize> = out.iter().enumerate().map(|(i, c)| (c.slot, i)).collect();
    for (rank, &(slot, score)) in keyword.iter().enumerate() {
        match at.get(&slot) {
            Some(&i) => out[i].keyword = Some((rank, score)),
            None => {
                at.insert(slot, out.len());
                out.push(Candidate { slot, semantic: None, keyword: Some((rank, score)) });
            }
        }
    }
    out
}

/// The fused score of each candidate, in the candidates' order.
pub fn fuse(candidates: &[Candidate], fusion: Fusion) -> Vec<f32> {
    match fusion {
        Fusion::ReciprocalRank(k) => candidates
            .iter()
            .map(|c| {
                let part = |ranked: Option<(usize, f32)>| ranked.map_or(0.0, |(rank, _)| 1.0 / (k + rank as f32 + 1.0));
                part(c.semantic) + part(c.keyword)
            })
            .collect(),
        Fusion::Weighted { weight, bound } => candidates
            .iter()
            .map(|c| {
                let semantic = c.semantic.map_or(0.0, |(_, s)| s);
                let keyword = c.keyword.map_or(0.0, |(_, s)| Fusion::keyword_share(s, bound));
                weight * semantic + (1.0 - weight) * keyword
            })
            .collect(),
    }
}

/// The hybrid ranking of two document rankings (`(slot, score)`, best first): each candidate
/// (with its semantic and keyword scores and ranks) and its fused score, best first.
pub fn rank(semantic: &[(u32, f32)], keyword: &[(u32, f32)], fusion: Fusion) -> Vec<(Candidate, f32)> {
    let candidates = candidates(semantic, keyword);
    let scores = fuse(&candidates, fusion);
    order(&candidates, &scores).into_iter().map(|i| (candidates[i].clone(), scores[i])).collect()
}

/// The candidates' indexes by fused score, best first; ties keep the better semantic rank, then
/// the lower slot.
pub fn order(candidates: &[Candidate], scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    let rank = |c: &Candidate| c.semantic.map_or(usize::MAX, |(r, _)| r);
    order.sort_by(|&a, &b| {
        scores[b]
            .total_cmp(&scores[a])
            .then(rank(&candidates[a]).cmp(&rank(&candidates[b])))
            .then(candidates[a].slot.cmp(&candidates[b].slot))
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reciprocal_rank_fusion_by_hand() {
        // Semantic: 7, 3, 5. Keyword: 3, 9.
        let merged = candidates(&[(7, 0.9), (3, 0.8), (5, 0.7)], &[(3, 12.0), (9, 4.0)]);
        assert_eq!(merged.iter().map(|c| c.slot).collect::<Vec<_>>(), [7, 3, 5, 9]);
        let scores = fuse(&merged, Fusion::ReciprocalRank(RRF_K));
        let expected = [1.0 / 61.0, 1.0 / 62.0 + 1.0 / 61.0, 1.0 / 63.0, 1.0 / 62.0];
        for (got, want) in scores.iter().zip(expected) {
            assert!((got - want).abs() < 1e-7);
        }
        let ranked: Vec<u32> = order(&merged, &scores).into_iter().map(|i| merged[i].slot).collect();
        // 7 and 9 tie at 1/61 vs 1/62: 7 first; 5 last.
        assert_eq!(ranked, [3, 7, 9, 5]);
    }

    #[test]
    fn weighted_fusion_takes_the_share_of_the_query_bound() {
        let merged = candidates(&[(1, 0.8), (2, 0.6)], &[(2, 10.0), (3, 2.5), (4, 40.0)]);
        let scores = fuse(&merged, Fusion::weighted(0.25, 20.0).unwrap());
        // √(10/20), √(2.5/20), and 40 over the bound counts as all of it.
        let expected = [0.25 * 0.8, 0.25 * 0.6 + 0.75 * 0.5f32.sqrt(), 0.75 * 0.125f32.sqrt(), 0.75];
        for (got, want) in scores.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{got} {want}");
        }
        // A lone weak match stays weak: it is not the best keyword score made 1.
        let lone = candidates(&[(1, 0.5)], &[(2, 0.3)]);
        let scores = fuse(&lone, Fusion::weighted(0.85, 30.0).unwrap());
        assert!(scores[1] < 0.02 && scores[0] > 0.4, "{scores:?}");
        // No keyword side (bound 0): the semantic scores alone.
        assert_eq!(fuse(&lone, Fusion::weighted(0.5, 0.0).unwrap()), [0.25, 0.0]);
        assert!(Fusion::weighted(1.5, 1.0).is_err());
        assert!(Fusion::weighted(f32::NAN, 1.0).is_err());
        assert!(Fusion::weighted(0.5, -1.0).is_err());
        // Only one side: that side's order.
        let merged = candidates(&[], &[(4, 3.0), (2, 1.0)]);
        let scores = fuse(&merged, Fusion::ReciprocalRank(RRF_K));
        assert_eq!(order(&merged, &scores), [0, 1]);
    }
}
