// The codec: encode(msg) -> bytes, decode(bytes) -> unknown (STYLE.md #5). msgpackr is an implementation
// detail. Two frame layouts:
// - plain: one msgpack map (handshake, control, results without tensors);
// - tensor: a message with exactly one typed-array field (weights, weightsDelta, gradient, assign, evaluate):
//     [0]        0xC1, the one byte msgpack never uses, so the layouts cannot be confused
//     [1]        dtype: 1 float32, 2 uint32, 3 uint16 (bf16/fp16 gradients and weight deltas), 4 int8 blocks (
//                ceil(n / GRAD_BLOCK) float32 scales, then n int8 values)
//     [2, 4)     zero
//     [4, 8)     element count n, u32 little-endian
//     [8, 8+4n)  the elements, little-endian (8+2n for uint16, 8+4b+n for int8 blocks)
//     [.., ..)   msgpack map of the other fields plus "$tensor": the field's name
//   The elements sit at offset 8, so a frame in an aligned buffer decodes to a view (no copy, no fresh
//   memory to page in), and a sender can compute straight into a reused frame buffer and add the small
//   header afterwards (see FramePool). Measured on the reference CNN (122,570 floats): msgpackr packing
//   with a bin field took 0.87 ms per frame and decode+validate 0.71 ms; see bench/RESULTS.md.

import { Packr } from 'msgpackr';
import { GRAD_BLOCK, type WireGradient } from './compress.js';
import { TrainerError } from './errors.js';
import type {
  AssignMsg,
  CoordinatorMsg,
  EvaluateMsg,
  GradientMsg,
  PartMsg,
  SliceMsg,
  WeightsDeltaMsg,
  WeightsMsg,
  WorkerMsg,
} from './protocol.js';

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

export const TENSOR_FRAME_MAGIC = 0xc1;
/** Bytes before the elements of a tensor frame. */
export const TENSOR_PREFIX_BYTES = 8;
/** Most bytes the msgpack header of a tensor frame may take. */
export const MAX_TENSOR_HEADER_BYTES = 4096;

export type TensorArray = Float32Array | Uint32Array;

const FIELD_NAME = /^[a-zA-Z][a-zA-Z0-9]{0,63}$/;

function isTensor(v: unknown): v is TensorArray {
  return v instanceof Float32Array || v instanceof Uint32Array;
}

/** Bytes a tensor frame of n elements needs at most (the header is bounded). */
export function tensorFrameCapacity(n: number): number {
  return TENSOR_PREFIX_BYTES + 4 * n + MAX_TENSOR_HEADER_BYTES;
}

function checkFrameBuffer(buffer: Uint8Array, n: number): void {
  if (buffer.byteOffset % 4 !== 0 || buffer.byteLength < tensorFrameCapacity(n)) {
    throw new Error(
      `frame buffer of ${buffer.byteLength} bytes at offset ${buffer.byteOffset} cannot hold ${n} elements`,
    );
  }
}

/** The float elements of a tensor frame being built in `buffer` (4-byte aligned): fill them, then finishTensorFrame. */
export function floatPayload(buffer: Uint8Array, n: number): Float32Array {
  checkFrameBuffer(buffer, n);
  return new Float32Array(buffer.buffer, buffer.byteOffset + TENSOR_PREFIX_BYTES, n);
}

/** The messages that travel as tensor frames, and which field is their tensor. */
export type TensorMsg = WeightsMsg | GradientMsg | AssignMsg | EvaluateMsg | PartMsg | SliceMsg;
const TENSOR_FIELDS = {
  weights: 'data',
  gradient: 'grad',
  assign: 'indices',
  evaluate: 'indices',
  part: 'grad',
  slice: 'grad',
} as const;
type TensorField<M extends TensorMsg> = (typeof TENSOR_FIELDS)[M['kind']];
/** A tensor message without its tensor: what goes in the frame's msgpack header. */
export type TensorHeader<M extends TensorMsg> = M extends TensorMsg ? Omit<M, TensorField<M>> : never;

/**
 * Complete a tensor frame whose n elements are already in place in `buffer` (see floatPayload): write the
 * prefix and the msgpack header of `fields` (the message without its tensor). Returns the frame, a
 * prefix of `buffer`.
 */
export function finishTensorFrame(buffer: Uint8Array, fields: TensorHeader<TensorMsg>, n: number): Uint8Array {
  const field = TENSOR_FIELDS[fields.kind];
  return writeTensorFrame(buffer, field, field === 'indices' ? 'uint32' : 'float32', n, fields);
}

const DTYPE_CODE = { float32: 1, uint32: 2, uint16: 3, int8blocks: 4 } as const;
type Dtype = keyof typeof DTYPE_CODE;

