// One convolution layer (Conv2D + bias + activation). On a backend with dtrain's fused DtrainConv2D kernel
// (wasm) it is one kernel with its own gradient: the ReLU mask from the saved output, then the input,
// filter and bias gradients from that masked dy, each computed only when the tape needs it. Elsewhere:
// tf.conv2d + tf.add + tf.relu.

import * as tf from '@tensorflow/tfjs-core';
import { conv2dFilterGrad, conv2dInputGrad } from './gradients.js';
import { BIAS_GRAD_KERNEL, CONV_KERNEL, RELU_GRAD_KERNEL } from './wasm-kernels.js';

type Pad = 'valid' | 'same';
export type Activation = 'relu' | 'linear';

interface ConvAttrs {
  strides: number;
  pad: Pad;
  activation: Activation;
}

export function convLayer(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor,
  stride: number,
  pad: Pad,
  activation: Activation,
): tf.Tensor4D {
  if (tf.getKernel(CONV_KERNEL, tf.getBackend())) {
    const attrs: ConvAttrs = { strides: stride, pad, activation };
    return tf.engine().runKernel(CONV_KERNEL, { x, filter, bias }, attrs as never) as tf.Tensor4D;
  }
  const z = tf.add(tf.conv2d(x, filter, stride, pad), bias) as tf.Tensor4D;
  return activation === 'relu' ? tf.relu(z) : z;
}

let installed = false;

/** The gradient of DtrainConv2D (process-wide, idempotent). */
export function installConvGradient(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: CONV_KERNEL,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as ConvAttrs;
      // y > 0 exactly where the pre-activation is > 0, so the saved output gives the ReLU mask.
      const dz = (
        a.activation === 'relu' ? tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: dy as tf.Tensor, x: y }, {}) : dy
      ) as tf.Tensor4D;
      return {
        x: () => conv2dInputGrad(dz, filter, x.shape, a.strides, a.pad),
        filter: () => conv2dFilterGrad(x, dz, filter.shape, a.strides, a.pad),
        bias: () => tf.engine().runKernel(BIAS_GRAD_KERNEL, { x: dz }, {}) as tf.Tensor,
      };
    },
  });
}
