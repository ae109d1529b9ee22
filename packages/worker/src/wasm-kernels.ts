// dtrain's SIMD kernels (packages/worker/assembly/kernels.ts, built twice: see kernel-module.ts) registered on
// tfjs' wasm backend. The module imports the backend's own WebAssembly.Memory, so kernels read and
// write tensors in place, with no copies:
//  - Conv2DBackpropFilter: wasm has none; a register-blocked GEMM with implicit im2col.
//  - Conv2DBackpropInput: replaces the stock one (slow) with the same micro-kernel scattering into dx
//    (a forward convolution of the zero-padded dy would spend a third of its MACs on the padding).
//  - MaxPoolGrad: replaces the stock one (36 ms of a 150 ms step at batch 64) with a SIMD argmax pass.
//  - DtrainBiasGrad: sum over all but the last axis (stock Sum transposes first), used by the Add gradient.
//  - DtrainConv2D: Conv2D + bias + optional ReLU in one pass (conv.ts gives it its gradient).
//  - Identity: shares the input's memory with a reference count, as Reshape here and the cpu backend do
//    (stock wasm copies; the engine clones every tensor it saves for the backward pass).
//  - DtrainReluGrad: dy where x > 0 in one pass (tfjs' Relu gradient runs Step, a float32 Cast copy and Mul).
//  - DtrainBatchNormTrain / DtrainBatchNormGrad: batch norm's training forward (float64 moments, x-hat, y) and
//    backward (float64 sums, dx) in one kernel each, bitwise what bn-layers.ts' tfjs ops and loops give.

import { TrainerError } from '@dtrain/common';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { chooseKernelBuild, instantiateKernels, type KernelBuild, type KernelExports } from './kernel-module.js';

export const BIAS_GRAD_KERNEL = 'DtrainBiasGrad';
export const RELU_GRAD_KERNEL = 'DtrainReluGrad';
export const CONV_KERNEL = 'DtrainConv2D';
export const BN_TRAIN_KERNEL = 'DtrainBatchNormTrain';
export const BN_GRAD_KERNEL = 'DtrainBatchNormGrad';

type Shape4 = [number, number, number, number];

function float32(kernel: string, ...tensors: tf.TensorInfo[]): void {
  for (const t of tensors) {
    if (t.dtype !== 'float32')
      throw new TrainerError('ERR_BACKEND', `${kernel}: dtrain's wasm kernel needs float32, got ${t.dtype}`);
  }
}

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dataFormat: string;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Geometry of a convolution gradient kernel's call, after its NHWC and float32 checks. */
function convGradInfo(
  kernel: string,
  a: ConvGradAttrs,
  xShape: Shape4,
  filterShape: Shape4,
  ...tensors: tf.TensorInfo[]
): ConvInfo {
  float32(kernel, ...tensors);
  if (a.dataFormat !== 'NHWC')
    throw new TrainerError('ERR_BACKEND', `${kernel}: dtrain's wasm kernel supports NHWC only, got ${a.dataFormat}`);
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
}

/**
 * What the three convolution kernels take after their pointers, in their order: batch, padded input height
 * and width, input channels, output height, width and channels, filter height and width, strides.
 */
function convShape(n: number, hp: number, wp: number, c: number, info: ConvInfo): ConvShape {
  return [
    n,
    hp,
    wp,
    c,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
  ];
}

type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
type ConvShape = [number, number, number, number, number, number, number, number, number, number, number];

/** The input a kernel should read: x itself, or a zero-padded scratch copy (release() frees it). */
function paddedInput(
  backend: BackendWasm,
  k: KernelExports,
  x: tf.TensorInfo,
  pad: { top: number; bottom: number; left: number; right: number },
): { ptr: number; hp: number; wp: number; release(): void } {
  const [n, h, w, c] = x.shape as Shape4;
  const { top, bottom, left, right } = pad;
  const hp = h + top + bottom;
  const wp = w + left + right;
  if (!(top || bottom || left || right))
    return { ptr: backend.getMemoryOffset(x.dataId), hp, wp, release: () => undefined };
  const scratch = backend.makeOutput([n, hp, wp, c], 'float32');
  k.padCopy(
    backend.getMemoryOffset(x.dataId),
    backend.getMemoryOffset(scratch.dataId),
    n,
    h,
    w,
    c,
    top,
    bottom,
    left,
    right,
  );
  return {
    ptr: backend.getMemoryOffset(scratch.dataId),
    hp,
    wp,
    release: () => void backend.disposeData(scratch.dataId),
  };
}

/** What a kernel needs: the backend, our compiled kernels, and a tensor's address in wasm memory. */
interface KernelContext {
  backend: BackendWasm;
  k: KernelExports;
  at: (t: tf.TensorInfo) => number;
}

