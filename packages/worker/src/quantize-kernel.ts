// dtrain's SIMD kernels for int8 weight deltas and gradients (assembly/quantize.ts) as a DeltaKernel
// (common's weight-delta.ts), for the coordinator, relays and workers alike: the arrays are copied into a memory of its
// own, worked on there and copied back. The same bits as the JavaScript kernel (a test compares them); null
// where the module cannot be loaded (the JavaScript kernel is used then).

import {
  type DeltaKernel,
  GRAD_BLOCK,
  GradientCompressor,
  HeldView,
  type Int8Codes,
  int8Room,
  jsDeltaKernel,
  type WeightDelta,
  type WelcomeMsg,
} from '@dtrain/common';
import { instantiateKernels, type KernelExports } from './kernel-module.js';

const PAGE = 65536;
const SCRATCH = 4 * GRAD_BLOCK;

class WasmDeltaKernel implements DeltaKernel {
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly k: KernelExports;
  /** encodeInt8's outputs, two sets used in turn (valid until the second encode after: DeltaKernel.encodeInt8). */
  private readonly encoded: Int8Codes[] = [];
  private turn = 0;

  constructor() {
    this.k = instantiateKernels(this.memory, 'simd');
  }

  /** Offsets of w, view, q, scales and the scratch block for n values, the memory grown to hold them. */
  private layout(n: number): { w: number; view: number; q: number; scales: number; scratch: number } {
    const w = 0;
    const view = 4 * n;
    const q = 8 * n;
    const scales = q + Math.ceil(n / 16) * 16;
    const scratch = scales + 4 * Math.ceil(n / GRAD_BLOCK) + 16;
    const need = Math.ceil((scratch + SCRATCH) / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > have) this.memory.grow(need - have);
    return { w, view, q, scales, scratch };
  }

  encodeInt8(w: Float32Array, view: Float32Array): WeightDelta | null {
    const n = w.length;
    const at = this.layout(n);
    const buf = this.memory.buffer;
    new Float32Array(buf, at.w, n).set(w);
    new Float32Array(buf, at.view, n).set(view);
    if (!this.k.weightDeltaInt8(at.w, at.view, n, at.q, at.scales, at.scratch)) return null;
    return { wire: 'int8', ...this.codesInto(this.output(n), n, at.q, at.scales) };
  }

  /** The next set of encode outputs for n values (reused: no fresh arrays per version). */
  private output(n: number): Int8Codes {
    this.turn ^= 1;
    const had = this.encoded[this.turn];
    if (had?.data.length === n) return had;
    const made = int8Room(n);
    this.encoded[this.turn] = made;
    return made;
  }

  /** The n codes at `q` and their scales at `scales` in the kernel's memory, copied into `out`. */
  private codesInto(out: Int8Codes, n: number, q: number, scales: number): Int8Codes {
    const buf = this.memory.buffer;
    out.data.set(new Int8Array(buf, q, n));
    out.scales.set(new Float32Array(buf, scales, out.scales.length));
    return out;
  }

  compressInt8(grad: Float32Array, residual: Float32Array, out = int8Room(grad.length)): Int8Codes {
    const n = grad.length;
    const at = this.layout(n); // grad where w goes, the residual where the view goes
    const buf = this.memory.buffer;
    new Float32Array(buf, at.w, n).set(grad);
    const e = new Float32Array(buf, at.view, n);
    e.set(residual);
    this.k.compressGradInt8(at.w, at.view, n, at.q, at.scales);
    residual.set(e);
    return this.codesInto(out, n, at.q, at.scales);
  }

  expandInt8(q: Int8Array, scales: Float32Array, out: Float32Array): void {
    const n = out.length;
    const at = this.layout(n); // the values where the view goes
    const buf = this.memory.buffer;
    new Int8Array(buf, at.q, n).set(q);
    new Float32Array(buf, at.scales, scales.length).set(scales);
    this.k.expandInt8(at.q, at.scales, n, at.view);
    out.set(new Float32Array(buf, at.view, n));
  }

  /** Encode, then apply to `view`, in one visit of the memory (the coordinator's step). */
  encodeApplyInt8(w: Float32Array, view: Float32Array): WeightDelta | null {
    const d = this.encodeInt8(w, view); // leaves w, view, q and scales in place
    if (!d) return null;
    const n = w.length;
    const at = this.layout(n);
    this.k.applyDeltaInt8(at.view, at.q, at.scales, n);
    view.set(new Float32Array(this.memory.buffer, at.view, n));
    return d;
  }

  applyInt8(view: Float32Array, q: Int8Array, scales: Float32Array): void {
    const n = view.length;
    const at = this.layout(n);
    const buf = this.memory.buffer;
    const v = new Float32Array(buf, at.view, n);
    v.set(view);
    new Int8Array(buf, at.q, n).set(q);
    new Float32Array(buf, at.scales, scales.length).set(scales);
    this.k.applyDeltaInt8(at.view, at.q, at.scales, n);
    view.set(v);
  }
}

let kernel: DeltaKernel | null | undefined;

/** The SIMD delta kernel (one per process), or null where it cannot be loaded. */
export function wasmDeltaKernel(): DeltaKernel | null {
  if (kernel !== undefined) return kernel;
  try {
    kernel = new WasmDeltaKernel();
  } catch {
    kernel = null;
  }
  return kernel;
}

/** The kernel to use: SIMD where it loads, else JavaScript (the same bits either way). */
export function deltaKernel(): DeltaKernel {
  return wasmDeltaKernel() ?? jsDeltaKernel;
}

/** A run's wires as a sender of gradients holds them: its compressor and, under a compressed weight wire, its view. */
export function runWires(w: Pick<WelcomeMsg, 'gradWire' | 'weightWire'>): {
  compressor: GradientCompressor;
  held: HeldView | null;
} {
  const kernel = deltaKernel();
  return {
    compressor: new GradientCompressor(w.gradWire ?? 'fp32', kernel),
    held: w.weightWire ? new HeldView(kernel) : null,
  };
}
