// Fast gradients for the wasm and cpu backends, installed over tfjs' gradient registry when the native
// TensorFlow backend is not in use (its own kernels are right and faster there):
//  - Conv2D filter gradient: on wasm dtrain's SIMD Conv2DBackpropFilter kernel (wasm-kernels.ts), on cpu
//    im2col + one matMul (cpu's own kernel is slow):
//      dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[n,oh,ow,co]
//  - Conv2D input gradient: on wasm dtrain's Conv2DBackpropInput kernel; on cpu (stride 1) a forward
//    convolution with the flipped filter.
//  - MatMul (2-D, no transposes) gradients without transposed-operand matMuls, which wasm runs on a slow
//    path (dense_1's weight gradient: 9.3 ms with transposeA, 1.4 ms with an explicit transpose):
//      dA = (B x dC^T)^T,  dB = A^T x dC
//  - Add with a bias ([..., c] + [c]): the bias gradient by dtrain's DtrainBiasGrad kernel where the
//    backend has it (stock Sum over leading axes transposes the whole activation first).
//  - Relu (float32): dtrain's one-pass DtrainReluGrad kernel where the backend has it.

import * as tf from '@tensorflow/tfjs-core';
import { BIAS_GRAD_KERNEL, RELU_GRAD_KERNEL } from './wasm-kernels.js';

type Pad = 'valid' | 'same';

export interface ConvGeometry {
  outH: number;
  outW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

/** TensorFlow's output size and padding for a 2-D convolution. */
export function convGeometry(inH: number, inW: number, k: number, kw: number, stride: number, pad: Pad): ConvGeometry {
  if (pad === 'valid') {
    return {
      outH: Math.floor((inH - k) / stride) + 1,
      outW: Math.floor((inW - kw) / stride) + 1,
      padTop: 0,
      padBottom: 0,
      padLeft: 0,
      padRight: 0,
    };
  }
  const outH = Math.ceil(inH / stride);
  const outW = Math.ceil(inW / stride);
  const padH = Math.max((outH - 1) * stride + k - inH, 0);
  const padW = Math.max((outW - 1) * stride + kw - inW, 0);
  const padTop = Math.floor(padH / 2);
  const padLeft = Math.floor(padW / 2);
  return { outH, outW, padTop, padBottom: padH - padTop, padLeft, padRight: padW - padLeft };
}

/**
 * Transposed im2col in plain JS (cpu backend): [KH*KW*C, N*OH*OW] in (kh, kw, c) row order, so that
 * dW = colsT x dy[N*OH*OW, CO] needs no transpose (wasm matMul with transposeA is slow).
 */
export function im2colT(
  x: Float32Array,
  shape: readonly number[],
  kh: number,
  kw: number,
  stride: number,
  g: ConvGeometry,
): Float32Array {
  const [n, h, w, c] = shape as [number, number, number, number];
  const m = n * g.outH * g.outW;
  const cols = new Float32Array(kh * kw * c * m);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let b = 0, col = 0; b < n; b++) {
        for (let oy = 0; oy < g.outH; oy++) {
          const iy = oy * stride + i - g.padTop;
          for (let ox = 0; ox < g.outW; ox++, col++) {
            const ix = ox * stride + j - g.padLeft;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const src = ((b * h + iy) * w + ix) * c;
            const row = (i * kw + j) * c;
            for (let ch = 0; ch < c; ch++) cols[(row + ch) * m + col] = x[src + ch]!;
          }
        }
      }
    }
  }
  return cols;
}

/** Conv2D filter gradient: the backend's kernel on wasm (dtrain's), else im2col + one matMul. */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  stride: number,
  pad: Pad,
): tf.Tensor4D {
  if (tf.getBackend() === 'wasm') {
    const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape };
    return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor4D;
  }
  const [kh, kw, ci, co] = filterShape;
  const g = convGeometry(x.shape[1], x.shape[2], kh, kw, stride, pad);
  const m = x.shape[0] * g.outH * g.outW;
  const cols = im2colT(x.dataSync() as Float32Array, x.shape, kh, kw, stride, g);
  return tf.tidy(() => {
    const colsT = tf.tensor2d(cols, [kh * kw * ci, m]);
    return tf.reshape(tf.matMul(colsT, tf.reshape(dy, [m, co])), [kh, kw, ci, co]) as tf.Tensor4D;
  });
}

