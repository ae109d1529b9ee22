// The codec: encode(msg) -> bytes, decode(bytes) -> unknown (STYLE.md #5). msgpackr is an implementation
// detail: typed arrays travel as its typed-array extension (one memcpy, no per-element work) and decode
// as aligned copies.

import { Packr } from 'msgpackr';
import { TrainerError } from './errors.js';

const packr = new Packr({ useRecords: false, moreTypes: true, bundleStrings: false });

export function encode(msg: object): Uint8Array {
  return packr.pack(msg);
}

/** Decode one frame; size must already be bounded by the caller (ws maxPayload). */
export function decode(bytes: Uint8Array, maxBytes: number): unknown {
  if (bytes.length > maxBytes) {
    throw new TrainerError('ERR_FRAME_TOO_LARGE', `frame of ${bytes.length} bytes exceeds the limit of ${maxBytes}`);
  }
  try {
    return packr.unpack(bytes);
  } catch (cause) {
    throw new TrainerError('ERR_BAD_FRAME', `frame is not valid msgpack: ${(cause as Error).message}`, { cause });
  }
}
