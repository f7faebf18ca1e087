//! Semantic search: documents cut into chunks that fit the model (`chunk`), their vectors stored
//! and scanned exactly (`store`, `scan`), and the standard IR metrics to measure it (`metrics`).
//! Persistence and ids live in the JS layer; this holds what must be fast or exact.

pub mod chunk;
pub mod metrics;
pub mod scan;
pub mod store;
