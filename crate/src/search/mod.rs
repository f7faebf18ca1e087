//! Search: documents cut into chunks that fit the model (`chunk`), their vectors stored and
//! scanned exactly (`store`, `scan`), their terms (`analyze`) in a BM25 index (`keywords`), the
//! two rankings fused into one (`fusion`), and the standard IR metrics to measure it (`metrics`).
//! Persistence and ids live in the JS layer; this holds what must be fast or exact.

pub mod analyze;
pub mod chunk;
pub mod definitions;
pub mod documents;
pub mod fusion;
pub mod keywords;
pub mod metrics;
pub mod scan;
pub mod store;
