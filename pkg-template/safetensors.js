// Reads a safetensors file in the browser and hands its tensors over one at a time, so the
// engine never holds a whole weight file beside the tensors made from it. The header is checked
// against the byte count first: a truncated or padded download is refused here.

import { WebembedError } from './errors.js';

const HALF = { F16: false, BF16: true };

/** Yields { name, dtype, shape, data: Uint8Array } after checking the file's layout. */
export function* tensors(bytes, file) {
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
  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__');
  let end = 0;
  for (const [name, info] of entries) {
    const [begin, stop] = info.data_offsets ?? [];
    const width = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, I8: 1 }[info.dtype];
    const count = (info.shape ?? []).reduce((a, b) => a * b, 1);
    if (!width) throw bad(`tensor ${name} has dtype ${info.dtype}, which webembed does not read`);
    if (!(begin <= stop && stop <= dataLength) || stop - begin !== count * width) {
      throw bad(`tensor ${name} (${info.dtype} ${JSON.stringify(info.shape)}) does not fit bytes ${begin}..${stop} of ${dataLength}`);
    }
    end = Math.max(end, stop);
  }
  if (end !== dataLength) throw bad(`its tensors end at byte ${end} of ${dataLength}`);
  for (const [name, info] of entries) {
    const [begin, stop] = info.data_offsets;
    yield { name, dtype: info.dtype, shape: info.shape, data: bytes.subarray(dataStart + begin, dataStart + stop) };
  }
}

/** Throws E_WEIGHTS unless the header parses and its tensors exactly fill the file. */
export function checkSafetensors(bytes, file) {
  tensors(bytes, file).next(); // the generator checks the whole layout before its first tensor
}

/** Passes every tensor of a safetensors file to the engine's loader. */
export function streamInto(loader, bytes, file) {
  for (const { name, dtype, shape, data } of tensors(bytes, file)) {
    if (dtype === 'F32') {
      loader.addTensorF32(name, shape, typedView(Float32Array, data));
    } else if (dtype in HALF) {
      loader.addTensorHalf(name, shape, typedView(Uint16Array, data), HALF[dtype]);
    } else if (/^[IU]\d+$/.test(dtype)) {
      // Integer tensors are buffers such as BERT's `position_ids`, never weights: not needed.
    } else {
      throw new WebembedError('E_WEIGHTS', `${file}: tensor ${name} is ${dtype}; webembed reads F32, F16 and BF16 weights`);
    }
  }
}

// Typed arrays need aligned offsets; safetensors aligns data to 8 bytes, but copy when not.
function typedView(Type, data) {
  if (data.byteOffset % Type.BYTES_PER_ELEMENT === 0) {
    return new Type(data.buffer, data.byteOffset, data.byteLength / Type.BYTES_PER_ELEMENT);
  }
  return new Type(data.slice().buffer);
}
