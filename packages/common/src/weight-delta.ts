// Weights on the wire in fewer bits (--weight-wire bf16|int8): EF21-P, "error feedback in the primal space"
// (Gruntkowska, Tyurin and Richtarik 2023; the preserved central model of Philippenko and Dieuleveut 2021).
// Every process holds the same `view` of the weights. After each update the coordinator sends
// Q(w - view), the quantized distance from that view to its weights w, and every process (the coordinator
// included) adds the decoded delta to its view with one function, applyDelta, so all views stay equal bit
// for bit. The quantization error is not lost: the next delta is taken from the new view to the next w, so
// workers compute at a point at most half a quantization step from w and the offset never accumulates.
// A flush sends the view as float32 (view := w): the first version, joiners and reconnects (those not at
// the delta's base), and every version that is evaluated or checkpointed, so evaluation, checkpoints and
// exports are w and a resume is bitwise. Every VIEW_DIGEST_EVERY versions a delta carries a digest of the
// view it yields, and a receiver whose view differs drops the connection (its next one starts from a flush).

import { createHash } from 'node:crypto';
import { bf16OfBits, compressInt8, decompress, GRAD_BLOCK, type Int8Codes, quantizeInt8 } from './compress.js';
import { TrainerError } from './errors.js';
import type { WeightsDeltaMsg, WeightsMsg } from './protocol.js';

export type WeightWire = 'fp32' | 'bf16' | 'int8';
export const WEIGHT_WIRES: readonly WeightWire[] = ['fp32', 'bf16', 'int8'];
/** A delta's digest rides along when its version is a multiple of this. */
export const VIEW_DIGEST_EVERY = 100;

export interface WeightDelta {
  wire: 'bf16' | 'int8';
  data: Uint16Array | Int8Array;
  /** int8: one float32 scale per GRAD_BLOCK values (max |delta| / 127). */
  scales?: Float32Array;
}

/**
 * What encodes and applies int8 weight deltas: the JavaScript here (jsDeltaKernel), or dtrain's SIMD kernels
 * (the worker package's, where they load), which give the same bits (a test compares them).
 */
export interface DeltaKernel {
  /**
   * Q(w - view) as int8 blocks; null when a difference is not finite. The arrays may be the kernel's own,
   * valid until its second encode after this one (the coordinator encodes once per version and keeps only the
   * latest publication): a caller that keeps a delta longer copies it.
   */
  encodeInt8(w: Float32Array, view: Float32Array): WeightDelta | null;
  /** view += q * scale, each product and sum rounded to float32. */
  applyInt8(view: Float32Array, q: Int8Array, scales: Float32Array): void;
  /** A gradient as int8 blocks with error feedback (compress.ts compressInt8) into `out` (or fresh arrays); `residual` is updated. */
  compressInt8(grad: Float32Array, residual: Float32Array, out?: Int8Codes): Int8Codes;
  /** out = q * scale (compress.ts decompress's bits). */
  expandInt8(q: Int8Array, scales: Float32Array, out: Float32Array): void;
  /** encodeInt8 (its arrays valid as long), then applyInt8 of the result to `view` (one visit where the kernel can). */
  encodeApplyInt8(w: Float32Array, view: Float32Array): WeightDelta | null;
}

/** Q(w - view) in `wire`; null when a value is not finite (the caller flushes: the run is diverging). */
export function encodeDelta(
  w: Float32Array,
  view: Float32Array,
  wire: 'bf16' | 'int8',
  kernel: DeltaKernel = jsDeltaKernel,
): WeightDelta | null {
  return wire === 'int8' ? kernel.encodeInt8(w, view) : bf16Delta(w, view);
}

function bf16Delta(w: Float32Array, view: Float32Array): WeightDelta | null {
  const n = w.length;
  const data = new Uint16Array(n);
  const d = new Float32Array(Math.min(n, GRAD_BLOCK)); // one block of w - view, rounded to float32
  const bits = new Uint32Array(d.buffer);
  for (let lo = 0; lo < n; lo += GRAD_BLOCK) {
    const len = Math.min(n, lo + GRAD_BLOCK) - lo;
    for (let i = 0; i < len; i++) d[i] = w[lo + i]! - view[lo + i]!;
    for (let i = 0; i < len; i++) {
      const x = bits[i]!;
      if ((x & 0x7f800000) === 0x7f800000) return null; // not finite
      data[lo + i] = bf16OfBits(x);
    }
  }
  return { wire: 'bf16', data };
}

/** The JavaScript int8 encode: float32 differences, scale max/127, each times fround(1/scale) rounded half to even. */
function int8Delta(w: Float32Array, view: Float32Array): WeightDelta | null {
  const n = w.length;
  const data = new Int8Array(n);
  const scales = new Float32Array(Math.ceil(n / GRAD_BLOCK));
  const d = new Float32Array(Math.min(n, GRAD_BLOCK)); // one block of w - view, rounded to float32
  for (let b = 0, lo = 0; lo < n; b++, lo += GRAD_BLOCK) {
    const len = Math.min(n, lo + GRAD_BLOCK) - lo;
    let max = 0;
    for (let i = 0; i < len; i++) {
      d[i] = w[lo + i]! - view[lo + i]!;
      const v = d[i]!; // the float32 difference (not the float64 one the assignment yields)
      const a = v < 0 ? -v : v;
      if (a > max) max = a;
      else if (a !== a) return null; // NaN
    }
    const scale = Math.fround(max / 127);
    if (!Number.isFinite(scale)) return null;
    scales[b] = scale;
    if (scale === 0) continue;
    const inv = Math.fround(1 / scale);
    for (let i = 0; i < len; i++) data[lo + i] = quantizeInt8(d[i]!, inv);
  }
  return { wire: 'int8', data, scales };
}

