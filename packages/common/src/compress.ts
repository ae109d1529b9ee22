// Gradients on the wire in fewer bits (--grad-wire): bf16 and fp16 (2 bytes per value, round to nearest
// even) and int8 (1 byte per value, one float32 scale per block of GRAD_BLOCK values: scale = max|v|/127).
// The worker keeps what rounding lost and adds it to its next gradient (error feedback, as in 1-bit SGD
// and Dettmers 2015), so nothing is lost for good, only delayed. A checkpointed step's gradient goes whole
// with the residual drained into it (drain), so every residual is zero at a checkpoint.

import type { DeltaKernel } from './weight-delta.js';

export type GradWire = 'fp32' | 'bf16' | 'fp16' | 'int8';
export const GRAD_WIRES: readonly GradWire[] = ['fp32', 'bf16', 'fp16', 'int8'];
/** Values per int8 scale. */
export const GRAD_BLOCK = 4096;

export type WireArray = Float32Array | Uint16Array | Int8Array;
export interface WireGradient {
  wire: GradWire;
  data: WireArray;
  scales?: Float32Array;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> bfloat16 bits, round to nearest even (NaN stays NaN). */
export function toBf16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return (x >>> 16) | 0x40;
  return bf16OfBits(x);
}

/** toBf16 of the float32 (not a NaN) whose bits are `x`. */
export function bf16OfBits(x: number): number {
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

/** float32 -> IEEE half bits, round to nearest even, overflow to infinity, subnormals kept. */
export function toFp16(v: number): number {
  f32[0] = v;
  return fp16OfBits(u32[0]!);
}

/** toFp16 of the float32 whose bits are `x`. */
function fp16OfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && out & 1)) out++;
    return sign | out;
  }
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && out & 1)) out++;
  return sign | out;
}

let fp16Table: Float32Array | null = null;
/** The float32 value of every half (256 KB, built on first use): decoding is one lookup per value. */
function fp16Values(): Float32Array {
  return (fp16Table ??= Float32Array.from({ length: 65536 }, (_, h) => fromFp16(h)));
}

export function fromFp16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 values of a wire gradient, into `out`. */
export function decompress(g: WireGradient, out: Float32Array): Float32Array {
  const d = g.data;
  if (g.wire === 'fp32') out.set(d as Float32Array);
  else if (g.wire === 'int8') {
    for (let b = 0, lo = 0; lo < d.length; b++, lo += GRAD_BLOCK) {
      const scale = g.scales![b]!;
      for (let i = lo, hi = Math.min(d.length, lo + GRAD_BLOCK); i < hi; i++) out[i] = (d[i] as number) * scale;
    }
  } else if (g.wire === 'bf16') {
    const bits = new Uint32Array(out.buffer, out.byteOffset, d.length);
    for (let i = 0; i < d.length; i++) bits[i] = (d[i] as number) << 16;
  } else {
    const values = fp16Values();
    for (let i = 0; i < d.length; i++) out[i] = values[d[i] as number]!;
  }
  return out;
}

/** x rounded to the nearest integer, ties to even (as wasm's f32x4.nearest). */
function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A float32 value's int8 code: fround(v * inv) rounded half to even, clamped to +-127 (inv = fround(1/scale)).
 * A subnormal scale makes inv infinite, and 0 * inv NaN: its code is 0, as an Int8Array stores NaN and as
 * wasm's saturating conversion gives it (so the residual v - q * scale stays v, not NaN).
 */
export function quantizeInt8(v: number, inv: number): number {
  const r = roundHalfEven(Math.fround(v * inv));
  return r > 127 ? 127 : r < -127 ? -127 : r === r ? r : 0;
}

/**
 * int8 blocks with error feedback, in JavaScript: v = grad + residual (float32, kept in `residual`), scale =
 * max |v| / 127 per block, q = fround(v * fround(1/scale)) rounded half to even and clamped, residual = v -
 * fround(q * scale); a block whose scale is 0 or not finite sends zeros and keeps v.
 */
