//! The keyword side of a search index: BM25 over the analyzer's terms, one entry per chunk, a
//! document scoring by its best chunk (as on the vector side). Documents live in the same slots
//! as the vector store's, so the JS layer keeps one id ↔ slot map for both.
//!
//! A document's title field (its title, heading chain and path: what names it rather than what
//! it says) is one more entry, chunk number `TITLE_CHUNK`, with its own BM25 statistics (average
//! length, document frequencies): a document scores its best body chunk plus `TITLE_WEIGHT`
//! times its title's score, so the parts of a qualified name that only the page's title or path
//! holds (`binascii` of `binascii.a2b_hex`) still count. The names a document's text defines in
//! reStructuredText (`.. function:: a2b_hex(hexstr)`) join its title field too.
//!
//! Postings are append-only: a removed document's chunks are marked dead and skipped, its terms'
//! document frequencies lowered at once (so scores never count it), and the postings compacted
//! once dead chunks are half of them. An add touches only the terms it brings.

use std::collections::HashMap;

use super::analyze::{Analyzer, Token};
use super::definitions::{defined_names, MAX_NAMES};
use crate::error::{EmbedError, Result};

/// BM25's usual defaults (Lucene, Elasticsearch, Orama).
pub const DEFAULT_K1: f32 = 1.2;
pub const DEFAULT_B: f32 = 0.75;
/// Distinct query terms scored at most; the rest of a longer query is ignored.
pub const MAX_QUERY_TERMS: usize = 1024;
/// What a query identifier's part counts for beside the whole name and its tails (on the Python
/// docs' known-item set, 0.5 lifts identifier MRR@10 from 0.842 to 0.857 and leaves questions as they were).
pub const PART_WEIGHT: f32 = 0.5;

const DEAD: u32 = u32::MAX;

/// The chunk number of a document's title field (chunk keys hold 2^24 chunks; a document's
/// text, at most 2^24 characters, never has this many).
pub const TITLE_CHUNK: u32 = (1 << 24) - 1;
/// What a title's BM25 counts for beside the best body chunk's.
pub const TITLE_WEIGHT: f32 = 1.0;

/// The two fields' statistics are kept apart: 0 the body's chunks, 1 the titles.
const FIELDS: usize = 2;

fn field_of(chunk_index: u32) -> usize {
    usize::from(chunk_index == TITLE_CHUNK)
}

/// Lucene's idf of a term in `frequency` of `chunks` chunks: never negative, even for a term in every chunk.
pub fn idf(chunks: f32, frequency: f32) -> f32 {
    (1.0 + (chunks - frequency + 0.5) / (frequency + 0.5)).ln()
}

/// A document's title field: its title and the names its text defines (`definitions.rs`), each
/// once (chunks overlap); None when it has neither.
fn title_field(title: Option<&str>, chunks: &[&str]) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let names: Vec<String> =
        chunks.iter().flat_map(|chunk| defined_names(chunk)).filter(|name| seen.insert(name.clone())).take(MAX_NAMES).collect();
    let title = title.filter(|t| !t.trim().is_empty());
    match (title, names.is_empty()) {
        (None, true) => None,
        (Some(title), true) => Some(title.to_string()),
        (title, false) => Some(format!("{}\n{}", title.unwrap_or(""), names.join(" "))),
    }
}

/// One entry of a document as the index would hold it (`KeywordIndex::analyze`).
pub struct AnalyzedChunk {
    /// Its position in the document, or `TITLE_CHUNK`.
    pub chunk: u32,
    /// Its length in terms.
    pub length: u32,
    /// Its distinct terms and their counts, in byte order.
    pub terms: Vec<(String, u32)>,
}

/// What BM25 needs of a term in one field: the field's average entry length and the term's idf.
#[derive(Clone, Copy)]
pub struct FieldStats {
    average_length: f32,
    idf: f32,
}

impl FieldStats {
    /// The field holds `chunks` entries of `total_length` terms in all, `frequency` of them the term.
    pub fn new(chunks: usize, total_length: u64, frequency: u32) -> Self {
        FieldStats { average_length: (total_length as f32 / chunks.max(1) as f32).max(1e-6), idf: idf(chunks as f32, frequency as f32) }
    }