type MakeKernel = (c: KernelContext) => tf.KernelFunc;

const maxPoolGrad: MakeKernel =
  ({ backend, k, at }) =>
  ({ inputs, attrs }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const a = attrs as unknown as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: 'valid' | 'same' | number;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    float32('MaxPoolGrad', input, dy);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as Shape4,
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const dx = backend.makeOutput([...input.shape], 'float32');
    k.maxPoolGrad(
      at(input),
      at(dy),
      at(dx),
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
    );
    return dx;
  };

const conv2dBackpropFilter: MakeKernel =
  ({ backend, k, at }) =>
  ({ inputs, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as ConvGradAttrs & { filterShape: Shape4 };
    const info = convGradInfo('Conv2DBackpropFilter', a, x.shape as Shape4, a.filterShape, x, dy);
    const [n, , , c] = x.shape as Shape4;
    const dw = backend.makeOutput([...a.filterShape], 'float32');
    const xp = paddedInput(backend, k, x, info.padInfo);
    k.conv2dFilterGrad(xp.ptr, at(dy), at(dw), ...convShape(n, xp.hp, xp.wp, c, info));
    xp.release();
    return dw;
  };

const conv2dBackpropInput: MakeKernel =
  ({ backend, k, at }) =>
  ({ inputs, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
    const info = convGradInfo('Conv2DBackpropInput', a, a.inputShape, filter.shape as Shape4, dy, filter);
    const { top, bottom, left, right } = info.padInfo;
    const [n, h, w, c] = a.inputShape;
    const hp = h + top + bottom;
    const wp = w + left + right;
    const dx = backend.makeOutput([...a.inputShape], 'float32');
    const padded = top || bottom || left || right ? backend.makeOutput([n, hp, wp, c], 'float32') : null;
    const wt = backend.makeOutput([...filter.shape], 'float32');
    k.conv2dInputGrad(at(dy), at(filter), at(wt), at(padded ?? dx), ...convShape(n, hp, wp, c, info));
    if (padded) {
      k.cropCopy(at(padded), at(dx), n, h, w, c, hp, wp, top, left);
      backend.disposeData(padded.dataId);
    }
    backend.disposeData(wt.dataId);
    return dx;
  };

const biasGrad: MakeKernel =
  ({ backend, k, at }) =>
  ({ inputs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    float32(BIAS_GRAD_KERNEL, x);
    const c = x.shape[x.shape.length - 1] ?? 1;
    const out = backend.makeOutput([c], 'float32');
    k.sumRows(at(x), at(out), tf.util.sizeFromShape(x.shape) / c, c);
    return out;
  };

const identity: MakeKernel =
  ({ backend, k, at }) =>
  ({ inputs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return tf.tensor(backend.readSync(x.dataId) as never, x.shape, x.dtype);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };

const fusedConv2d: MakeKernel =
  ({ backend, k, at }) =>
  ({ inputs, attrs }) => {
    const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
    const a = attrs as unknown as { strides: number; pad: 'valid' | 'same'; activation: 'relu' | 'linear' };
    float32(CONV_KERNEL, x, filter, bias);
    const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides, 1, a.pad);
    if (bias.shape.length !== 1 || bias.shape[0] !== info.outChannels || info.inChannels !== x.shape[3]) {
      throw new TrainerError(
        'ERR_BACKEND',
        `${CONV_KERNEL}: x ${x.shape}, filter ${filter.shape}, bias ${bias.shape} do not fit`,
      );
    }
    const [n, , , c] = x.shape as Shape4;
    const y = backend.makeOutput([n, info.outHeight, info.outWidth, info.outChannels], 'float32');
    const xp = paddedInput(backend, k, x, info.padInfo);
    const relu = a.activation === 'relu' ? 1 : 0;
    k.conv2dForward(xp.ptr, at(filter), at(bias), at(y), ...convShape(n, xp.hp, xp.wp, c, info), relu);
    xp.release();
    return y;
  };

const reluGrad: MakeKernel =
  ({ backend, k, at }) =>
  ({ inputs }) => {
    const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
    float32(RELU_GRAD_KERNEL, dy, x);
    if (!tf.util.arraysEqual(dy.shape, x.shape))
      throw new TrainerError('ERR_BACKEND', `${RELU_GRAD_KERNEL}: dy ${dy.shape} and x ${x.shape} differ`);
    const dx = backend.makeOutput([...x.shape], 'float32');
    k.reluGrad(at(dy), at(x), at(dx), tf.util.sizeFromShape(x.shape));
    return dx;
  };

/** Channels and rows of an NHWC tensor, and 2c float64 of scratch (as a float32 tensor; release() frees it). */
function bnGeometry(backend: BackendWasm, kernel: string, ...tensors: tf.TensorInfo[]) {
  float32(kernel, ...tensors);
  const x = tensors[0]!;
  const c = x.shape[x.shape.length - 1] ?? 1;
  for (const t of tensors.slice(1)) {
    if (t.shape.length === 1 && t.shape[0] !== c)
      throw new TrainerError('ERR_BACKEND', `${kernel}: ${t.shape} for ${c} channels`);
  }
  const scratch = backend.makeOutput([4 * c], 'float32');
  return { c, m: tf.util.sizeFromShape(x.shape) / c, scratch, release: () => backend.disposeData(scratch.dataId) };
}

const batchNormTrain: MakeKernel =
  ({ backend, k, at }) =>
  ({ inputs, attrs }) => {
    const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
    const { c, m, scratch, release } = bnGeometry(backend, BN_TRAIN_KERNEL, x, gamma, beta);
    const [y, xhat] = [backend.makeOutput([...x.shape], 'float32'), backend.makeOutput([...x.shape], 'float32')];
    const [mean, variance, invStd] = [0, 1, 2].map(() => backend.makeOutput([c], 'float32')) as [
      tf.TensorInfo,
      tf.TensorInfo,
      tf.TensorInfo,
    ];
    const eps = (attrs as unknown as { epsilon: number }).epsilon;
    k.batchNormTrain(
      at(x),
      at(gamma),
      at(beta),
      at(y),
      at(xhat),
      at(mean),
      at(variance),
      at(invStd),
      m,
      c,
      eps,
      at(scratch),
    );
    release();
    return [y, xhat, mean, variance, invStd];
  };

const batchNormGrad: MakeKernel =
  ({ backend, k, at }) =>
  ({ inputs }) => {
    const { dy, xhat, invStd, gamma } = inputs as Record<'dy' | 'xhat' | 'invStd' | 'gamma', tf.TensorInfo>;
    if (!tf.util.arraysEqual(dy.shape, xhat.shape))
      throw new TrainerError('ERR_BACKEND', `${BN_GRAD_KERNEL}: dy ${dy.shape} and xhat ${xhat.shape} differ`);
    const { c, m, scratch, release } = bnGeometry(backend, BN_GRAD_KERNEL, dy, xhat, invStd, gamma);
    const dx = backend.makeOutput([...dy.shape], 'float32');
    const [dGamma, dBeta] = [backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32')];
    k.batchNormGrad(at(dy), at(xhat), at(invStd), at(gamma), at(dx), at(dGamma), at(dBeta), m, c, at(scratch));
    release();
    return [dx, dGamma, dBeta];
  };

/** Our kernels; `replaces`: tfjs-backend-wasm has its own, which is unregistered first. */
const WASM_KERNELS: readonly { name: string; replaces: boolean; make: MakeKernel }[] = [
  { name: 'MaxPoolGrad', replaces: true, make: maxPoolGrad },
  { name: 'Conv2DBackpropFilter', replaces: false, make: conv2dBackpropFilter },
  { name: 'Conv2DBackpropInput', replaces: true, make: conv2dBackpropInput },
  { name: BIAS_GRAD_KERNEL, replaces: false, make: biasGrad },
  { name: 'Identity', replaces: true, make: identity },
  { name: CONV_KERNEL, replaces: false, make: fusedConv2d },
  { name: RELU_GRAD_KERNEL, replaces: false, make: reluGrad },
  { name: BN_TRAIN_KERNEL, replaces: false, make: batchNormTrain },
  { name: BN_GRAD_KERNEL, replaces: false, make: batchNormGrad },
];

let installed: KernelBuild | null = null;

/** Register the kernels on the current (wasm) backend (again only when the build changes); returns the build. */
export function installWasmKernels(want: 'auto' | 'simd'): KernelBuild {
  const build = chooseKernelBuild(want);
  if (installed === build) return build;
  const backend = tf.backend() as unknown as BackendWasm & { wasm: { asm?: { memory?: unknown } } };
  const memory = backend.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new TrainerError(
      'ERR_BACKEND',
      'tfjs wasm backend does not expose its memory; cannot install dtrain kernels',
    );
  }
  const k = instantiateKernels(memory, build);
  const context: KernelContext = { backend, k, at: (t) => backend.getMemoryOffset(t.dataId) };
  for (const { name, replaces, make } of WASM_KERNELS) {
    if (replaces || installed !== null) tf.unregisterKernel(name, 'wasm'); // ours from an earlier build too
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make(context) });
  }
  installed = build;
  return build;
}
