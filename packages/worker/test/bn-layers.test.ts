import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { getModelSpec, initWeights } from '@dtrain/common';
import { Network, selectBackend } from '@dtrain/worker';
import * as tf from '@tensorflow/tfjs-core';
import { batch } from './helpers.js';

before(async () => {
  await selectBackend('wasm');
});

test('resnet8: gradients of batch norm, residual blocks (both shortcuts) and pooling match finite differences of the training loss', () => {
  const net = new Network(getModelSpec('resnet8'));
  const w = initWeights(net.manifest, 3);
  const { x, y } = batch(6, 4);
  const train = (flat: Float32Array) => {
    net.setWeights(flat);
    return net.computeShard(x, y, 6, new Float32Array(net.paramCount));
  };
  const grad = train(w).grad.slice();
  const at = (name: string, k = 0) => net.manifest.find((p) => p.name === name)!.offset + k;
  const coords = [
    at('conv2d_1/kernel', 7),
    at('batch_normalization_1/gamma', 3),
    at('batch_normalization_3/beta', 1),
    at('conv2d_4/kernel', 40), // the first block of stage 2: stride 2, the padded shortcut
    at('batch_normalization_7/gamma', 5),
    at('dense_1/kernel', 11),
  ];
  const eps = 1e-2;
  for (const i of coords) {
    const [plus, minus] = [w.slice(), w.slice()];
    plus[i]! += eps;
    minus[i]! -= eps;
    const fd = (train(plus).lossSum - train(minus).lossSum) / (2 * eps);
    assert.ok(
      Math.abs(fd - grad[i]!) < 3e-2 * Math.max(1, Math.abs(fd)),
      `${net.manifest.find((p) => p.offset <= i && i < p.offset + p.length)!.name}: fd ${fd} vs ${grad[i]}`,
    );
  }
  net.disposeParams();
});

test("training puts n x each batch norm's mean and unbiased variance in its running-statistic slots; evaluation uses the running statistics", () => {
  const net = new Network(getModelSpec('resnet8'));
  const w = initWeights(net.manifest, 5);
  net.setWeights(w);
  const n = 4;
  const { x, y } = batch(n, 4);
  const out = net.computeShard(x, y, n, new Float32Array(net.paramCount)).grad;
  const entry = (name: string) => net.manifest.find((p) => p.name === name)!;
  const kernel = entry('conv2d_1/kernel');
  const expected = tf.tidy(() => {
    const conv = tf.conv2d(
      tf.tensor4d(x, [n, 32, 32, 3]),
      tf.tensor4d(w.subarray(kernel.offset, kernel.offset + kernel.length), [3, 3, 3, 16]),
      1,
      'same',
    );
    const { mean, variance } = tf.moments(conv, [0, 1, 2]);
    const m = n * 32 * 32;
    return {
      mean: Array.from(mean.dataSync()),
      variance: Array.from(variance.dataSync()).map((v) => (v * m) / (m - 1)),
    };
  });
  const [mean, variance] = [entry('batch_normalization_1/moving_mean'), entry('batch_normalization_1/moving_variance')];
  for (let c = 0; c < 16; c++) {
    assert.ok(
      Math.abs(out[mean.offset + c]! / n - expected.mean[c]!) <= 1e-5 * Math.max(1, Math.abs(expected.mean[c]!)),
    );
    assert.ok(Math.abs(out[variance.offset + c]! / n - expected.variance[c]!) <= 1e-4 * expected.variance[c]!);
  }
  const before = net.evaluate(x, y, n).lossSum;
  const shifted = w.slice();
  shifted.fill(0.5, mean.offset, mean.offset + mean.length);
  net.setWeights(shifted);
  assert.notEqual(net.evaluate(x, y, n).lossSum, before, 'evaluation reads the running mean');
  net.setWeights(w);
  const trainedAgain = net.computeShard(x, y, n, new Float32Array(net.paramCount)).lossSum;
  net.setWeights(shifted);
  assert.equal(net.computeShard(x, y, n, new Float32Array(net.paramCount)).lossSum, trainedAgain, 'training does not');
  net.disposeParams();
});

test("dtrain's batch-norm kernels give bitwise what the tfjs ops and float64 loops give: loss, gradients, moments", () => {
  for (const [model, n] of [
    ['resnet8', 6],
    ['resnet18', 2],
  ] as const) {
    const net = new Network(getModelSpec(model));
    net.setWeights(initWeights(net.manifest, 5));
    const { x, y } = batch(n, 9);
    const [withKernels, withOps] = [new Float32Array(net.paramCount), new Float32Array(net.paramCount)];
    const a = net.computeShard(x, y, n, withKernels);
    const kernel = tf.getKernel('DtrainBatchNormTrain', 'wasm');
    assert.ok(kernel, 'the wasm backend has the kernel');
    tf.unregisterKernel('DtrainBatchNormTrain', 'wasm');
    try {
      const b = net.computeShard(x, y, n, withOps);
      assert.equal(a.lossSum, b.lossSum, model);
    } finally {
      tf.registerKernel(kernel);
    }
    assert.ok(
      withKernels.every((v, i) => Object.is(v, withOps[i])),
      `${model}: every gradient and moment bitwise`,
    );
  }
});
