// The residual networks' layers in TensorFlow.js ops (model.ts 'convbn', 'resblock', 'gap'): convolutions
// without bias, batch norm and residual blocks. In training, batch norm normalizes over the pass's samples
// (one group of the invariant reduction: a ghost batch the same on every worker) and hands its moments to
// the caller, which sends them to the coordinator in the running statistics' slots of the gradient; in
// evaluation it uses the running statistics the coordinator keeps (sent with the weights).

import { BN_EPSILON, type LayerSpec } from '@dtrain/common';
import * as tf from '@tensorflow/tfjs-core';
import { convLayer } from './conv.js';
import { BN_GRAD_KERNEL, BN_TRAIN_KERNEL, CONV_KERNEL } from './wasm-kernels.js';

export { BN_EPSILON };

/** Where a forward pass takes its parameters and statistics, and where training puts the moments. */
export interface BnContext {
  next: () => tf.Tensor;
  nextStat: () => tf.Tensor;
  /** The model's epsilon (ModelSpec.bnEpsilon, else BN_EPSILON). */
  epsilon: number;
  /** Training: each batch norm's moments over the pass, in layer order; absent: evaluation. */
  moments?: Moments[];
}

/** A batch norm's per-channel mean and biased variance over `count` values per channel. */
export interface Moments {
  mean: tf.Tensor;
  variance: tf.Tensor;
  count: number;
}

function batchNorm(x: tf.Tensor4D, ctx: BnContext): tf.Tensor4D {
  const [gamma, beta, movingMean, movingVar] = [ctx.next(), ctx.next(), ctx.nextStat(), ctx.nextStat()];
  if (!ctx.moments) {
    return tf.batchNorm4d(
      x,
      movingMean as tf.Tensor1D,
      movingVar as tf.Tensor1D,
      beta as tf.Tensor1D,
      gamma as tf.Tensor1D,
      ctx.epsilon,
    );
  }
  const moments = ctx.moments;
  const [n, h, w] = x.shape;
  if (tf.getKernel(BN_TRAIN_KERNEL, tf.getBackend()))
    return batchNormKernel(x, gamma, beta, ctx.epsilon, moments, n * h * w);
  const train = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const { mean, variance } = channelMoments(input);
    moments.push({ mean: tf.keep(mean), variance: tf.keep(variance), count: n * h * w });
    const invStd = tf.rsqrt(tf.add(variance, ctx.epsilon));
    const xhat = tf.mul(tf.sub(input, mean), invStd);
    save([xhat, invStd, g]);
    return { value: tf.add(tf.mul(xhat, g), b), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => bnGrad(dy, saved) };
  });
  return train(x, gamma, beta) as tf.Tensor4D;
}

/** Training batch norm as dtrain's two wasm kernels (wasm-kernels.ts): the same bits as the ops below, in one pass each way. */
function batchNormKernel(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  moments: Moments[],
  count: number,
) {
  const run = (name: string, inputs: Record<string, tf.Tensor>, attrs = {}) =>
    tf.engine().runKernel(name, inputs, attrs) as unknown as tf.Tensor[];
  const train = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, xhat, mean, variance, invStd] = run(BN_TRAIN_KERNEL, { x: input, gamma: g, beta: b }, { epsilon });
    moments.push({ mean: tf.keep(mean!), variance: tf.keep(variance!), count });
    save([xhat!, invStd!, g]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, [sx, si, sg]: tf.Tensor[]) =>
        run(BN_GRAD_KERNEL, { dy, xhat: sx!, invStd: si!, gamma: sg! }),
    };
  });
  return train(x, gamma, beta) as tf.Tensor4D;
}

/**
 * Per-channel mean and biased variance over all but the last axis, summed in float64 (two passes): tfjs'
 * float32 reductions over a ghost batch's n h w values are off by ~1e-6, and batch norm's gradient amplifies
 * that ~1000-fold where its sums cancel.
 */
function channelMoments(x: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const c = x.shape[x.shape.length - 1]!;
  const v = x.dataSync() as Float32Array;
  const count = v.length / c;
  const [sum, sq] = [new Float64Array(c), new Float64Array(c)];
  for (let i = 0; i < v.length; i += c) for (let ch = 0; ch < c; ch++) sum[ch] = sum[ch]! + v[i + ch]!;
  for (let ch = 0; ch < c; ch++) sum[ch] = sum[ch]! / count;
  for (let i = 0; i < v.length; i += c) {
    for (let ch = 0; ch < c; ch++) {
      const d = v[i + ch]! - sum[ch]!;
      sq[ch] = sq[ch]! + d * d;
    }
  }
  for (let ch = 0; ch < c; ch++) sq[ch] = sq[ch]! / count;
  return { mean: tf.tensor1d(Float32Array.from(sum)), variance: tf.tensor1d(Float32Array.from(sq)) };
}