/**
 * Conv2D input gradient. On wasm dtrain's Conv2DBackpropInput kernel (any stride). Elsewhere, stride 1:
 * a forward convolution of the padded dy with the spatially flipped, in/out-swapped filter; other
 * strides: tfjs' conv2dTranspose.
 */
export function conv2dInputGrad(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  xShape: [number, number, number, number],
  stride: number,
  pad: Pad,
): tf.Tensor4D {
  if (stride !== 1 || tf.getBackend() === 'wasm') return tf.conv2dTranspose(dy, filter, xShape, stride, pad);
  return tf.tidy(() => {
    const [kh, kw] = filter.shape;
    const g = convGeometry(xShape[1], xShape[2], kh, kw, 1, pad);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const padded = tf.pad(dy, [
      [0, 0],
      [kh - 1 - g.padTop, kh - 1 - g.padBottom],
      [kw - 1 - g.padLeft, kw - 1 - g.padRight],
      [0, 0],
    ]);
    return tf.conv2d(padded, flipped, 1, 'valid');
  });
}

function asPad(pad: unknown): Pad | null {
  return pad === 'valid' || pad === 'same' ? pad : null;
}

function singleStride(strides: unknown): number | null {
  const s = Array.isArray(strides) ? strides : [strides, strides];
  return s[0] === s[1] && typeof s[0] === 'number' ? s[0] : null;
}

type GradFunc = Parameters<typeof tf.registerGradient>[0]['gradFunc'];

/**
 * Register a gradient for kernelName computed by `fast`, falling back to tfjs' own gradient wherever
 * `fast` returns null (an attribute or shape it does not handle, or a backend without dtrain's kernel).
 */
function overrideGradient(
  kernelName: string,
  inputsToSave: string[],
  fast: (dy: tf.Tensor, saved: tf.Tensor[], attrs: Parameters<GradFunc>[2]) => ReturnType<GradFunc> | null,
): void {
  const stock = tf.getGradient(kernelName);
  tf.registerGradient({
    kernelName,
    inputsToSave,
    gradFunc: (dy, saved, attrs) => {
      const grads = fast(dy as tf.Tensor, saved, attrs);
      if (grads) return grads;
      if (!stock) throw new Error(`tfjs has no ${kernelName} gradient`);
      return stock.gradFunc(dy, saved, attrs);
    },
  });
}

let installed = false;

/** Replace tfjs' BatchMatMul, Relu, Add and Conv2D gradients with the ones above (idempotent, process-wide). */
export function installFastGradients(): void {
  if (installed) return;
  installed = true;
  overrideGradient('BatchMatMul', ['a', 'b'], (d, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor2D, tf.Tensor2D];
    const t = attrs as { transposeA?: boolean; transposeB?: boolean };
    if (t.transposeA || t.transposeB || a.rank !== 2 || b.rank !== 2 || d.rank !== 2) return null;
    return {
      a: () => tf.transpose(tf.matMul(b, tf.transpose(d as tf.Tensor2D))),
      b: () => tf.matMul(tf.transpose(a), d as tf.Tensor2D),
    };
  });
  overrideGradient('Relu', ['x'], (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    if (x.dtype !== 'float32' || !tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend())) return null;
    return { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x }, {}) as tf.Tensor };
  });
  overrideGradient('Add', ['a', 'b'], (d, saved) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const isBias =
      b.rank === 1 && a.rank >= 2 && tf.util.arraysEqual(a.shape, d.shape) && b.shape[0] === a.shape[a.rank - 1];
    if (!isBias || !tf.getKernel(BIAS_GRAD_KERNEL, tf.getBackend())) return null;
    return {
      a: () => tf.reshape(d, a.shape),
      b: () => tf.engine().runKernel(BIAS_GRAD_KERNEL, { x: d }, {}) as tf.Tensor,
    };
  });
  overrideGradient('Conv2D', ['x', 'filter'], (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as { strides: unknown; pad: unknown; dilations: unknown; dataFormat: string };
    const stride = singleStride(a.strides);
    const pad = asPad(a.pad);
    const dil = singleStride(a.dilations ?? 1);
    if (stride === null || pad === null || dil !== 1 || a.dataFormat !== 'NHWC') return null;
    const d = dy as tf.Tensor4D;
    return {
      x: () => conv2dInputGrad(d, filter, x.shape, stride, pad),
      filter: () => conv2dFilterGrad(x, d, filter.shape, stride, pad),
    };
  });
}
