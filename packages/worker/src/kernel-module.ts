// Which build of dtrain's wasm kernels to run. Two are built from packages/worker/assembly (asconfig.json):
// `simd` (dist/kernels.wasm: SIMD128, a multiply then an add) and `fma` (dist/kernels-fma.wasm: the same
// kernels with f32x4.relaxed_madd, which V8 compiles to one fused multiply-add where the CPU has FMA).
// Relaxed SIMD is on by default from Node 22; Node 20 has it behind --experimental-wasm-relaxed-simd, which
// is switched on here before the module is compiled. Where it still does not validate, `simd` is used.
// FMA rounds once where SIMD rounds twice, so the two builds differ in the last bits: a run is
// bit-reproducible on one machine with one build (`--backend wasm-simd` pins the baseline build).

import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { TrainerError } from '@dtrain/common';

export type KernelBuild = 'fma' | 'simd';

export const KERNEL_FILES: Record<KernelBuild, URL> = {
  simd: new URL('../kernels.wasm', import.meta.url),
  fma: new URL('../kernels-fma.wasm', import.meta.url),
};

/** The module's bytes; a missing file is an install problem with a hint. */
export function kernelBytes(build: KernelBuild): Buffer {
  try {
    return readFileSync(KERNEL_FILES[build]);
  } catch (e) {
    throw new TrainerError('ERR_BACKEND', `dtrain's wasm kernels are missing (${(e as Error).message})`, {
      hint: 'build them: npm run build',
    });
  }
}

let fmaRuns: boolean | null = null;

/** Whether this engine compiles the FMA build (enabling V8's relaxed-SIMD flag first where it is off). */
export function fmaSupported(): boolean {
  if (fmaRuns !== null) return fmaRuns;
  const bytes = kernelBytes('fma');
  if (!WebAssembly.validate(bytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
  const runs = WebAssembly.validate(bytes);
  fmaRuns = runs;
  return runs;
}

/** The build to run: `simd` when asked for, else `fma` where the engine supports it. */
export function chooseKernelBuild(want: 'auto' | 'simd'): KernelBuild {
  return want === 'auto' && fmaSupported() ? 'fma' : 'simd';
}

/** The kernel module's exports: pointers into the memory it shares, and sizes. */
export interface KernelExports {
  maxPoolGrad(
    x: number,
    dy: number,
    dx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    padT: number,
    padL: number,
  ): void;
  padCopy(
    x: number,
    out: number,
    n: number,
    h: number,
    w: number,
    c: number,
    padT: number,
    padB: number,
    padL: number,
    padR: number,
  ): void;
  conv2dFilterGrad(
    xp: number,
    dy: number,
    dw: number,
    n: number,
    hp: number,
    wp: number,
    c: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
  ): void;
  cropCopy(
    xp: number,
    out: number,
    n: number,
    h: number,
    w: number,
    c: number,
    hp: number,
    wp: number,
    padT: number,
    padL: number,
  ): void;
  conv2dInputGrad(
    dy: number,
    w: number,
    wt: number,
    dxp: number,
    n: number,
    hp: number,
    wp: number,
    c: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
  ): void;
  sumRows(dy: number, out: number, m: number, c: number): void;
  /** assembly/quantize.ts: int8 weight deltas. */
  weightDeltaInt8(w: number, view: number, n: number, q: number, scales: number, scratch: number): number;
  applyDeltaInt8(view: number, q: number, scales: number, n: number): void;
  compressGradInt8(grad: number, resid: number, n: number, q: number, scales: number): void;
  expandInt8(q: number, scales: number, n: number, out: number): void;
  batchNormTrain(
    x: number,
    gamma: number,
    beta: number,
    y: number,
    xhat: number,
    mean: number,
    variance: number,
    invStd: number,
    m: number,
    c: number,
    eps: number,
    acc: number,
  ): void;
  batchNormGrad(
    dy: number,
    xhat: number,
    invStd: number,
    gamma: number,
    dx: number,
    dGamma: number,
    dBeta: number,
    m: number,
    c: number,
    acc: number,
  ): void;
  reluGrad(dy: number, x: number, dx: number, size: number): void;
  conv2dForward(
    xp: number,
    w: number,
    bias: number,
    y: number,
    n: number,
    hp: number,
    wp: number,
    c: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    relu: number,
  ): void;
}

/** Instantiate a build of the kernel module over a memory (the wasm backend's, or any for tests). */
export function instantiateKernels(memory: WebAssembly.Memory, build: KernelBuild): KernelExports {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(kernelBytes(build)), { env: { memory } });
  return instance.exports as unknown as KernelExports;
}