    /// The term's BM25 impact in an entry of `length` terms holding it `count` times: idf times
    /// the saturated, length-normalized term frequency.
    pub fn impact(self, k1: f32, b: f32, count: u32, length: u32) -> f32 {
        let tf = count as f32;
        let norm = k1 * (1.0 - b + b * length as f32 / self.average_length);
        self.idf * tf * (k1 + 1.0) / (tf + norm)
    }
}

#[derive(Clone, Copy)]
struct Posting {
    chunk: u32,
    frequency: u32,
}

/// A document's best-scoring chunk.
#[derive(Clone, Debug, PartialEq)]
pub struct KeywordHit {
    pub slot: u32,
    /// The chunk's position within its document.
    pub chunk: u32,
    pub score: f32,
}

/// One term's postings with their BM25 impacts (`KeywordIndex::impacts`).
pub struct TermImpacts<'a> {
    pub term: &'a str,
    pub postings: Vec<KeywordHit>,
}

pub struct KeywordIndex {
    analyzer: Analyzer,
    k1: f32,
    b: f32,
    term_ids: HashMap<Box<str>, u32>,
    postings: Vec<Vec<Posting>>,
    /// Live chunks holding each term, per field.
    document_frequency: Vec<[u32; FIELDS]>,
    /// Per chunk: the slot owning it (`DEAD` once removed), its position in the document, its
    /// length in terms, and its distinct terms (`chunk_terms[terms_at[c]..terms_at[c + 1]]`).
    chunk_slot: Vec<u32>,
    chunk_index: Vec<u32>,
    chunk_length: Vec<u32>,
    terms_at: Vec<u32>,
    chunk_terms: Vec<u32>,
    /// Per slot: its first chunk and chunk count (0: free).
    slot_chunks: Vec<(u32, u32)>,
    live_chunks: [usize; FIELDS],
    live_length: [u64; FIELDS],
    dead_chunks: usize,
    /// `TITLE_WEIGHT`, but for benchmarks that try others.
    title_weight: f32,
}