export function compressInt8(grad: Float32Array, e: Float32Array, out = int8Room(grad.length)): Int8Codes {
  const n = grad.length;
  const { data, scales } = out;
  for (let b = 0, lo = 0; lo < n; b++, lo += GRAD_BLOCK) {
    const hi = Math.min(n, lo + GRAD_BLOCK);
    let max = 0;
    for (let i = lo; i < hi; i++) {
      e[i] = grad[i]! + e[i]!;
      const v = e[i]!; // the float32 sum (not the float64 one the assignment yields)
      const a = v < 0 ? -v : v;
      if (a > max) max = a;
      else if (a !== a) max = Number.NaN; // a NaN makes the scale NaN, as the boundary then refuses
    }
    const scale = Math.fround(max / 127);
    scales[b] = scale;
    if (!(scale > 0) || !Number.isFinite(scale)) {
      data.fill(0, lo, hi); // values 0, the residual keeps v
      continue;
    }
    const inv = Math.fround(1 / scale);
    for (let i = lo; i < hi; i++) {
      const v = e[i]!;
      const q = quantizeInt8(v, inv);
      data[i] = q;
      e[i] = v - Math.fround(q * scale);
    }
  }
  return out;
}

/** int8 codes and their scales (one per GRAD_BLOCK values). */
export interface Int8Codes {
  data: Int8Array;
  scales: Float32Array;
}

/** Room for the int8 codes of n values. */
export function int8Room(n: number): Int8Codes {
  return { data: new Int8Array(n), scales: new Float32Array(Math.ceil(n / GRAD_BLOCK)) };
}

/**
 * One worker's compression with error feedback: v = gradient + residual is rounded to the wire format and
 * what rounding lost (v - sent, in float32) is the next residual. One pass per value (two for int8: the
 * block's max first). The wire arrays returned are the compressor's own, written again by its next compress:
 * a caller encodes them into a frame first (every one does, at once), so nothing is allocated per gradient.
 */
export class GradientCompressor {
  private residual = new Float32Array(0);
  private int8Out: Int8Codes | null = null;
  private halves = new Uint16Array(0);

  /** @param kernel int8's arithmetic: JavaScript (compressInt8) or the SIMD kernels, the same bits */
  constructor(
    readonly wire: GradWire,
    private readonly kernel: Pick<DeltaKernel, 'compressInt8'> = { compressInt8 },
  ) {}

  compress(grad: Float32Array): WireGradient {
    if (this.wire === 'fp32') return { wire: 'fp32', data: grad };
    if (this.residual.length !== grad.length) this.residual = new Float32Array(grad.length);
    return this.wire === 'int8' ? this.int8(grad) : this.half(grad, this.wire);
  }

  private int8(grad: Float32Array): WireGradient {
    if (this.int8Out?.data.length !== grad.length) this.int8Out = int8Room(grad.length);
    return { wire: 'int8', ...this.kernel.compressInt8(grad, this.residual, this.int8Out) };
  }

  private half(grad: Float32Array, wire: 'bf16' | 'fp16'): WireGradient {
    const n = grad.length;
    const e = this.residual;
    if (this.halves.length !== n) this.halves = new Uint16Array(n);
    const data = this.halves;
    if (wire === 'bf16') {
      for (let i = 0; i < n; i++) {
        const v = Math.fround(grad[i]! + e[i]!);
        const h = toBf16(v);
        data[i] = h;
        e[i] = v - fromBf16(h);
      }
    } else {
      const bits = new Uint32Array(e.buffer, e.byteOffset, n); // v is written into e, read as bits, then e = v - sent
      const values = fp16Values();
      for (let i = 0; i < n; i++) {
        e[i] = grad[i]! + e[i]!;
        const h = fp16OfBits(bits[i]!);
        data[i] = h;
        e[i] = e[i]! - values[h]!;
      }
    }
    return { wire, data };
  }

  /** What goes on the wire: the gradient compressed, or whole with the residual drained into it at a flush. */
  toWire(grad: Float32Array, flush: boolean): WireGradient {
    return flush ? { wire: 'fp32', data: this.drain(grad) } : this.compress(grad);
  }

  /**
   * The gradient to send uncompressed at a flush (a checkpointed step): the residual added into `grad` in
   * place, then zeroed, so a resume from that checkpoint (residuals zero) continues with the same bits.
   */
  drain(grad: Float32Array): Float32Array {
    if (this.residual.length !== grad.length) return grad;
    const e = this.residual;
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! + e[i]!;
    e.fill(0);
    return grad;
  }

  /** Forget the residual (a new run, or a gradient that was never applied). */
  reset(): void {
    this.residual = new Float32Array(0);
  }
}
