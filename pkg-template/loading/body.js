// Reading a response's body, bounded: a host that sends more than a file may hold (an endless
// body, a 10 GB "config") is cut off as soon as it passes the bound, with an error naming the file
// and the bound, instead of filling memory. The bound is the file's declared size where one is
// declared (Content-Length; a shipped index's manifest; a safetensors file's own header), else
// the most a file of its kind may take (LIMITS).

import { WebembedError } from '../core/errors.js';

const MiB = 1 << 20;

/** The most bytes each kind of file may take when nothing declares its size. */
export const LIMITS = {
  /** A model folder's JSON files: its configs and its tokenizer (Gemma's is 33 MB). */
  json: 64 * MiB,
  /** pytorch_model.bin (a safetensors file declares its size in its header). */
  weights: 3 * 1024 * MiB,
  /** A safetensors header. */
  safetensorsHeader: 100 * MiB,
  wasm: 64 * MiB,
  /** A shipped index's manifest (webembed-index.json; ~80 KB at a million documents). */
  manifest: 16 * MiB,
};

/** The bound for file `name` (a path in a model folder or the package). */
export function limitFor(name) {
  if (name.endsWith('.wasm')) return LIMITS.wasm;
  if (name.endsWith('.json')) return LIMITS.json;
  return LIMITS.weights;
}

function megabytes(bytes) {
  return `${(bytes / MiB).toFixed(bytes < MiB ? 3 : 0)} MiB`;
}

/**
 * `response`'s body as one Uint8Array, `report(loaded, total)` as it arrives. Reading stops, the
 * rest is cancelled and `tooLong(loaded, limit, why)` is thrown once more than `limit` bytes came
 * (or more than a declared Content-Length, or than a safetensors file's header says it holds).
 */
export async function readBounded(response, { limit, safetensors = false, report = () => {}, tooLong, signal }) {
  const declared = Number(response.headers.get('content-length')) || 0;
  // With a content-encoding the header counts compressed bytes: it bounds nothing here.
  const encoded = Boolean(response.headers.get('content-encoding'));
  let bound = limit;
  let why = `the most such a file may take (${megabytes(limit)})`;
  if (declared && !encoded && declared < bound) [bound, why] = [declared, `its Content-Length (${declared} bytes)`];
  report(0, declared);
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > bound) throw tooLong(bytes.byteLength, bound, why);
    report(bytes.byteLength, declared || bytes.byteLength);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  let headerChecked = !safetensors;
  // The signal ends a read that waits (a host that trickles), whatever fetch made the response.
  let stop;
  const stopped = new Promise((_, reject) => {
    stop = () => reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
  });
  stopped.catch(() => {});
  try {
    for (;;) {
      const { done, value } = await (signal ? Promise.race([reader.read(), stopped]) : reader.read());
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      if (!headerChecked) {
        const size = safetensorsSize(chunks, loaded, tooLong);
        if (size !== null) {
          headerChecked = true;
          if (size < bound) [bound, why] = [size, `the ${size} bytes its safetensors header declares`];
        }
      }
      if (loaded > bound) throw tooLong(loaded, bound, why);
      report(loaded, declared);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  return join(chunks, loaded);
}

function join(chunks, length) {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * The whole size a safetensors file's header declares (8 + header + the end of its last
 * tensor), once enough bytes arrived to read it; null until then. A header that is not one is
 * left to the full check after the download (checkSafetensors), which says what is wrong.
 */
function safetensorsSize(chunks, loaded, tooLong) {
  if (loaded < 8) return null;
  const head = chunks.length === 1 ? chunks[0] : join(chunks, loaded);
  const headerLength = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > LIMITS.safetensorsHeader) throw tooLong(loaded, LIMITS.safetensorsHeader, `a safetensors header's bound (${megabytes(LIMITS.safetensorsHeader)}): its header claims ${headerLength} bytes`);
  if (loaded < 8 + headerLength) return null;
  let end = 0;
  try {
    const header = JSON.parse(new TextDecoder().decode(head.subarray(8, 8 + headerLength)));
    for (const [name, info] of Object.entries(header)) {
      if (name !== '__metadata__' && Array.isArray(info?.data_offsets)) end = Math.max(end, Number(info.data_offsets[1]) || 0);
    }
  } catch {
    return Infinity;
  }
  return 8 + headerLength + end;
}

/** A WebembedError for a body past its bound, naming the file and the bound. */
export function bodyTooLong(code, url) {
  return (loaded, bound, why) => new WebembedError(code, `${url} sent more than ${why}: reading stopped at ${loaded} bytes`);
}
