//! The vectors of a search index: each document's chunk vectors as contiguous rows, int8 with one
//! scale per vector (default; kept as two nibble planes, see `scan`) or f32, and a scan over all
//! of them. Documents live in
//! slots the caller keeps beside its ids; a removed document's rows are dead until enough of them
//! pile up to be worth compacting.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::scan::{f32_dot, join_row, nibble_dots, split_row, NibbleQuery, ROW_ALIGN};
use crate::error::{EmbedError, Result};
use crate::quantize::{quantize_row, WEIGHT_LEVELS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorKind {
    Int8,
    F32,
}

impl VectorKind {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "int8" => Ok(VectorKind::Int8),
            "f32" => Ok(VectorKind::F32),
            other => Err(EmbedError::Input(format!("vectors must be 'int8' or 'f32'; got {other:?}"))),
        }
    }
}

/// The best chunk of one document.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub slot: u32,
    /// The chunk's position within its document.
    pub chunk: u32,
    pub score: f32,
}

const DEAD: u32 = u32::MAX;

pub struct VectorStore {
    dimension: usize,
    kind: VectorKind,
    /// Bytes per row of each nibble plane (the dimension padded to `ROW_ALIGN`, halved).
    stride: usize,
    /// The int8 rows as `v + 128 = 16 · high + low`: the scan reads `high` alone.
    high: Vec<u8>,
    low: Vec<u8>,
    scales: Vec<f32>,
    floats: Vec<f32>,
    /// The slot owning each row, `DEAD` once removed.
    row_slot: Vec<u32>,
    /// Per slot: its first row and row count (0 rows: a free slot).
    slot_rows: Vec<(u32, u32)>,
    free_slots: Vec<u32>,
    dead_rows: usize,
}

