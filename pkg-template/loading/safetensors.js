// Reads a safetensors file in the browser and hands its tensors to the engine one at a time
// (large ones in blocks of rows), so the engine never holds a whole weight file beside the
// tensors made from it, and a q8 load never holds a whole f32 matrix. The header is checked
// against the byte count first: a truncated or padded file is refused here.

import { WebembedError } from '../core/errors.js';

const WIDTH = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, U8: 1, I8: 1 };
const HALF = { F16: false, BF16: true };
/** Bytes of one block of rows handed to the engine at a time. */
const ROW_BLOCK_BYTES = 4 << 20;

/** { metadata, entries: [{ name, dtype, shape, data: Uint8Array }] } after checking the layout. */
export function readSafetensors(bytes, file) {
  const bad = (why) => new WebembedError('E_WEIGHTS', `${file} is not a complete safetensors file (${bytes.byteLength} bytes): ${why}`);
  if (bytes.byteLength < 8) throw bad('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.byteLength) throw bad(`its header claims ${headerLength} bytes`);
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw bad(`its header is not JSON (${error.message})`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad('its header is not a JSON object');
  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__');
  if (entries.length === 0) throw bad('its header lists no tensors');
  for (const [name, info] of entries) {
    if (info === null || typeof info !== 'object') throw bad(`tensor ${name} is described by ${JSON.stringify(info)}, not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    const width = WIDTH[dtype];
    if (!width) throw bad(`tensor ${name} has dtype ${JSON.stringify(dtype)}, which webembed does not read`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`tensor ${name} has shape ${JSON.stringify(shape)}; a shape is a list of non-negative integers`);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(Number.isSafeInteger)) {
      throw bad(`tensor ${name} has data_offsets ${JSON.stringify(offsets)}; they are two integers`);
    }
    const [begin, stop] = offsets;
    if (!Number.isSafeInteger(count * width) || !(0 <= begin && begin <= stop && stop <= dataLength) || stop - begin !== count * width) {
      throw bad(`tensor ${name} (${dtype} ${JSON.stringify(shape)}) does not fit bytes ${begin}..${stop} of ${dataLength}`);
    }
  }
  // The tensors must tile the data: an overlap, a gap or a repeated name (JSON.parse keeps only
  // the last of two equal keys, leaving a gap) means the file is not what it claims.
  const ordered = entries.map(([name, info]) => [name, ...info.data_offsets]).sort((a, b) => a[1] - b[1] || a[2] - b[2]);
  let end = 0;
  for (const [name, begin, stop] of ordered) {
    if (begin !== end) {
      throw bad(begin < end ? `tensor ${name} overlaps the tensor before it (bytes ${begin}..${end})` : `bytes ${end}..${begin} belong to no tensor (a gap, or a tensor name given twice)`);
    }
    end = stop;
  }
  if (end !== dataLength) throw bad(`its tensors end at byte ${end} of ${dataLength}`);
  return {
    metadata: header.__metadata__ ?? null,
    entries: entries.map(([name, info]) => ({
      name,
      dtype: info.dtype,
      shape: info.shape ?? [],
      data: bytes.subarray(dataStart + info.data_offsets[0], dataStart + info.data_offsets[1]),
    })),
  };
}

/** Yields { name, dtype, shape, data } after checking the file's layout. */
export function* tensors(bytes, file) {
  yield* readSafetensors(bytes, file).entries;
}

/** Throws E_WEIGHTS unless the header parses and its tensors exactly fill the file. */
export function checkSafetensors(bytes, file) {
  readSafetensors(bytes, file);
}

/** Passes every tensor of a safetensors file to the engine's loader. */
export function streamInto(loader, bytes, file) {
  const { metadata, entries } = readSafetensors(bytes, file);
  // A q8 file's scheme is checked before any of its int8 tensors is read.
  if (entries.some((t) => t.dtype === 'I8')) loader.acceptQ8Metadata(file, JSON.stringify(metadata));
  for (const { name, dtype, shape, data } of entries) {
    if (dtype === 'F32') {
      inRowBlocks(shape, data, 4, (first, block) => loader.addTensorRows(name, shape, first, typedView(Float32Array, block)));
    } else if (dtype in HALF) {
      inRowBlocks(shape, data, 2, (first, block) => loader.addTensorHalfRows(name, shape, first, typedView(Uint16Array, block), HALF[dtype]));
    } else if (dtype === 'I8') {
      loader.addTensorI8(name, shape, new Int8Array(data.buffer, data.byteOffset, data.byteLength));
    } else if (dtype === 'I64' || dtype === 'I32') {
      // A model2vec token mapping (other integer tensors, such as BERT's `position_ids`, go unused).
      loader.addTensorIndices(name, shape, indices(dtype, data, name, file));
    } else if (/^[IU]\d+$/.test(dtype)) {
      // Other integer tensors are buffers, never weights: not needed.
    } else {
      throw new WebembedError('E_WEIGHTS', `${file}: tensor ${name} is ${dtype}; webembed reads F32, F16 and BF16 weights (and I8 in q8 files)`);
    }
  }
}

// An integer tensor's values as an Int32Array; a value beyond 32 bits is refused by name.
function indices(dtype, data, name, file) {
  if (dtype === 'I32') return typedView(Int32Array, data);
  const wide = typedView(BigInt64Array, data);
  const out = new Int32Array(wide.length);
  for (let i = 0; i < wide.length; i++) {
    if (wide[i] < -2147483648n || wide[i] > 2147483647n) throw new WebembedError('E_WEIGHTS', `${file}: integer tensor ${name} holds ${wide[i]}, beyond 32 bits`);
    out[i] = Number(wide[i]);
  }
  return out;
}

// Hands `data` over in blocks of whole rows (the first dimension) of at most ROW_BLOCK_BYTES.
function inRowBlocks(shape, data, elementBytes, add) {
  const rows = shape.length ? shape[0] : 1;
  const rowBytes = rows ? data.byteLength / rows : 0;
  const perBlock = Math.max(1, Math.floor(ROW_BLOCK_BYTES / Math.max(rowBytes, elementBytes)));
  if (rows === 0 || rowBytes === 0) return add(0, data);
  for (let first = 0; first < rows; first += perBlock) {
    add(first, data.subarray(first * rowBytes, Math.min(rows, first + perBlock) * rowBytes));
  }
}

// Typed arrays need aligned offsets; safetensors aligns data to 8 bytes, but copy when not.
function typedView(Type, data) {
  if (data.byteOffset % Type.BYTES_PER_ELEMENT === 0) {
    return new Type(data.buffer, data.byteOffset, data.byteLength / Type.BYTES_PER_ELEMENT);
  }
  return new Type(data.slice().buffer);
}