function applyInt8(view: Float32Array, q: Int8Array, scales: Float32Array): void {
  for (let b = 0, lo = 0; lo < view.length; b++, lo += GRAD_BLOCK) {
    const scale = scales[b]!;
    if (scale === 0) continue;
    for (let i = lo, hi = Math.min(view.length, lo + GRAD_BLOCK); i < hi; i++) {
      view[i] = Math.fround(view[i]! + Math.fround(q[i]! * scale));
    }
  }
}

export const jsDeltaKernel: DeltaKernel = {
  encodeInt8: int8Delta,
  applyInt8,
  compressInt8,
  expandInt8: (q, scales, out) => void decompress({ wire: 'int8', data: q, scales }, out),
  encodeApplyInt8: (w, view) => {
    const d = int8Delta(w, view);
    if (d) applyInt8(view, d.data as Int8Array, d.scales!);
    return d;
  },
};

/**
 * view += decode(delta): the one definition every process runs, so every view is the same bits: each result
 * rounded to float32 in a fixed order (no fused multiply-add, no relaxed SIMD): int8 adds fround(q * scale)
 * (the kernel's: JavaScript or SIMD, the same bits), bf16 adds the bf16 value (a float32 whose low 16 bits
 * are zero); a float64 sum of float32 values rounded to float32 is the float32 sum (53 >= 2 * 24 + 2).
 */
export function applyDelta(view: Float32Array, d: WeightDelta, kernel: DeltaKernel = jsDeltaKernel): void {
  if (d.data.length !== view.length) {
    throw new TrainerError(
      'ERR_SHAPE_MISMATCH',
      `a weight delta of ${d.data.length} values for ${view.length} weights`,
    );
  }
  if (d.wire === 'int8') return kernel.applyInt8(view, d.data as Int8Array, d.scales!);
  const h = d.data as Uint16Array;
  const f = new Float32Array(Math.min(view.length, GRAD_BLOCK)); // one block of decoded values
  const bits = new Uint32Array(f.buffer);
  for (let lo = 0; lo < view.length; lo += GRAD_BLOCK) {
    const len = Math.min(view.length, lo + GRAD_BLOCK) - lo;
    for (let i = 0; i < len; i++) bits[i] = h[lo + i]! << 16;
    for (let i = 0; i < len; i++) view[lo + i] = view[lo + i]! + f[i]!;
  }
}

/** First 32 hex digits of the SHA-256 of the view's bytes. */
export function viewDigest(view: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
    .digest('hex')
    .slice(0, 32);
}

/** The versioned view a receiver (worker or relay) holds: set by a float32 frame, moved by deltas. */
export class HeldView {
  private values: Float32Array | null = null;
  version = -1;

  constructor(private readonly kernel: DeltaKernel = jsDeltaKernel) {}

  /** A float32 frame: the view is a copy of it (the frame's buffer is not ours to keep). */
  full(version: number, data: Float32Array): Float32Array {
    this.values = Float32Array.from(data);
    this.version = version;
    return this.values;
  }

  /** A delta from `base` to `version`: applied to the view, checked against `digest` when it carries one. */
  delta(version: number, base: number, d: WeightDelta, digest?: string): Float32Array {
    if (!this.values || base !== this.version) {
      throw new TrainerError(
        'ERR_VIEW_MISMATCH',
        `a weight delta from version ${base} arrived, but this process holds ${this.values ? `version ${this.version}` : 'no weights'}`,
      );
    }
    applyDelta(this.values, d, this.kernel);
    this.version = version;
    if (digest !== undefined && viewDigest(this.values) !== digest) {
      this.values = null;
      throw new TrainerError(
        'ERR_VIEW_MISMATCH',
        `the weights after the delta to version ${version} differ from the coordinator's (digest ${digest}); reconnecting for a float32 copy`,
      );
    }
    return this.values;
  }
}

/**
 * The weights a receiver computes with after a weights frame: the frame's own values under an fp32 weight
 * wire (`held` null), else its view set whole or moved by the delta.
 */
export function receiveWeights(held: HeldView | null, msg: WeightsMsg | WeightsDeltaMsg): Float32Array {
  if (msg.kind === 'weights' && msg.slice !== undefined)
    throw new TrainerError('ERR_UNEXPECTED_MESSAGE', 'a slice of the weights arrived: slices go to host servers');
  if (msg.kind === 'weights') return held ? held.full(msg.version, msg.data) : msg.data;
  if (!held) {
    throw new TrainerError('ERR_UNEXPECTED_MESSAGE', 'a weight delta arrived, but this run sends its weights as fp32');
  }
  return held.delta(msg.version, msg.base, msg, msg.digest);
}