impl VectorStore {
    pub fn new(dimension: usize, kind: VectorKind) -> Result<Self> {
        if dimension == 0 || dimension > 65_536 {
            return Err(EmbedError::Input(format!("an index's dimension must be 1..=65536; got {dimension}")));
        }
        let stride = dimension.div_ceil(ROW_ALIGN) * ROW_ALIGN / 2;
        Ok(VectorStore {
            dimension,
            kind,
            stride,
            high: Vec::new(),
            low: Vec::new(),
            scales: Vec::new(),
            floats: Vec::new(),
            row_slot: Vec::new(),
            slot_rows: Vec::new(),
            free_slots: Vec::new(),
            dead_rows: 0,
        })
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    pub fn kind(&self) -> VectorKind {
        self.kind
    }

    /// Live documents.
    pub fn documents(&self) -> usize {
        self.slot_rows.len() - self.free_slots.len()
    }

    /// Slots in use or free.
    pub fn slots(&self) -> usize {
        self.slot_rows.len()
    }

    /// Live chunk vectors.
    pub fn chunks(&self) -> usize {
        self.row_slot.len() - self.dead_rows
    }

    /// Bytes the stored vectors take (rows, scales and row bookkeeping).
    pub fn vector_bytes(&self) -> usize {
        self.high.capacity()
            + self.low.capacity()
            + 4 * (self.scales.capacity() + self.floats.capacity() + self.row_slot.capacity())
            + 8 * self.slot_rows.capacity()
    }

    /// Makes room for `rows` more vectors at once (a reopened index knows how many it holds), so
    /// the arrays hold no slack.
    pub fn reserve(&mut self, rows: usize) {
        let kind = self.kind;
        match kind {
            VectorKind::Int8 => {
                self.high.reserve_exact(rows * self.stride);
                self.low.reserve_exact(rows * self.stride);
                self.scales.reserve_exact(rows);
            }
            VectorKind::F32 => self.floats.reserve_exact(rows * self.dimension),
        }
        self.row_slot.reserve_exact(rows);
    }

    /// Room for `rows` more, growing by a sixteenth at least: a doubling `Vec` could leave the
    /// vectors' memory twice what they need.
    fn grow_for(&mut self, rows: usize) {
        let live = self.row_slot.len();
        if self.row_slot.capacity() < live + rows {
            self.reserve(rows.max(live / 16));
        }
    }

    /// Stores one document's chunk vectors (`vectors.len()` a multiple of the dimension, at least
    /// one row); returns its slot.
    pub fn add(&mut self, vectors: &[f32]) -> Result<u32> {
        let count = self.row_count(vectors.len())?;
        if let Some(bad) = vectors.iter().position(|v| !v.is_finite()) {
            return Err(EmbedError::Input(format!("vector value {bad} is not a finite number")));
        }
        self.grow_for(count);
        let first = self.row_slot.len();
        match self.kind {
            VectorKind::F32 => self.floats.extend_from_slice(vectors),
            VectorKind::Int8 => {
                let mut values = vec![0i8; self.width()];
                for row in vectors.chunks_exact(self.dimension) {
                    let rounded = quantize_row(row, WEIGHT_LEVELS, &mut values[..self.dimension]);
                    self.scales.push(least_squares_scale(row, &values).unwrap_or(rounded));
                    self.push_planes(&values);
                }
            }
        }
        Ok(self.claim_slot(first, count))
    }

    /// Stores one document's int8 rows as `int8_values` and `int8_scales` gave them (`values`: rows × dimension bytes,
    /// one scale per row), without quantizing again.
    pub fn add_int8(&mut self, values: &[i8], scales: &[f32]) -> Result<u32> {
        if self.kind != VectorKind::Int8 {
            return Err(EmbedError::Input("this index stores f32 vectors; int8 rows cannot be added to it".into()));
        }
        let count = self.row_count(values.len())?;
        if scales.len() != count {
            return Err(EmbedError::Input(format!("{count} int8 rows need {count} scales; got {}", scales.len())));
        }
        if let Some(bad) = scales.iter().position(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(EmbedError::Input(format!("scale {bad} is not a finite non-negative number")));
        }
        self.grow_for(count);
        let first = self.row_slot.len();
        let mut padded = vec![0i8; self.width()];
        for row in values.chunks_exact(self.dimension) {
            padded[..self.dimension].copy_from_slice(row);
            self.push_planes(&padded);
        }
        self.scales.extend_from_slice(scales);
        Ok(self.claim_slot(first, count))
    }

    /// Dimensions of a padded int8 row (two per plane byte).
    fn width(&self) -> usize {
        2 * self.stride
    }

    /// Appends one padded int8 row to the nibble planes.
    fn push_planes(&mut self, padded: &[i8]) {
        let at = self.high.len();
        self.high.resize(at + self.stride, 0);
        self.low.resize(at + self.stride, 0);
        split_row(padded, &mut self.high[at..], &mut self.low[at..]);
    }

    /// Row `r`'s int8 values (padded), joined from the planes into `out`.
    fn int8_row(&self, r: usize, out: &mut [i8]) {
        join_row(&self.high[r * self.stride..][..self.stride], &self.low[r * self.stride..][..self.stride], out);
    }

    /// A document's int8 values (rows × dimension; empty for an f32 store).
    pub fn int8_values(&self, slot: u32) -> Result<Vec<i8>> {
        let (first, count) = self.live_rows(slot)?;
        if self.kind != VectorKind::Int8 {
            return Ok(Vec::new());
        }
        let mut padded = vec![0i8; self.width()];
        let mut values = Vec::with_capacity(count * self.dimension);
        for r in first..first + count {
            self.int8_row(r, &mut padded);
            values.extend_from_slice(&padded[..self.dimension]);
        }
        Ok(values)
    }

    /// A document's int8 scales (empty for an f32 store).
    pub fn int8_scales(&self, slot: u32) -> Result<&[f32]> {
        let (first, count) = self.live_rows(slot)?;
        Ok(self.scales.get(first..first + count).unwrap_or(&[]))
    }

    /// A document's f32 vectors (empty for an int8 store).
    pub fn f32_values(&self, slot: u32) -> Result<&[f32]> {
        let (first, count) = self.live_rows(slot)?;
        Ok(self.floats.get(first * self.dimension..(first + count) * self.dimension).unwrap_or(&[]))
    }

    pub fn remove(&mut self, slot: u32) -> Result<()> {
        let (first, count) = self.live_rows(slot)?;
        self.row_slot[first..first + count].fill(DEAD);
        self.dead_rows += count;
        self.slot_rows[slot as usize] = (0, 0);
        self.free_slots.push(slot);
        if self.dead_rows > 4096 && self.dead_rows * 2 > self.row_slot.len() {
            self.compact();
        }
        Ok(())
    }

    /// The `k` documents whose best chunk scores highest against `query` (cosine when both are
    /// normalized), best first; ties go to the lower slot. `allowed[slot] == 0` leaves a
    /// document out.
    ///
    /// Int8 rows are scanned by their high nibbles and an int8 query first; the best
    /// `k + CANDIDATE_MARGIN` documents (eight times `k` when larger) are then scored again with
    /// whole int8 rows and the f32 query, so neither the nibbles nor the query's rounding decide
    /// the order.
    pub fn search(&self, query: &[f32], k: usize, allowed: Option<&[u8]>) -> Result<Vec<Hit>> {
        if query.len() != self.dimension {
            return Err(EmbedError::Input(format!(
                "the query has {} values; this index holds {}-dimensional vectors",
                query.len(),
                self.dimension
            )));
        }
        if query.iter().any(|v| !v.is_finite()) {
            return Err(EmbedError::Input("the query vector holds a value that is not a finite number".into()));
        }
        if let Some(allowed) = allowed {
            if allowed.len() != self.slot_rows.len() {
                return Err(EmbedError::Input(format!("the filter mask has {} entries for {} slots", allowed.len(), self.slot_rows.len())));
            }
        }
        if k == 0 || self.chunks() == 0 {
            return Ok(Vec::new());
        }
        let keep = match self.kind {
            VectorKind::F32 => k,
            VectorKind::Int8 => (k + CANDIDATE_MARGIN).max(8 * k),
        };
        let candidates = self.best_documents(query, keep, allowed);
        let mut hits: Vec<Hit> = candidates.iter().map(|&slot| self.exact_best(slot, query)).collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.slot.cmp(&b.slot)));
        hits.truncate(k);
        Ok(hits)
    }

    /// Each of `slots`' best chunk against `query`, scored as `search` scores its final candidates.
    pub fn best_chunks(&self, query: &[f32], slots: &[u32]) -> Result<Vec<Hit>> {
        if query.len() != self.dimension || query.iter().any(|v| !v.is_finite()) {
            return Err(EmbedError::Input(format!("the query must be {} finite numbers", self.dimension)));
        }
        slots.iter().map(|&slot| self.live_rows(slot).map(|_| self.exact_best(slot, query))).collect()
    }

    /// The `keep` documents whose best row scores highest, in one pass: a document's rows are
    /// contiguous, so its best is known when the next document starts, and only documents
    /// better than the worst kept so far touch the heap.
    fn best_documents(&self, query: &[f32], keep: usize, allowed: Option<&[u8]>) -> Vec<u32> {
        let mut top = TopDocuments::new(keep);
        let rows = self.row_slot.len();
        // Blocks of rows, so the scores stay in L1 between the kernel and the comparisons.
        const BLOCK: usize = 256;
        let mut scores = [0f32; BLOCK];
        let nibble_query = (self.kind == VectorKind::Int8).then(|| NibbleQuery::new(query, self.width()));
        let mut dots = [0i32; BLOCK];
        for start in (0..rows).step_by(BLOCK) {
            let end = (start + BLOCK).min(rows);
            let scores = &mut scores[..end - start];
            match &nibble_query {
                Some(q) => {
                    let dots = &mut dots[..end - start];
                    nibble_dots(&self.high[start * self.stride..end * self.stride], self.width(), q, dots);
                    for ((score, &dot), &scale) in scores.iter_mut().zip(dots.iter()).zip(&self.scales[start..end]) {
                        *score = q.score(dot, scale);
                    }
                }
                None => {
                    for (score, row) in
                        scores.iter_mut().zip(self.floats[start * self.dimension..end * self.dimension].chunks_exact(self.dimension))
                    {
                        *score = f32_dot(row, query);
                    }
                }
            }
            for (&slot, &score) in self.row_slot[start..end].iter().zip(scores.iter()) {
                if slot != DEAD && allowed.is_none_or(|a| a[slot as usize] != 0) {
                    top.offer_row(slot, score);
                }
            }
        }
        top.finish()
    }

    /// A document's best chunk scored with the f32 query (int8 rows dequantized by their scale).
    fn exact_best(&self, slot: u32, query: &[f32]) -> Hit {
        let (first, count) = self.slot_rows[slot as usize];
        let mut hit = Hit { slot, chunk: 0, score: f32::NEG_INFINITY };
        let mut row_f32 = vec![0f32; self.dimension];
        let mut row_i8 = vec![0i8; self.width()];
        for (chunk, r) in (first as usize..(first + count) as usize).enumerate() {
            let score = match self.kind {
                VectorKind::F32 => f32_dot(&self.floats[r * self.dimension..][..self.dimension], query),
                VectorKind::Int8 => {
                    self.int8_row(r, &mut row_i8);
                    for (o, &v) in row_f32.iter_mut().zip(&row_i8) {
                        *o = v as f32;
                    }
                    f32_dot(&row_f32, query) * self.scales[r]
                }
            };
            if score > hit.score {
                hit = Hit { slot, chunk: chunk as u32, score };
            }
        }
        hit
    }

    fn row_count(&self, values: usize) -> Result<usize> {
        if values == 0 || !values.is_multiple_of(self.dimension) {
            return Err(EmbedError::Input(format!(
                "a document needs one or more {}-dimensional vectors; got {values} values",
                self.dimension
            )));
        }
        let count = values / self.dimension;
        if self.row_slot.len() + count >= DEAD as usize {
            return Err(EmbedError::Input("the index is full".into()));
        }
        Ok(count)
    }

    fn claim_slot(&mut self, first: usize, count: usize) -> u32 {
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.slot_rows.push((0, 0));
                (self.slot_rows.len() - 1) as u32
            }
        };
        self.slot_rows[slot as usize] = (first as u32, count as u32);
        self.row_slot.extend(std::iter::repeat_n(slot, count));
        slot
    }

    fn live_rows(&self, slot: u32) -> Result<(usize, usize)> {
        match self.slot_rows.get(slot as usize) {
            Some(&(first, count)) if count > 0 => Ok((first as usize, count as usize)),
            _ => Err(EmbedError::Input(format!("slot {slot} holds no document"))),
        }
    }

    /// Drops dead rows, keeping live ones in order.
    fn compact(&mut self) {
        let (dimension, stride) = (self.dimension, self.stride);
        let mut next = 0usize;
        for r in 0..self.row_slot.len() {
            let slot = self.row_slot[r];
            if slot == DEAD {
                continue;
            }
            if next != r {
                self.row_slot[next] = slot;
                match self.kind {
                    VectorKind::Int8 => {
                        self.high.copy_within(r * stride..(r + 1) * stride, next * stride);
                        self.low.copy_within(r * stride..(r + 1) * stride, next * stride);
                        self.scales[next] = self.scales[r];
                    }
                    VectorKind::F32 => self.floats.copy_within(r * dimension..(r + 1) * dimension, next * dimension),
                }
            }
            let entry = &mut self.slot_rows[slot as usize];
            if entry.0 as usize == r {
                entry.0 = next as u32;
            }
            next += 1;
        }
        self.row_slot.truncate(next);
        match self.kind {
            VectorKind::Int8 => {
                self.high.truncate(next * stride);
                self.low.truncate(next * stride);
                self.scales.truncate(next);
            }
            VectorKind::F32 => self.floats.truncate(next * dimension),
        }
        self.dead_rows = 0;
        self.high.shrink_to_fit();
        self.low.shrink_to_fit();
        self.floats.shrink_to_fit();
    }
}