impl KeywordIndex {
    pub fn new(language: Option<&str>, k1: f32, b: f32) -> Result<Self> {
        if !(k1.is_finite() && (0.0..=10.0).contains(&k1)) {
            return Err(EmbedError::Input(format!("k1 must be a number from 0 to 10; got {k1}")));
        }
        if !(b.is_finite() && (0.0..=1.0).contains(&b)) {
            return Err(EmbedError::Input(format!("b must be a number from 0 to 1; got {b}")));
        }
        Ok(KeywordIndex {
            analyzer: Analyzer::new(language)?,
            k1,
            b,
            term_ids: HashMap::new(),
            postings: Vec::new(),
            document_frequency: Vec::new(),
            chunk_slot: Vec::new(),
            chunk_index: Vec::new(),
            chunk_length: Vec::new(),
            terms_at: vec![0],
            chunk_terms: Vec::new(),
            slot_chunks: Vec::new(),
            live_chunks: [0; FIELDS],
            live_length: [0; FIELDS],
            dead_chunks: 0,
            title_weight: TITLE_WEIGHT,
        })
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Distinct terms ever seen (removed documents' included until compaction).
    pub fn term_count(&self) -> usize {
        self.term_ids.len()
    }

    /// Bytes the postings and chunk tables take (terms' text not counted).
    pub fn bytes(&self) -> usize {
        let postings: usize = self.postings.iter().map(|p| p.capacity() * 8 + 24).sum();
        postings
            + 4 * (self.document_frequency.capacity() + 4 * self.chunk_slot.capacity() + self.chunk_terms.capacity())
            + 8 * self.slot_chunks.capacity()
    }

    /// Indexes document `slot`'s chunks (their texts, in order). The slot must be free.
    pub fn add(&mut self, slot: u32, chunks: &[&str]) -> Result<()> {
        self.add_with_title(slot, chunks, None)
    }

    /// `add`, with the document's title field (None or empty: none).
    pub fn add_with_title(&mut self, slot: u32, chunks: &[&str], title: Option<&str>) -> Result<()> {
        let slot_at = slot as usize;
        if self.slot_chunks.get(slot_at).is_some_and(|&(_, count)| count > 0) {
            return Err(EmbedError::Input(format!("slot {slot} already holds a document")));
        }
        if chunks.is_empty() {
            return Err(EmbedError::Input("a document needs at least one chunk".into()));
        }
        if self.slot_chunks.len() <= slot_at {
            self.slot_chunks.resize(slot_at + 1, (0, 0));
        }
        let first = self.chunk_slot.len() as u32;
        let mut counts: HashMap<u32, u32> = HashMap::new();
        let field = title_field(title, chunks);
        let entries =
            chunks.iter().enumerate().map(|(index, text)| (index as u32, *text)).chain(field.as_deref().map(|t| (TITLE_CHUNK, t)));
        let mut count = 0;
        for (index, text) in entries {
            let chunk = self.chunk_slot.len() as u32;
            let field = field_of(index);
            counts.clear();
            let tokens = self.analyzer.tokens(text);
            for token in &tokens {
                let id = self.term_id(&token.term);
                *counts.entry(id).or_insert(0) += 1;
            }
            let mut distinct: Vec<u32> = counts.keys().copied().collect();
            distinct.sort_unstable();
            for &id in &distinct {
                self.postings[id as usize].push(Posting { chunk, frequency: counts[&id] });
                self.document_frequency[id as usize][field] += 1;
            }
            self.chunk_terms.extend_from_slice(&distinct);
            self.terms_at.push(self.chunk_terms.len() as u32);
            self.chunk_slot.push(slot);
            self.chunk_index.push(index);
            self.chunk_length.push(tokens.len() as u32);
            self.live_chunks[field] += 1;
            self.live_length[field] += tokens.len() as u64;
            count += 1;
        }
        self.slot_chunks[slot_at] = (first, count);
        Ok(())
    }

    /// Document `chunks` (and its title field) as `add_with_title` would index them, without
    /// indexing them: per entry, its chunk number (`TITLE_CHUNK` for the title field), its length
    /// in terms and its distinct terms with their counts, in byte order. A builder that streams
    /// documents keeps these on disk and scores them with `impact` once it knows the corpus.
    pub fn analyze(&self, chunks: &[&str], title: Option<&str>) -> Vec<AnalyzedChunk> {
        let field = title_field(title, chunks);
        let entries =
            chunks.iter().enumerate().map(|(index, text)| (index as u32, *text)).chain(field.as_deref().map(|t| (TITLE_CHUNK, t)));
        entries
            .map(|(chunk, text)| {
                let tokens = self.analyzer.tokens(text);
                let mut counts: HashMap<&str, u32> = HashMap::new();
                for token in &tokens {
                    *counts.entry(token.term.as_str()).or_insert(0) += 1;
                }
                let mut terms: Vec<(String, u32)> = counts.into_iter().map(|(term, count)| (term.to_owned(), count)).collect();
                terms.sort_unstable();
                AnalyzedChunk { chunk, length: tokens.len() as u32, terms }
            })
            .collect()
    }

    /// A posting's impact under this index's k1 and b (`FieldStats::impact`).
    pub fn posting_impact(&self, stats: FieldStats, count: u32, length: u32) -> f32 {
        stats.impact(self.k1, self.b, count, length)
    }

    /// Forgets document `slot` (an unknown or free slot is an error).
    pub fn remove(&mut self, slot: u32) -> Result<()> {
        let (first, count) = match self.slot_chunks.get(slot as usize) {
            Some(&(first, count)) if count > 0 => (first as usize, count as usize),
            _ => return Err(EmbedError::Input(format!("slot {slot} holds no document"))),
        };
        for chunk in first..first + count {
            let field = field_of(self.chunk_index[chunk]);
            for &id in &self.chunk_terms[self.terms_at[chunk] as usize..self.terms_at[chunk + 1] as usize] {
                self.document_frequency[id as usize][field] -= 1;
            }
            self.chunk_slot[chunk] = DEAD;
            self.live_chunks[field] -= 1;
            self.live_length[field] -= self.chunk_length[chunk] as u64;
        }
        self.dead_chunks += count;
        self.slot_chunks[slot as usize] = (0, 0);
        if self.dead_chunks > 1024 && self.dead_chunks * 2 > self.chunk_slot.len() {
            self.compact();
        }
        Ok(())
    }

    /// Bench hook: weighs titles by `weight` instead of `TITLE_WEIGHT`.
    pub fn set_title_weight(&mut self, weight: f32) {
        self.title_weight = weight;
    }

    /// The distinct terms of `query`, in the order they first appear (at most `MAX_QUERY_TERMS`).
    pub fn query_terms(&self, query: &str) -> Vec<String> {
        self.weighted_query_terms(query).into_iter().map(|(term, _)| term).collect()
    }

    /// `query_terms` with each term's weight: `PART_WEIGHT` for a part of an identifier the query
    /// also holds whole (`os.path.realpath`'s `path`), which stands for less than the name does;
    /// 1 otherwise.
    pub fn weighted_query_terms(&self, query: &str) -> Vec<(String, f32)> {
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut terms: Vec<(String, f32)> = Vec::new();
        let tokens = self.analyzer.tokens(query);
        // Stopwords score nothing and mark nothing, unless they are all the query has ("The Who").
        let only_stopwords = tokens.iter().all(|t| t.stop);
        for Token { term, part, .. } in tokens.into_iter().filter(|t| only_stopwords || !t.stop) {
            let weight = if part { PART_WEIGHT } else { 1.0 };
            match at.get(&term) {
                Some(&i) => terms[i].1 = f32::max(terms[i].1, weight),
                None if terms.len() == MAX_QUERY_TERMS => {}
                None => {
                    at.insert(term.clone(), terms.len());
                    terms.push((term, weight));
                }
            }
        }
        terms
    }

    /// What fusion divides a keyword score by: for each of `query`'s terms, its weight times its
    /// idf times `k1 + 1`, the most BM25 gives a term in a body chunk as its count grows. A
    /// chunk holding every term often scores near it; a chunk matching one rare word of five, a
    /// fraction; and a lone weak match stays weak instead of becoming the best keyword score
    /// (1.0) as dividing by the best hit's BM25 made it. A shipped index computes the same from
    /// the chunk count and the postings a query fetches.
    pub fn query_bound(&self, query: &str) -> f32 {
        let chunks = self.live_chunks[0] as f32;
        self.weighted_query_terms(query)
            .into_iter()
            .map(|(term, weight)| {
                let frequency = self.term_ids.get(term.as_str()).map_or(0, |&id| self.document_frequency[id as usize][0]) as f32;
                weight * idf(chunks, frequency) * (self.k1 + 1.0)
            })
            .sum()
    }

    /// Every live term with its BM25 impact in each live chunk holding it (as a hit's score),
    /// terms in byte order: what a shipped index stores, so that a query's BM25 is the sum of its
    /// terms' weights times these, exactly as `chunk_scores` computes it.
    pub fn impacts(&self) -> Vec<TermImpacts<'_>> {
        let mut terms: Vec<(&str, u32)> = self.term_ids.iter().map(|(term, &id)| (&**term, id)).collect();
        terms.sort_unstable();
        terms
            .into_iter()
            .filter(|&(_, id)| self.document_frequency[id as usize].iter().any(|&f| f > 0))
            .map(|(term, id)| {
                let postings = self
                    .impacts_of(id)
                    .map(|(chunk, impact)| KeywordHit { slot: self.chunk_slot[chunk], chunk: self.chunk_index[chunk], score: impact })
                    .collect();
                TermImpacts { term, postings }
            })
            .collect()
    }

    /// Each live chunk holding term `id`, with the term's BM25 impact there (idf times the
    /// saturated, length-normalized term frequency).
    fn impacts_of(&self, id: u32) -> impl Iterator<Item = (usize, f32)> + '_ {
        // Each field by its own statistics: a title is short, a body chunk long.
        let stats: [FieldStats; FIELDS] = std::array::from_fn(|field| {
            FieldStats::new(self.live_chunks[field], self.live_length[field], self.document_frequency[id as usize][field])
        });
        self.postings[id as usize].iter().filter(|p| self.chunk_slot[p.chunk as usize] != DEAD).map(move |posting| {
            let chunk = posting.chunk as usize;
            let stats = stats[field_of(self.chunk_index[chunk])];
            (chunk, stats.impact(self.k1, self.b, posting.frequency, self.chunk_length[chunk]))
        })
    }