/**
 * Batch norm's gradient with its two per-channel sums (of dy and of dy x-hat) taken in float64: tfjs' float32
 * reductions over a ghost batch's n h w values lose about 1e-3 to cancellation (the sums are near zero), which
 * an independent float64 recomputation notices (bench/reference/resnet_bn.py).
 *   dbeta = sum dy, dgamma = sum dy xhat, dx = gamma / sigma (dy - dbeta / N - xhat dgamma / N)
 */
function bnGrad(dy: tf.Tensor, [xhat, invStd, gamma]: tf.Tensor[]): tf.Tensor[] {
  const c = dy.shape[dy.shape.length - 1]!;
  const [d, x] = [dy.dataSync() as Float32Array, xhat!.dataSync() as Float32Array];
  const [sumDy, sumDyX] = [new Float64Array(c), new Float64Array(c)];
  for (let i = 0; i < d.length; i += c) {
    for (let ch = 0; ch < c; ch++) {
      sumDy[ch] = sumDy[ch]! + d[i + ch]!;
      sumDyX[ch] = sumDyX[ch]! + d[i + ch]! * x[i + ch]!;
    }
  }
  const count = d.length / c;
  const dBeta = tf.tensor1d(Float32Array.from(sumDy));
  const dGamma = tf.tensor1d(Float32Array.from(sumDyX));
  const centered = tf.sub(tf.sub(dy, tf.div(dBeta, count)), tf.mul(xhat!, tf.div(dGamma, count)));
  return [tf.mul(centered, tf.mul(invStd!, gamma!)), dGamma, dBeta];
}

/** A convolution without bias: dtrain's wasm kernel where loaded (20-30% faster than tfjs-wasm's on ResNet shapes), with a zero bias. */
function convNoBias(x: tf.Tensor4D, filters: tf.Tensor4D, stride: number): tf.Tensor4D {
  if (!tf.getKernel(CONV_KERNEL, tf.getBackend())) return tf.conv2d(x, filters, stride, 'same');
  return convLayer(x, filters, tf.zeros([filters.shape[3]]), stride, 'same', 'linear');
}

function convBn(x: tf.Tensor4D, filters: tf.Tensor4D, stride: number, relu: boolean, ctx: BnContext): tf.Tensor4D {
  const y = batchNorm(convNoBias(x, filters, stride), ctx);
  return relu ? tf.relu(y) : y;
}

/** Option A's shortcut: every `stride`-th pixel (a 1x1 pooling window, which has a gradient), zero channels added up to `filters`. */
function padShortcut(x: tf.Tensor4D, stride: number, filters: number): tf.Tensor4D {
  const sub = stride === 1 ? x : tf.avgPool(x, 1, stride, 'valid');
  const c = x.shape[3];
  if (filters === c) return sub;
  const extra = filters - c;
  return tf.pad(sub, [
    [0, 0],
    [0, 0],
    [0, 0],
    [Math.floor(extra / 2), extra - Math.floor(extra / 2)],
  ]);
}

/** One of the batch-norm layers on x; null for a layer of another kind. */
export function bnLayer(x: tf.Tensor, layer: LayerSpec, ctx: BnContext): tf.Tensor | null {
  switch (layer.type) {
    case 'convbn':
      return convBn(x as tf.Tensor4D, ctx.next() as tf.Tensor4D, layer.stride, layer.relu, ctx);
    case 'resblock': {
      const h = x as tf.Tensor4D;
      const a = convBn(h, ctx.next() as tf.Tensor4D, layer.stride, true, ctx);
      const b = convBn(a, ctx.next() as tf.Tensor4D, 1, false, ctx);
      const changes = layer.stride !== 1 || layer.filters !== h.shape[3];
      const short =
        changes && layer.shortcut === 'project'
          ? convBn(h, ctx.next() as tf.Tensor4D, layer.stride, false, ctx)
          : padShortcut(h, layer.stride, layer.filters);
      return tf.relu(tf.add(b, short));
    }
    case 'gap':
      return tf.mean(x, [1, 2]);
    default:
      return null;
  }
}
