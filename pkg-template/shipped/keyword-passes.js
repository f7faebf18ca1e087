// A shipped index's keyword shards built in passes, for corpora one engine store cannot hold (its
// postings live in wasm memory, 4 GB at most: ~1 GB at a million short documents). Each document
// is analyzed by the engine (`analyzeDocument`: the terms, counts and lengths `add` would index)
// and its postings appended to one of `groups` spill streams by term hash; the corpus's counts
// are kept on the way. Then each group is read back alone and scored by the engine
// (`postingImpacts`: the store's own BM25 arithmetic), so the impacts are the store's, bit for
// bit. The shard count is a multiple of `groups`, so that every shard's terms are in one group.

import { encodeShard, termHash } from './format.js';

/** Posting bytes per keyword shard (as one store's shards). */
const SHARD_BYTES = 16 * 1024;
/** Bytes a group's records are buffered to before they go to its spill stream. */
const FLUSH_BYTES = 1 << 20;

/**
 * Documents per group: a group's postings are read back at once (~40 MB of records a group at
 * 20 000 short documents a group… and at 10 000 000 documents, 64 groups of ~150 000 each).
 */
const DOCUMENTS_PER_GROUP = 20_000;
const MAX_GROUPS = 64;

/** Spill streams held in memory (the CLI passes streams on disk). */
export function memoryGroups() {
  const parts = new Map();
  return {
    async append(group, bytes) {
      if (!parts.has(group)) parts.set(group, []);
      parts.get(group).push(bytes.slice());
    },
    async read(group) {
      const list = parts.get(group) ?? [];
      const out = new Uint8Array(list.reduce((n, b) => n + b.byteLength, 0));
      list.reduce((at, b) => (out.set(b, at), at + b.byteLength), 0);
      return out;
    },
    async remove() {
      parts.clear();
    },
  };
}

/**
 * The encoded shards, shard n at position n. `documentAt(number)` gives document `number` (in
 * index order) as `{ text, spans, title }`; `store` is an engine SearchStore with the index's
 * analyzer, k1 and b; `spill` holds the groups' records (memoryGroups() or the CLI's files).
 */
export async function streamedKeywordShards({ store, documentCount, documentAt, spill = memoryGroups(), advance = () => {} }) {
  const groups = Math.max(1, Math.min(MAX_GROUPS, Math.ceil(documentCount / DOCUMENTS_PER_GROUP)));
  const buffers = Array.from({ length: groups }, () => ({ bytes: new Uint8Array(FLUSH_BYTES + 4096), at: 0 }));
  const encoder = new TextEncoder();
  const fields = [0, 0, 0, 0]; // body entries, body length, title entries, title length
  let postings = 0;
  const titleChunk = store.constructor.titleChunk();
  const flush = async (group) => {
    const buffer = buffers[group];
    if (buffer.at > 0) await spill.append(group, buffer.bytes.subarray(0, buffer.at));
    buffer.at = 0;
  };
  for (let number = 0; number < documentCount; number++) {
    if (number % 4096 === 0) advance(number / 2);
    const { text, spans, title } = documentAt(number);
    const chunks = [];
    for (let i = 0; i < spans.length; i += 2) chunks.push(text.slice(spans[i], spans[i + 1]));
    const { terms, entries } = store.analyzeDocument(chunks, title || undefined);
    let t = 0;
    for (let at = 0; at < entries.length;) {
      const [chunk, length, count] = [entries[at], entries[at + 1], entries[at + 2]];
      const field = chunk === titleChunk ? 2 : 0;
      fields[field]++;
      fields[field + 1] += length;
      for (let i = 0; i < count; i++, t++) {
        const term = terms[t];
        const group = termHash(term) % groups;
        const buffer = buffers[group];
        // A record: the term's UTF-8 length (u16) and bytes, then document, chunk, count and length (u32).
        if (buffer.at + 18 + 3 * term.length > buffer.bytes.byteLength) await flush(group);
        const view = new DataView(buffer.bytes.buffer);
        const written = encoder.encodeInto(term, buffer.bytes.subarray(buffer.at + 2)).written;
        view.setUint16(buffer.at, written, true);
        let p = buffer.at + 2 + written;
        for (const value of [number, chunk, entries[at + 3 + i], length]) {
          view.setUint32(p, value, true);
          p += 4;
        }
        buffer.at = p;
        if (buffer.at >= FLUSH_BYTES) await flush(group);
        postings++;
      }
      at += 3 + count;
    }
  }
  for (let group = 0; group < groups; group++) await flush(group);

  const count = groups * Math.max(1, Math.ceil((postings * 12) / SHARD_BYTES / groups));
  const shards = new Array(count);
  const decoder = new TextDecoder();
  for (let group = 0; group < groups; group++) {
    advance(documentCount / 2 + (documentCount / 2) * (group / groups));
    const records = await spill.read(group);
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    // Per term (in order of first appearance): its postings' positions in the flat arrays below.
    const byTerm = new Map();
    const flat = { term: [], document: [], chunk: [], count: [], length: [] };
    for (let at = 0; at < records.byteLength;) {
      const size = view.getUint16(at, true);
      const term = decoder.decode(records.subarray(at + 2, at + 2 + size));
      at += 2 + size;
      let entry = byTerm.get(term);
      if (!entry) byTerm.set(term, (entry = { number: byTerm.size, frequencies: [0, 0], postings: [] }));
      const chunk = view.getUint32(at + 4, true);
      entry.frequencies[chunk === titleChunk ? 1 : 0]++;
      entry.postings.push(flat.term.length);
      flat.term.push(entry.number);
      flat.document.push(view.getUint32(at, true));
      flat.chunk.push(chunk);
      flat.count.push(view.getUint32(at + 8, true));
      flat.length.push(view.getUint32(at + 12, true));
      at += 16;
    }
    const frequencies = new Uint32Array(2 * byTerm.size);
    for (const { number, frequencies: [body, inTitles] } of byTerm.values()) frequencies.set([body, inTitles], 2 * number);
    const impacts = store.postingImpacts(Float64Array.from(fields), frequencies, Uint32Array.from(flat.term), Uint32Array.from(flat.chunk), Uint32Array.from(flat.count), Uint32Array.from(flat.length));
    const byShard = new Map();
    for (const [term, { postings: at }] of byTerm) {
      const shard = termHash(term) % count;
      if (!byShard.has(shard)) byShard.set(shard, []);
      byShard.get(shard).push({
        term,
        key: encoder.encode(term),
        documents: Uint32Array.from(at, (p) => flat.document[p]),
        chunks: Uint32Array.from(at, (p) => flat.chunk[p]),
        impacts: Float32Array.from(at, (p) => impacts[p]),
      });
    }
    for (let shard = group; shard < count; shard += groups) {
      // Terms in byte order, as the store lists them.
      const entries = (byShard.get(shard) ?? []).sort((a, b) => compareBytes(a.key, b.key));
      shards[shard] = encodeShard(entries);
    }
  }
  await spill.remove();
  advance(documentCount);
  return shards;
}

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