/// The scale that brings `values` closest to `row` (least squares), once they are rounded: it
/// leaves the rounding error orthogonal to the stored vector, so a query near the vector (the
/// ones that decide the top hits) sees less of it than with the largest-magnitude scale.
fn least_squares_scale(row: &[f32], values: &[i8]) -> Option<f32> {
    let (mut dot, mut norm) = (0f64, 0f64);
    for (&v, &q) in row.iter().zip(values) {
        dot += v as f64 * q as f64;
        norm += q as f64 * q as f64;
    }
    (norm > 0.0).then(|| (dot / norm) as f32)
}

/// Documents of the 4-bit scan scored again with whole int8 rows beyond `k` (see
/// `VectorStore::search`): on 100 000 clustered or Gaussian vectors the true top 10 were always
/// within the 4-bit top 50.
const CANDIDATE_MARGIN: usize = 96;

/// The best documents seen so far, by their best row; rows arrive grouped by document.
struct TopDocuments {
    keep: usize,
    heap: BinaryHeap<Worst>,
    current: Option<(u32, f32)>,
}

/// Ordered so that the heap's top is the worst kept document (lowest score; of equal scores the
/// higher slot, so ties go to the lower slot).
#[derive(PartialEq)]
struct Worst(f32, u32);

impl Eq for Worst {}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl TopDocuments {
    fn new(keep: usize) -> Self {
        TopDocuments { keep, heap: BinaryHeap::with_capacity(keep + 1), current: None }
    }

    #[inline]
    fn offer_row(&mut self, slot: u32, score: f32) {
        match &mut self.current {
            Some((current, best)) if *current == slot => {
                if score > *best {
                    *best = score;
                }
            }
            _ => {
                self.flush();
                self.current = Some((slot, score));
            }
        }
    }

    fn flush(&mut self) {
        let Some((slot, score)) = self.current.take() else { return };
        if self.heap.len() < self.keep {
            self.heap.push(Worst(score, slot));
        } else if self.heap.peek().is_some_and(|worst| Worst(score, slot) < *worst) {
            self.heap.pop();
            self.heap.push(Worst(score, slot));
        }
    }

    fn finish(mut self) -> Vec<u32> {
        self.flush();
        self.heap.into_iter().map(|Worst(_, slot)| slot).collect()
    }
}