/** Payload bytes of n elements of a dtype. */
function payloadBytes(dtype: Dtype, n: number): number {
  return dtype === 'uint16' ? 2 * n : dtype === 'int8blocks' ? 4 * Math.ceil(n / GRAD_BLOCK) + n : 4 * n;
}

/** The prefix and the msgpack header (`fields` plus "$tensor": `field`) around n elements already in `buffer`. */
function writeTensorFrame(buffer: Uint8Array, field: string, dtype: Dtype, n: number, fields: object): Uint8Array {
  const header = packr.pack({ ...fields, $tensor: field });
  const start = TENSOR_PREFIX_BYTES + payloadBytes(dtype, n);
  if (header.length > MAX_TENSOR_HEADER_BYTES || start + header.length > buffer.byteLength) {
    throw new Error(`tensor frame header of ${header.length} bytes does not fit`);
  }
  buffer[0] = TENSOR_FRAME_MAGIC;
  buffer[1] = DTYPE_CODE[dtype];
  buffer[2] = 0;
  buffer[3] = 0;
  new DataView(buffer.buffer, buffer.byteOffset, TENSOR_PREFIX_BYTES).setUint32(4, n, true);
  buffer.set(header, start);
  return buffer.subarray(0, start + header.length);
}

/**
 * Encode a protocol message. A tensor message becomes a tensor frame (into `into` when given: a reusable
 * buffer of at least tensorFrameCapacity(n) bytes, 4-byte aligned); any other, plain msgpack.
 */
export function encode(msg: CoordinatorMsg | WorkerMsg, into?: Uint8Array): Uint8Array {
  if (msg.kind === 'weightsDelta') return encodeWeightsDelta(msg, into);
  if (!(msg.kind in TENSOR_FIELDS)) return packr.pack(msg);
  const m = msg as TensorMsg;
  const field = TENSOR_FIELDS[m.kind];
  const t = (m as unknown as Record<string, TensorArray>)[field]!;
  const buffer = into ?? new Uint8Array(tensorFrameCapacity(t.length));
  checkFrameBuffer(buffer, t.length);
  buffer.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), TENSOR_PREFIX_BYTES);
  const { [field]: _tensor, ...fields } = m as unknown as Record<string, unknown>;
  return finishTensorFrame(buffer, fields as TensorHeader<TensorMsg>, t.length);
}

/** Bytes a bf16/fp16 or int8-block tensor frame of n values needs at most. */
export function compressedFrameCapacity(wire: 'bf16' | 'fp16' | 'int8', n: number): number {
  return TENSOR_PREFIX_BYTES + payloadBytes(wire === 'int8' ? 'int8blocks' : 'uint16', n) + MAX_TENSOR_HEADER_BYTES;
}

/** A frame of compressed values (uint16, or int8 blocks: scales, then values) in `field`, "wire" in its header. */
function compressedFrame(
  field: string,
  fields: object,
  g: Omit<WireGradient, 'wire'> & { wire: 'bf16' | 'fp16' | 'int8' },
  into?: Uint8Array,
): Uint8Array {
  const n = g.data.length;
  const dtype: Dtype = g.wire === 'int8' ? 'int8blocks' : 'uint16';
  const buffer = into ?? new Uint8Array(compressedFrameCapacity(g.wire, n));
  if (buffer.byteLength < compressedFrameCapacity(g.wire, n))
    throw new Error(`frame buffer of ${buffer.byteLength} bytes cannot hold ${n} ${g.wire} values`);
  if (g.wire === 'int8') {
    const scales = g.scales!;
    buffer.set(new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength), TENSOR_PREFIX_BYTES);
    buffer.set(new Uint8Array(g.data.buffer, g.data.byteOffset, n), TENSOR_PREFIX_BYTES + scales.byteLength);
  } else {
    buffer.set(new Uint8Array(g.data.buffer, g.data.byteOffset, 2 * n), TENSOR_PREFIX_BYTES);
  }
  return writeTensorFrame(buffer, field, dtype, n, { ...fields, wire: g.wire });
}

/**
 * A gradient in its wire format (see compress.ts): float32 as encode() does; bf16/fp16 as uint16 elements;
 * int8 as blocks (scales, then values). The header says which ("wire").
 */
export function encodeGradient(
  fields: Omit<GradientMsg, 'grad'> | Omit<PartMsg, 'grad'> | Omit<SliceMsg, 'grad'>,
  g: WireGradient,
): Uint8Array {
  if (g.wire === 'fp32') return encode({ ...fields, grad: g.data as Float32Array } as GradientMsg | PartMsg | SliceMsg);
  return compressedFrame('grad', fields, { ...g, wire: g.wire });
}

/** A weight delta (weight-delta.ts) as a compressed tensor frame, into `into` when given (compressedFrameCapacity). */
function encodeWeightsDelta(msg: WeightsDeltaMsg, into?: Uint8Array): Uint8Array {
  const { data, scales, ...fields } = msg;
  return compressedFrame('data', fields, { wire: msg.wire, data, ...(scales ? { scales } : {}) }, into);
}