    /// BM25 of every chunk for `query`'s terms (0 where none matches), indexed by chunk.
    pub fn chunk_scores(&self, query: &str) -> Vec<f32> {
        let mut scores = vec![0f32; self.chunk_slot.len()];
        if self.live_chunks.iter().all(|&n| n == 0) {
            return scores;
        }
        for (term, weight) in self.weighted_query_terms(query) {
            let Some(&id) = self.term_ids.get(term.as_str()) else { continue };
            for (chunk, impact) in self.impacts_of(id) {
                scores[chunk] += weight * impact;
            }
        }
        scores
    }

    /// The `k` documents whose best chunk scores highest for `query` (only documents matching at
    /// least one term), best first; ties go to the lower slot. `allowed[slot] == 0` leaves one out.
    pub fn search(&self, query: &str, k: usize, allowed: Option<&[u8]>) -> Result<Vec<KeywordHit>> {
        Ok(self.search_and_score(query, k, allowed, &[])?.0)
    }

    /// `search`, and each of `also`'s best chunk (score 0: no term), from one scoring pass.
    pub fn search_and_score(
        &self,
        query: &str,
        k: usize,
        allowed: Option<&[u8]>,
        also: &[u32],
    ) -> Result<(Vec<KeywordHit>, Vec<KeywordHit>)> {
        if let Some(allowed) = allowed {
            if allowed.len() < self.slot_chunks.len() {
                return Err(EmbedError::Input(format!(
                    "the filter mask has {} entries for {} slots",
                    allowed.len(),
                    self.slot_chunks.len()
                )));
            }
        }
        let scores = self.chunk_scores(query);
        let scored = also.iter().map(|&slot| self.best_chunk(slot, &scores)).collect();
        // Each document's best chunk (a slot's chunks are consecutive), then the best k of them
        // by selection: a frequent term touches most chunks, and sorting them all cost more
        // than scoring them.
        let mut hits: Vec<KeywordHit> = Vec::new();
        for (slot, &(_, count)) in self.slot_chunks.iter().enumerate() {
            if count == 0 || allowed.is_some_and(|a| a[slot] == 0) {
                continue;
            }
            let hit = self.best_chunk(slot as u32, &scores);
            if hit.score > 0.0 {
                hits.push(hit);
            }
        }
        let better = |a: &KeywordHit, b: &KeywordHit| b.score.total_cmp(&a.score).then(a.slot.cmp(&b.slot));
        if hits.len() > k && k > 0 {
            hits.select_nth_unstable_by(k - 1, better);
        }
        hits.truncate(k);
        hits.sort_by(better);
        Ok((hits, scored))
    }

