//! A search index's documents in memory: each one's chunk vectors (`store`) and chunk terms
//! (`keywords`) under one slot, added and removed together, so the two sides never disagree on
//! which documents exist.

use super::keywords::KeywordIndex;
use super::store::{VectorKind, VectorStore};
use crate::error::{EmbedError, Result};

pub struct Documents {
    pub vectors: VectorStore,
    pub keywords: KeywordIndex,
}

impl Documents {
    pub fn new(dimension: usize, kind: VectorKind, keywords: KeywordIndex) -> Result<Self> {
        Ok(Documents { vectors: VectorStore::new(dimension, kind)?, keywords })
    }

    /// One document: its chunk vectors (row-major f32) and the chunks' texts; returns its slot.
    pub fn add(&mut self, vectors: &[f32], chunks: &[&str]) -> Result<u32> {
        self.add_titled(vectors, chunks, None)
    }

    /// `add` with the document's title field (see `KeywordIndex`).
    pub fn add_titled(&mut self, vectors: &[f32], chunks: &[&str], title: Option<&str>) -> Result<u32> {
        self.check_rows(vectors.len(), chunks.len())?;
        let slot = self.vectors.add(vectors)?;
        self.add_terms(slot, chunks, title)
    }

    /// One stored document: int8 rows and scales as `int8_values` gave them, its chunks' texts
    /// and its title field.
    pub fn add_int8(&mut self, values: &[i8], scales: &[f32], chunks: &[&str], title: Option<&str>) -> Result<u32> {
        self.check_rows(values.len(), chunks.len())?;
        let slot = self.vectors.add_int8(values, scales)?;
        self.add_terms(slot, chunks, title)
    }

    pub fn remove(&mut self, slot: u32) -> Result<()> {
        self.vectors.remove(slot)?;
        self.keywords.remove(slot)
    }

    fn check_rows(&self, values: usize, chunks: usize) -> Result<()> {
        if values != chunks * self.vectors.dimension() {
            return Err(EmbedError::Input(format!(
                "{chunks} chunk texts need {} vector values; got {values}",
                chunks * self.vectors.dimension()
            )));
        }
        Ok(())
    }

    fn add_terms(&mut self, slot: u32, chunks: &[&str], title: Option<&str>) -> Result<u32> {
        if let Err(err) = self.keywords.add_with_title(slot, chunks, title) {
            // Both sides or neither.
            self.vectors.remove(slot)?;
            return Err(err);
        }
        Ok(slot)
    }
}

/// `text`'s byte spans as UTF-16 offsets (JavaScript string indices), in one pass.
pub fn utf16_spans(text: &str, spans: &[(usize, usize)]) -> Vec<u32> {
    let mut out = Vec::with_capacity(spans.len() * 2);
    let mut wanted = spans.iter().flat_map(|&(s, e)| [s, e]).peekable();
    let mut units = 0u32;
    for (at, c) in text.char_indices().chain(std::iter::once((text.len(), '\0'))) {
        while wanted.peek().is_some_and(|&w| w <= at) {
            wanted.next();
            out.push(units);
        }
        units += c.len_utf16() as u32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::keywords::{DEFAULT_B, DEFAULT_K1};

    fn documents() -> Documents {
        Documents::new(4, VectorKind::F32, KeywordIndex::new(None, DEFAULT_K1, DEFAULT_B).unwrap()).unwrap()
    }

    #[test]
    fn both_sides_share_slots_and_fail_together() {
        let mut docs = documents();
        let a = docs.add(&[1.0, 0.0, 0.0, 0.0], &["alpha"]).unwrap();
        let b = docs.add(&[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0], &["beta one", "beta two"]).unwrap();
        assert_eq!(docs.keywords.search("beta", 5, None).unwrap()[0].slot, b);
        // A chunk count that does not match the vectors: nothing added on either side.
        assert!(docs.add(&[1.0, 0.0, 0.0, 0.0], &["x", "y"]).is_err());
        assert!(docs.add(&[f32::NAN, 0.0, 0.0, 0.0], &["nan"]).is_err());
        assert_eq!(docs.vectors.documents(), 2);
        assert!(docs.keywords.search("nan", 5, None).unwrap().is_empty());
        docs.remove(a).unwrap();
        assert!(docs.keywords.search("alpha", 5, None).unwrap().is_empty());
        assert_eq!(docs.vectors.search(&[1.0, 0.0, 0.0, 0.0], 5, None).unwrap().len(), 1);
        // The freed slot is reused by both sides.
        let c = docs.add(&[0.0, 0.0, 1.0, 0.0], &["gamma"]).unwrap();
        assert_eq!(c, a);
        assert_eq!(docs.keywords.search("gamma", 5, None).unwrap()[0].slot, c);
    }

    #[test]
    fn utf16_offsets() {
        let text = "a😀b é";
        // bytes: a(0) 😀(1..5) b(5) space(6) é(7..9)
        assert_eq!(utf16_spans(text, &[(0, 1), (5, 6), (7, 9)]), [0, 1, 3, 4, 5, 6]);
    }
}
