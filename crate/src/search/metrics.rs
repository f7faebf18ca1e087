//! Information-retrieval metrics computed as sentence-transformers' `InformationRetrievalEvaluator`
//! computes them: binary relevance; precision@k divides by k; recall@k by the query's relevant
//! count; nDCG@k against an ideal list of all relevant documents; AP@k divides by
//! min(k, relevant count); every metric is the mean over the queries that have a relevant document.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

/// One query's ranked corpus ids (best first, at least as many as the largest cutoff when the
/// corpus has them) and its relevant ids.
#[derive(Clone, Debug, Deserialize)]
pub struct RankedQuery {
    pub retrieved: Vec<String>,
    pub relevant: Vec<String>,
}

/// Each metric by cutoff.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IrMetrics {
    pub accuracy: BTreeMap<usize, f64>,
    pub precision: BTreeMap<usize, f64>,
    pub recall: BTreeMap<usize, f64>,
    pub mrr: BTreeMap<usize, f64>,
    pub ndcg: BTreeMap<usize, f64>,
    pub map: BTreeMap<usize, f64>,
    /// Queries counted (those with at least one relevant document).
    pub queries: usize,
}

pub fn ir_metrics(queries: &[RankedQuery], cutoffs: &[usize]) -> IrMetrics {
    let mut metrics = IrMetrics::default();
    let counted: Vec<&RankedQuery> = queries.iter().filter(|q| !q.relevant.is_empty()).collect();
    metrics.queries = counted.len();
    for &k in cutoffs {
        let mut sums = [0f64; 6];
        for query in &counted {
            let relevant: HashSet<&str> = query.relevant.iter().map(String::as_str).collect();
            let hits: Vec<bool> = query.retrieved.iter().take(k).map(|id| relevant.contains(id.as_str())).collect();
            let correct = hits.iter().filter(|&&h| h).count() as f64;
            let first = hits.iter().position(|&h| h);
            sums[0] += if first.is_some() { 1.0 } else { 0.0 };
            sums[1] += correct / k as f64;
            sums[2] += correct / relevant.len() as f64;
            sums[3] += first.map_or(0.0, |rank| 1.0 / (rank as f64 + 1.0));
            let ideal = vec![true; relevant.len()];
            sums[4] += dcg(&hits, k) / dcg(&ideal, k);
            let (mut found, mut precisions) = (0f64, 0f64);
            for (rank, _) in hits.iter().enumerate().filter(|(_, &h)| h) {
                found += 1.0;
                precisions += found / (rank as f64 + 1.0);
            }
            sums[5] += precisions / k.min(relevant.len()) as f64;
        }
        let count = counted.len().max(1) as f64;
        let maps =
            [&mut metrics.accuracy, &mut metrics.precision, &mut metrics.recall, &mut metrics.mrr, &mut metrics.ndcg, &mut metrics.map];
        for (map, sum) in maps.into_iter().zip(sums) {
            map.insert(k, sum / count);
        }
    }
    metrics
}

fn dcg(relevance: &[bool], k: usize) -> f64 {
    relevance.iter().take(k).enumerate().filter(|(_, &r)| r).map(|(i, _)| 1.0 / (i as f64 + 2.0).log2()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(retrieved: &[&str], relevant: &[&str]) -> RankedQuery {
        RankedQuery {
            retrieved: retrieved.iter().map(|s| s.to_string()).collect(),
            relevant: relevant.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn one_query_by_hand() {
        // Relevant at ranks 2 and 4 of 5; three relevant in all.
        let metrics = ir_metrics(&[query(&["a", "b", "c", "d", "e"], &["b", "d", "z"])], &[1, 5]);
        assert_eq!(metrics.accuracy[&1], 0.0);
        assert_eq!(metrics.accuracy[&5], 1.0);
        assert_eq!(metrics.precision[&5], 2.0 / 5.0);
        assert_eq!(metrics.recall[&5], 2.0 / 3.0);
        assert_eq!(metrics.mrr[&5], 0.5);
        let ndcg = (1.0 / 3f64.log2() + 1.0 / 5f64.log2()) / (1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2());
        assert!((metrics.ndcg[&5] - ndcg).abs() < 1e-12);
        assert!((metrics.map[&5] - (0.5 + 0.5) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn queries_without_relevant_documents_are_not_counted() {
        let metrics = ir_metrics(&[query(&["a"], &["a"]), query(&["a"], &[])], &[1]);
        assert_eq!(metrics.queries, 1);
        assert_eq!(metrics.accuracy[&1], 1.0);
    }
}
