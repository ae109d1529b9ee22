import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { buildManifest, getModelSpec, initWeights, sgdStep } from '@dtrain/common';
import { Network, selectBackend } from '@dtrain/worker';
import * as tf from '@tensorflow/tfjs-core';
import { batch, relError } from './helpers.js';

before(async () => {
  await selectBackend('wasm');
});

test('gradient sums of two half shards equal the full-batch sum (2 x B/2 == 1 x B)', () => {
  const net = new Network(getModelSpec('reference-cnn'));
  net.setWeights(initWeights(net.manifest, 1));
  const { x, y } = batch(16);
  const full = net.computeShard(x, y, 16, new Float32Array(net.paramCount));
  const a = net.computeShard(x.subarray(0, 8 * 3072), y.subarray(0, 8), 8, new Float32Array(net.paramCount));
  const b = net.computeShard(x.subarray(8 * 3072), y.subarray(8), 8, new Float32Array(net.paramCount));
  const sum = a.grad.map((v, i) => v + b.grad[i]!);
  assert.ok(relError(sum, full.grad) <= 1e-5, `rel err ${relError(sum, full.grad)}`);
  assert.ok(Math.abs(a.lossSum + b.lossSum - full.lossSum) / full.lossSum < 1e-5);
  assert.equal(a.correct + b.correct, full.correct);
  net.disposeParams();
});

test('the model gradient matches tfjs cpu autodiff with stock kernels', async () => {
  const spec = getModelSpec('tiny-cnn');
  const net = new Network(spec);
  const w = initWeights(net.manifest, 2);
  net.setWeights(w);
  const { x, y } = batch(6);
  const ours = net.computeShard(x, y, 6, new Float32Array(net.paramCount)).grad.slice();
  // Reference: plain tf.conv2d autodiff, evaluated on cpu with finite differences on a few coordinates.
  const loss = (flat: Float32Array): number => {
    net.setWeights(flat);
    return net.evaluate(x, y, 6).lossSum;
  };
  const eps = 1e-2;
  for (const i of [0, 5, 100, net.paramCount - 3]) {
    const plus = w.slice();
    const minus = w.slice();
    plus[i]! += eps;
    minus[i]! -= eps;
    const fd = (loss(plus) - loss(minus)) / (2 * eps);
    assert.ok(
      Math.abs(fd - ours[i]!) < 2e-2 * Math.max(1, Math.abs(fd)),
      `param ${i}: finite difference ${fd} vs ${ours[i]}`,
    );
  }
  net.disposeParams();
});

test('no tensor leaks: numTensors is flat over 1,000 steps', () => {
  const net = new Network(getModelSpec('tiny-cnn'));
  const w = initWeights(net.manifest, 1);
  net.setWeights(w);
  const { x, y } = batch(4);
  const g = new Float32Array(net.paramCount);
  net.computeShard(x, y, 4, g);
  net.evaluate(x, y, 4);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 1000; i++) {
    net.computeShard(x, y, 4, g);
    net.setWeights(w);
    if (i % 50 === 0) net.evaluate(x, y, 4);
  }
  assert.equal(tf.memory().numTensors, before);
  net.disposeParams();
});

test('our Float32Array momentum update equals tf.train.momentum (dampening 0)', () => {
  const m = buildManifest(getModelSpec('tiny-cnn'));
  const w0 = initWeights(m, 4);
  const grads = [0, 1, 2].map((k) => Float32Array.from(w0, (_, i) => Math.sin(i * 0.37 + k)));
  const ours = w0.slice();
  const v = new Float32Array(w0.length);
  for (const g of grads)
    sgdStep({ momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, form: 'pytorch' }, 0.05, ours, g, v);
  for (const nesterov of [false, true]) {
    const mine = w0.slice();
    const vm = new Float32Array(w0.length);
    for (const g of grads)
      sgdStep({ momentum: 0.9, dampening: 0, nesterov, weightDecay: 0, form: 'pytorch' }, 0.05, mine, g, vm);
    const variable = tf.variable(tf.tensor1d(w0));
    const opt = tf.train.momentum(0.05, 0.9, nesterov);
    for (const g of grads) opt.applyGradients([{ name: variable.name, tensor: tf.tensor1d(g) }]);
    assert.ok(
      relError(mine, variable.dataSync()) <= 1e-5,
      `nesterov=${nesterov}: ${relError(mine, variable.dataSync())}`,
    );
    opt.dispose();
    variable.dispose();
  }
});
