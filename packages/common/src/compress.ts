// Gradients on the wire in fewer bits (--grad-wire): bf16 and fp16 (2 bytes per value, round to nearest
// even) and int8 (1 byte per value, one float32 scale per block of GRAD_BLOCK values: scale = max|v|/127).
// The worker keeps what rounding lost and adds it to its next gradient (error feedback, as in 1-bit SGD
// and Dettmers 2015), so nothing is lost for good, only delayed. Weights always travel as float32.

export type GradWire = 'fp32' | 'bf16' | 'fp16' | 'int8';
export const GRAD_WIRES: readonly GradWire[] = ['fp32', 'bf16', 'fp16', 'int8'];
/** Values per int8 scale. */
export const GRAD_BLOCK = 4096;

export type WireArray = Float32Array | Uint16Array | Int8Array;
export interface WireGradient { wire: GradWire; data: WireArray; scales?: Float32Array }

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> bfloat16 bits, round to nearest even (NaN stays NaN). */
export function toBf16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

/** float32 -> IEEE half bits, round to nearest even, overflow to infinity, subnormals kept. */
export function toFp16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
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

export function fromFp16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Bytes per value on the wire. */
export const wireBytes = (w: GradWire): number => (w === 'fp32' ? 4 : w === 'int8' ? 1 : 2);

/** Quantize `v` (no error feedback), writing what it becomes back into `v`. */
function quantize(v: Float32Array, wire: Exclude<GradWire, 'fp32'>): WireGradient {
  const n = v.length;
  if (wire === 'int8') {
    const data = new Int8Array(n);
    const scales = new Float32Array(Math.ceil(n / GRAD_BLOCK));
    for (let b = 0; b < scales.length; b++) {
      const lo = b * GRAD_BLOCK;
      const hi = Math.min(n, lo + GRAD_BLOCK);
      let max = 0;
      for (let i = lo; i < hi; i++) max = Math.max(max, Math.abs(v[i]!));
      const scale = Math.fround(max / 127);
      scales[b] = scale;
      for (let i = lo; i < hi; i++) {
        const q = scale > 0 ? Math.max(-127, Math.min(127, Math.round(v[i]! / scale))) : 0;
        data[i] = q;
        v[i] = q * scale;
      }
    }
    return { wire, data, scales };
  }
  const data = new Uint16Array(n);
  const [to, from] = wire === 'bf16' ? [toBf16, fromBf16] : [toFp16, fromFp16];
  for (let i = 0; i < n; i++) {
    data[i] = to(v[i]!);
    v[i] = from(data[i]!);
  }
  return { wire, data };
}

/** float32 values of a wire gradient, into `out`. */
export function decompress(g: WireGradient, out: Float32Array): Float32Array {
  const d = g.data;
  if (g.wire === 'fp32') out.set(d as Float32Array);
  else if (g.wire === 'int8') for (let i = 0; i < d.length; i++) out[i] = (d[i] as number) * g.scales![Math.floor(i / GRAD_BLOCK)]!;
  else {
    const from = g.wire === 'bf16' ? fromBf16 : fromFp16;
    for (let i = 0; i < d.length; i++) out[i] = from(d[i] as number);
  }
  return out;
}

/** One worker's compression with error feedback: the residual of each gradient joins the next one. */
export class GradientCompressor {
  private residual: Float32Array | null = null;

  constructor(readonly wire: GradWire) {}

  compress(grad: Float32Array): WireGradient {
    if (this.wire === 'fp32') return { wire: 'fp32', data: grad };
    if (this.residual?.length !== grad.length) this.residual = new Float32Array(grad.length);
    const e = this.residual;
    const v = new Float32Array(grad.length);
    for (let i = 0; i < v.length; i++) v[i] = grad[i]! + e[i]!;
    const sent = Float32Array.from(v);
    const out = quantize(sent, this.wire); // sent now holds what the coordinator will see
    for (let i = 0; i < v.length; i++) e[i] = v[i]! - sent[i]!;
    return out;
  }

  /** Forget the residual (a new run, or a gradient that was never applied). */
  reset(): void {
    this.residual = null;
  }
}