    /// A document's best body chunk and its score among `scores` (a query's `chunk_scores`; 0:
    /// no term), plus `TITLE_WEIGHT` times its title's.
    fn best_chunk(&self, slot: u32, scores: &[f32]) -> KeywordHit {
        let mut hit = KeywordHit { slot, chunk: 0, score: 0.0 };
        let mut title = 0.0;
        if let Some(&(first, count)) = self.slot_chunks.get(slot as usize) {
            for chunk in first as usize..(first + count) as usize {
                let score = scores.get(chunk).copied().unwrap_or(0.0);
                if self.chunk_index[chunk] == TITLE_CHUNK {
                    title = score;
                } else if score > hit.score {
                    hit = KeywordHit { slot, chunk: self.chunk_index[chunk], score };
                }
            }
        }
        hit.score += self.title_weight * title;
        hit
    }

    /// The byte spans of `text` whose terms are among `terms` (a query's), in order.
    pub fn matches(&self, text: &str, terms: &[String]) -> Vec<(usize, usize)> {
        let wanted: std::collections::HashSet<&str> = terms.iter().map(String::as_str).collect();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for token in self.analyzer.tokens(text) {
            if !wanted.contains(token.term.as_str()) {
                continue;
            }
            // A whole identifier and its parts overlap: keep the widest span.
            match spans.last_mut() {
                Some(last) if token.start < last.1 => last.1 = last.1.max(token.end),
                _ => spans.push((token.start, token.end)),
            }
        }
        spans
    }

    fn term_id(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.term_ids.get(term) {
            return id;
        }
        let id = self.postings.len() as u32;
        self.term_ids.insert(term.into(), id);
        self.postings.push(Vec::new());
        self.document_frequency.push([0; FIELDS]);
        id
    }