/**
 * Encode anything as the codec would, without the protocol's types: only for tests and fuzzers that
 * must send what no correct peer sends.
 */
export function encodeUnchecked(value: object): Uint8Array {
  const tensors = Object.entries(value).filter(([, v]) => isTensor(v));
  if (tensors.length !== 1) return packr.pack(value);
  const [field, t] = tensors[0] as [string, TensorArray];
  const buffer = new Uint8Array(tensorFrameCapacity(t.length));
  buffer.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), TENSOR_PREFIX_BYTES);
  const fields = Object.fromEntries(Object.entries(value).filter(([k]) => k !== field));
  return writeTensorFrame(buffer, field, t instanceof Float32Array ? 'float32' : 'uint32', t.length, fields);
}

function unpack(bytes: Uint8Array, what: string): unknown {
  try {
    return packr.unpack(bytes);
  } catch (cause) {
    throw new TrainerError('ERR_BAD_FRAME', `${what} is not valid msgpack: ${(cause as Error).message}`, { cause });
  }
}

function decodeTensorFrame(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length < TENSOR_PREFIX_BYTES)
    throw new TrainerError('ERR_BAD_FRAME', `tensor frame of ${bytes.length} bytes has no prefix`);
  const code = bytes[1];
  const dtype = (Object.keys(DTYPE_CODE) as Dtype[]).find((d) => DTYPE_CODE[d] === code);
  if (!dtype || bytes[2] !== 0 || bytes[3] !== 0) {
    throw new TrainerError(
      'ERR_BAD_FRAME',
      `tensor frame has an unknown dtype or flags (${code}, ${bytes[2]}, ${bytes[3]})`,
    );
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, TENSOR_PREFIX_BYTES).getUint32(4, true);
  const end = TENSOR_PREFIX_BYTES + payloadBytes(dtype, n);
  if (end >= bytes.length) {
    throw new TrainerError(
      'ERR_SHAPE_MISMATCH',
      `tensor frame declares ${n} elements but carries ${bytes.length - TENSOR_PREFIX_BYTES} bytes after its prefix, header included`,
    );
  }
  const raw = unpack(bytes.subarray(end), 'tensor frame header');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || ArrayBuffer.isView(raw)) {
    throw new TrainerError('ERR_BAD_FRAME', 'tensor frame header is not a map');
  }
  const o = raw as Record<string, unknown>;
  const field = o['$tensor'];
  if (typeof field !== 'string' || !FIELD_NAME.test(field) || field in o) {
    throw new TrainerError('ERR_BAD_FRAME', 'tensor frame header names no valid tensor field');
  }
  delete o['$tensor'];
  if ('$scales' in o) throw new TrainerError('ERR_BAD_FRAME', 'tensor frame header uses the reserved key "$scales"');
  // The elements are read in place where they are aligned (a receive buffer starts a frame at a fresh buffer's
  // start), else from an aligned copy; not bytes.slice: on a Node Buffer that is a view, not a copy.
  const at = bytes.byteOffset + TENSOR_PREFIX_BYTES;
  const aligned = at % 4 === 0;
  const payload = (): [ArrayBuffer, number] => {
    if (aligned) return [bytes.buffer as ArrayBuffer, at];
    const c = new Uint8Array(end - TENSOR_PREFIX_BYTES);
    c.set(bytes.subarray(TENSOR_PREFIX_BYTES, end));
    return [c.buffer, 0];
  };
  const [buffer, offset] = payload();
  if (dtype === 'int8blocks') {
    const blocks = Math.ceil(n / GRAD_BLOCK);
    o['$scales'] = new Float32Array(buffer, offset, blocks);
    o[field] = new Int8Array(buffer, offset + 4 * blocks, n);
    return o;
  }
  if (dtype === 'uint16') o[field] = new Uint16Array(buffer, offset, n);
  else o[field] = new (dtype === 'float32' ? Float32Array : Uint32Array)(buffer, offset, n);
  return o;
}
/**
 * Decode one frame; size must already be bounded by the caller (ws maxPayload). A tensor comes back as
 * a view of `bytes` where it is aligned, so `bytes` must not be reused while the message is in use.
 */
export function decode(bytes: Uint8Array, maxBytes: number): unknown {
  if (bytes.length > maxBytes) {
    throw new TrainerError('ERR_FRAME_TOO_LARGE', `frame of ${bytes.length} bytes exceeds the limit of ${maxBytes}`);
  }
  if (bytes.length > 0 && bytes[0] === TENSOR_FRAME_MAGIC) return decodeTensorFrame(bytes);
  return unpack(bytes, 'frame');
}