    /// Drops dead chunks and renumbers the live ones; terms left with no chunk are forgotten.
    fn compact(&mut self) {
        let mut renumber = vec![DEAD; self.chunk_slot.len()];
        let mut next = 0u32;
        for (chunk, &slot) in self.chunk_slot.iter().enumerate() {
            if slot != DEAD {
                renumber[chunk] = next;
                next += 1;
            }
        }
        for list in &mut self.postings {
            list.retain(|p| renumber[p.chunk as usize] != DEAD);
            for p in list.iter_mut() {
                p.chunk = renumber[p.chunk as usize];
            }
        }
        let mut terms_at = vec![0u32];
        let mut chunk_terms = Vec::new();
        let (mut slots, mut indexes, mut lengths) = (Vec::new(), Vec::new(), Vec::new());
        for (chunk, &number) in renumber.iter().enumerate() {
            if number == DEAD {
                continue;
            }
            chunk_terms.extend_from_slice(&self.chunk_terms[self.terms_at[chunk] as usize..self.terms_at[chunk + 1] as usize]);
            terms_at.push(chunk_terms.len() as u32);
            slots.push(self.chunk_slot[chunk]);
            indexes.push(self.chunk_index[chunk]);
            lengths.push(self.chunk_length[chunk]);
        }
        for entry in &mut self.slot_chunks {
            if entry.1 > 0 {
                entry.0 = renumber[entry.0 as usize];
            }
        }
        (self.chunk_slot, self.chunk_index, self.chunk_length) = (slots, indexes, lengths);
        (self.terms_at, self.chunk_terms) = (terms_at, chunk_terms);
        self.dead_chunks = 0;
        // Terms no live chunk holds: gone from the dictionary, their ids reused by nothing.
        let empty: Vec<Box<str>> =
            self.term_ids.iter().filter(|(_, &id)| self.postings[id as usize].is_empty()).map(|(t, _)| t.clone()).collect();
        for term in empty {
            self.term_ids.remove(&term);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(docs: &[&[&str]]) -> KeywordIndex {
        let mut index = KeywordIndex::new(None, DEFAULT_K1, DEFAULT_B).unwrap();
        for (slot, chunks) in docs.iter().enumerate() {
            index.add(slot as u32, chunks).unwrap();
        }
        index
    }

    /// BM25 by hand for three one-chunk documents (lengths 4, 2, 3; average 3), query "cat":
    /// df 2 of N 3 → idf = ln(1 + (3 − 2 + 0.5) / (2 + 0.5)) = ln(1.6).
    #[test]
    fn bm25_matches_a_hand_computed_example() {
        let index = index(&[&["the cat sat down"], &["cat cat"], &["a dog barked"]]);
        let idf = 1.6f32.ln();
        let bm25 = |tf: f32, length: f32| idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / 3.0));
        let hits = index.search("cat", 10, None).unwrap();
        assert_eq!(hits.iter().map(|h| h.slot).collect::<Vec<_>>(), [1, 0]);
        assert!((hits[0].score - bm25(2.0, 2.0)).abs() < 1e-6, "{} vs {}", hits[0].score, bm25(2.0, 2.0));
        assert!((hits[1].score - bm25(1.0, 4.0)).abs() < 1e-6);
        // Two terms add up; a term nobody has adds nothing.
        let both = index.search("cat dog zebra", 10, None).unwrap();
        let dog_idf = (1.0f32 + (3.0 - 1.0 + 0.5) / 1.5).ln();
        let dog = dog_idf * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * 3.0 / 3.0));
        assert!((both.iter().find(|h| h.slot == 2).unwrap().score - dog).abs() < 1e-6);
    }

    /// A builder that streams documents analyzes each (`analyze`), counts the corpus itself and
    /// scores postings with `FieldStats`: the impacts the store gives, bit for bit, titles included.
    #[test]
    fn analyzed_documents_score_as_the_store_scores_them() {
        let docs: [(&[&str], Option<&str>); 4] = [
            (&["the cat sat down", "os.path.realpath here"], Some("Cats and paths")),
            (&["cat cat", ".. function:: a2b_hex(hexstr)\n\n   Hex to binary."], None),
            (&["a dog barked at the cat"], Some("Dogs")),
            (&["Über straße café naïve"], Some("")),
        ];
        let mut index = KeywordIndex::new(Some("english"), DEFAULT_K1, 0.5).unwrap();
        let analyzed: Vec<Vec<AnalyzedChunk>> = docs.iter().map(|(chunks, title)| index.analyze(chunks, *title)).collect();
        for (slot, (chunks, title)) in docs.iter().enumerate() {
            index.add_with_title(slot as u32, chunks, *title).unwrap();
        }
        let (mut entries, mut lengths) = ([0usize; FIELDS], [0u64; FIELDS]);
        let mut frequency: HashMap<String, [u32; FIELDS]> = HashMap::new();
        for entry in analyzed.iter().flatten() {
            let field = field_of(entry.chunk);
            entries[field] += 1;
            lengths[field] += entry.length as u64;
            for (term, _) in &entry.terms {
                frequency.entry(term.clone()).or_default()[field] += 1;
            }
        }
        let mut streamed: Vec<(String, u32, u32, u32)> = Vec::new();
        for (slot, doc) in analyzed.iter().enumerate() {
            for entry in doc {
                let field = field_of(entry.chunk);
                for (term, count) in &entry.terms {
                    let stats = FieldStats::new(entries[field], lengths[field], frequency[term][field]);
                    streamed.push((term.clone(), slot as u32, entry.chunk, index.posting_impact(stats, *count, entry.length).to_bits()));
                }
            }
        }
        let mut stored: Vec<(String, u32, u32, u32)> = index
            .impacts()
            .into_iter()
            .flat_map(|t| t.postings.into_iter().map(move |p| (t.term.to_owned(), p.slot, p.chunk, p.score.to_bits())))
            .collect();
        streamed.sort();
        stored.sort();
        assert!(stored.iter().any(|p| p.2 == TITLE_CHUNK) && stored.len() > 20, "{stored:?}");
        assert_eq!(streamed, stored);
    }

    /// A shipped index scores a query by adding weight × impact: that must be `chunk_scores` exactly.
    #[test]
    fn impacts_add_up_to_the_same_scores_as_a_search() {
        let mut index = index(&[&["the cat sat down", "os.path.realpath here"], &["cat cat"], &["a dog barked"], &["gone cat"]]);
        index.remove(3).unwrap();
        let impacts = index.impacts();
        assert!(impacts.windows(2).all(|w| w[0].term < w[1].term), "terms in byte order");
        assert!(impacts.iter().all(|t| t.term != "gone"), "a removed document's only term is left out");
        for query in ["cat", "cat dog zebra", "os.path.realpath", "path"] {
            let mut summed: HashMap<(u32, u32), f32> = HashMap::new();
            for (term, weight) in index.weighted_query_terms(query) {
                let Some(found) = impacts.iter().find(|t| t.term == term) else { continue };
                for posting in &found.postings {
                    *summed.entry((posting.slot, posting.chunk)).or_insert(0.0) += weight * posting.score;
                }
            }
            for hit in index.search(query, 10, None).unwrap() {
                let got = summed[&(hit.slot, hit.chunk)];
                assert!((got - hit.score).abs() <= 1e-6 * hit.score.max(1.0), "{query}: {got} vs {}", hit.score);
            }
            assert!(!summed.is_empty() || query.contains("zebra"), "{query} found nothing");
        }
    }

    #[test]
    fn a_document_scores_by_its_best_chunk_and_removal_updates_statistics() {
        let mut index = index(&[&["nothing here", "the realpath of a link", "more filler"], &["realpath realpath"], &["unrelated"]]);
        let hits = index.search("realpath", 10, None).unwrap();
        assert_eq!(hits.iter().map(|h| (h.slot, h.chunk)).collect::<Vec<_>>(), [(1, 0), (0, 1)]);
        let before = hits[1].score;
        index.remove(1).unwrap();
        let after = index.search("realpath", 10, None).unwrap();
        assert_eq!(after.iter().map(|h| h.slot).collect::<Vec<_>>(), [0]);
        // One fewer chunk holds the term: its idf rises.
        assert!(after[0].score > before);
        assert!(index.remove(1).is_err());
        index.add(1, &["realpath again"]).unwrap();
        assert_eq!(index.search("realpath", 10, Some(&[0, 1, 1])).unwrap().iter().map(|h| h.slot).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn compaction_keeps_scores() {
        let mut index = KeywordIndex::new(None, DEFAULT_K1, DEFAULT_B).unwrap();
        for slot in 0..3000u32 {
            index.add(slot, &[&format!("common word{slot} and text"), "second chunk"]).unwrap();
        }
        let before = index.search("word2999 common", 3, None).unwrap();
        for slot in 0..2000u32 {
            index.remove(slot).unwrap();
        }
        let fresh = {
            let mut fresh = KeywordIndex::new(None, DEFAULT_K1, DEFAULT_B).unwrap();
            for slot in 2000..3000u32 {
                fresh.add(slot, &[&format!("common word{slot} and text"), "second chunk"]).unwrap();
            }
            fresh
        };
        let after = index.search("word2999 common", 3, None).unwrap();
        assert_eq!(after, fresh.search("word2999 common", 3, None).unwrap());
        assert_eq!(after[0].slot, before[0].slot);
        // 3 004 terms before; compaction (at half the chunks dead) forgot those of the first 1 500 removed.
        assert!(index.term_count() < 2000, "{} terms kept", index.term_count());
    }

    #[test]
    fn highlights_cover_matched_terms() {
        let index = index(&[&["x"]]);
        let terms = index.query_terms("realpath Café");
        let text = "Use os.path.realpath; the café is open";
        let spans = index.matches(text, &terms);
        let marked: Vec<&str> = spans.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(marked, ["realpath", "café"]);
        // A query naming the whole identifier marks all of it once.
        let spans = index.matches(text, &index.query_terms("os.path.realpath"));
        assert_eq!(spans.iter().map(|&(s, e)| &text[s..e]).collect::<Vec<_>>(), ["os.path.realpath"]);
    }

    #[test]
    fn hostile_queries_and_options() {
        let index = index(&[&["a b c"], &["b c d"]]);
        let long: String = (0..100_000).map(|i| format!("t{i} ")).collect();
        assert_eq!(index.query_terms(&long).len(), MAX_QUERY_TERMS);
        assert!(index.search(&long, 5, None).unwrap().is_empty());
        assert!(index.search("", 5, None).unwrap().is_empty());
        // A term in every document still scores (idf stays positive).
        assert_eq!(index.search("b", 5, None).unwrap().len(), 2);
        // A million distinct terms in one document: indexed, and each one found.
        let mut big = KeywordIndex::new(None, DEFAULT_K1, DEFAULT_B).unwrap();
        let million: String = (0..1_000_000).map(|i| format!("w{i} ")).collect();
        big.add(0, &[&million, "w5 again"]).unwrap();
        assert_eq!(big.term_count(), 1_000_001);
        assert_eq!(big.search("w999999", 1, None).unwrap()[0].chunk, 0);
        assert_eq!(big.search("w5", 1, None).unwrap()[0].chunk, 1);
        assert!(KeywordIndex::new(None, f32::NAN, 0.5).is_err());
        assert!(KeywordIndex::new(None, 1.2, 2.0).is_err());
        assert!(index.search("b", 5, Some(&[1])).is_err());
    }

    #[test]
    fn a_title_field_counts_beside_the_best_chunk_with_its_own_statistics() {
        let mut index = KeywordIndex::new(None, DEFAULT_K1, DEFAULT_B).unwrap();
        index
            .add_with_title(
                0,
                &["a2b_hex(hexstr) returns the binary data", "more text"],
                Some("binascii — Convert between binary and ASCII"),
            )
            .unwrap();
        index.add_with_title(1, &["a2b_hex is mentioned here too, with hexstr"], Some("another module")).unwrap();
        index.add(2, &["unrelated words only"]).unwrap();
        // `binascii.a2b_hex`: the qualified name only the first document's title completes.
        let hits = index.search("binascii.a2b_hex", 3, None).unwrap();
        assert_eq!(hits.iter().map(|h| h.slot).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(hits[0].chunk, 0, "the hit's chunk is a body chunk");
        let title_only = index.search("ascii", 3, None).unwrap();
        assert_eq!((title_only.len(), title_only[0].slot, title_only[0].chunk), (1, 0, 0));
        // The title is in the shipped impacts as its own chunk number, and removal drops it.
        assert!(index.impacts().iter().any(|t| t.term == "binascii" && t.postings.iter().all(|p| p.chunk == TITLE_CHUNK)));
        index.remove(0).unwrap();
        assert!(index.search("binascii", 3, None).unwrap().is_empty());
    }

    #[test]
    fn stopwords_add_no_score_unless_the_query_is_nothing_but_stopwords() {
        let mut index = KeywordIndex::new(Some("english"), DEFAULT_K1, DEFAULT_B).unwrap();
        index.add(0, &["To be or not to be, that is the question"]).unwrap();
        index.add(1, &["a note about a cat and a dog"]).unwrap();
        index.add(2, &["The Who played loud rock"]).unwrap();
        assert_eq!(index.query_terms("what is a cat?"), ["cat"]);
        assert_eq!(index.search("to be or not to be", 3, None).unwrap()[0].slot, 0);
        assert_eq!(index.search("The Who", 3, None).unwrap()[0].slot, 2);
        // No "a" is highlighted for a question with content words.
        let terms = index.query_terms("is there a dog");
        assert_eq!(index.matches("a note about a cat and a dog", &terms), [(25, 28)]);
    }
}
