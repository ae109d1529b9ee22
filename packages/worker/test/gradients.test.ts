import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { conv2dFilterGrad, conv2dInputGrad, selectBackend } from '@dtrain/worker';
import * as tf from '@tensorflow/tfjs-core';
import { randomArray, relError } from './helpers.js';

type Pad = 'valid' | 'same';
const cases: { x: [number, number, number, number]; k: number; co: number; stride: number; pad: Pad }[] = [];
for (const pad of ['valid', 'same'] as const) {
  for (const stride of [1, 2]) {
    cases.push({ x: [2, 9, 9, 3], k: 3, co: 4, stride, pad });
    cases.push({ x: [3, 8, 7, 5], k: 3, co: 6, stride, pad });
    cases.push({ x: [1, 6, 6, 2], k: 1, co: 3, stride, pad });
    cases.push({ x: [2, 9, 9, 8], k: 3, co: 16, stride, pad }); // the 4x8 SIMD micro-kernels, not only remainders
  }
}

/** Reference gradients from tfjs' own cpu kernels. */
async function reference(
  x: Float32Array,
  xShape: number[],
  w: Float32Array,
  wShape: number[],
  dy: Float32Array,
  dyShape: number[],
  stride: number,
  pad: Pad,
) {
  await tf.setBackend('cpu');
  const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  const xt = tf.tensor(x, xShape);
  const wt = tf.tensor(w, wShape);
  const dyt = tf.tensor(dy, dyShape);
  const dW = tf
    .engine()
    .runKernel('Conv2DBackpropFilter', { x: xt, dy: dyt }, { ...attrs, filterShape: wShape } as never) as tf.Tensor;
  const dX = tf
    .engine()
    .runKernel('Conv2DBackpropInput', { dy: dyt, filter: wt }, { ...attrs, inputShape: xShape } as never) as tf.Tensor;
  const out = { dW: dW.dataSync().slice(), dX: dX.dataSync().slice() };
  tf.dispose([xt, wt, dyt, dW, dX]);
  return out;
}

before(async () => {
  await selectBackend('wasm');
});

// Both kernel builds (kernel-module.ts) must meet the same 1e-5: the FMA build rounds each multiply-add once
// instead of twice, so its error against the float32 reference is no larger than the SIMD build's.
test('Conv2D filter and input gradients match tfjs reference kernels (valid/same, stride 1/2; both kernel builds)', async () => {
  let seed = 100;
  for (const c of cases) {
    const [n, h, w, ci] = c.x;
    const wShape = [c.k, c.k, ci, c.co];
    const outH = c.pad === 'same' ? Math.ceil(h / c.stride) : Math.floor((h - c.k) / c.stride) + 1;
    const outW = c.pad === 'same' ? Math.ceil(w / c.stride) : Math.floor((w - c.k) / c.stride) + 1;
    const dyShape = [n, outH, outW, c.co];
    const x = randomArray(n * h * w * ci, seed++);
    const wt = randomArray(
      wShape.reduce((a, b) => a * b),
      seed++,
    );
    const dy = randomArray(
      dyShape.reduce((a, b) => a * b),
      seed++,
    );
    const ref = await reference(x, c.x, wt, wShape, dy, dyShape, c.stride, c.pad);
    for (const backend of ['wasm-simd', 'wasm', 'cpu'] as const) {
      if (backend === 'cpu') await tf.setBackend('cpu');
      else await selectBackend(backend);
      const xT = tf.tensor4d(x, c.x);
      const wT = tf.tensor4d(wt, wShape as [number, number, number, number]);
      const dyT = tf.tensor4d(dy, dyShape as [number, number, number, number]);
      const dW = conv2dFilterGrad(xT, dyT, wShape as [number, number, number, number], c.stride, c.pad);
      const dX = conv2dInputGrad(dyT, wT, c.x, c.stride, c.pad);
      const label = `${backend} ${JSON.stringify(c)}`;
      assert.ok(
        relError(dW.dataSync(), ref.dW) <= 1e-5,
        `${label}: filter grad rel err ${relError(dW.dataSync(), ref.dW)}`,
      );
      assert.ok(
        relError(dX.dataSync(), ref.dX) <= 1e-5,
        `${label}: input grad rel err ${relError(dX.dataSync(), ref.dX)}`,
      );
      tf.dispose([xT, wT, dyT, dW, dX]);
    }
  }
  await tf.setBackend('wasm');
});

test('autodiff through tf.conv2d uses the installed gradient and agrees with the reference', async () => {
  await tf.setBackend('wasm');
  const x = tf.tensor4d(randomArray(2 * 8 * 8 * 3, 7), [2, 8, 8, 3]);
  const w = tf.tensor4d(randomArray(3 * 3 * 3 * 4, 8), [3, 3, 3, 4]);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))),
  );
  const [dx, dw] = g([x, w]);
  const y = tf.conv2d(x, w, 1, 'same');
  const dy = tf.mul(y, 2);
  const ref = await reference(
    x.dataSync() as Float32Array,
    x.shape,
    w.dataSync() as Float32Array,
    w.shape,
    dy.dataSync() as Float32Array,
    dy.shape,
    1,
    'same',
  );
  assert.ok(relError(dw!.dataSync(), ref.dW) <= 1e-5);
  assert.ok(relError(dx!.dataSync(), ref.dX) <= 1e-5);
  await tf.setBackend('wasm');
});

test('the 2-D MatMul gradient (no transposed operands) matches dA = dC B^T, dB = A^T dC', async () => {
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    const a = tf.tensor2d(randomArray(7 * 5, 31), [7, 5]);
    const b = tf.tensor2d(randomArray(5 * 3, 32), [5, 3]);
    const dc = tf.tensor2d(randomArray(7 * 3, 33), [7, 3]);
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), dc)),
    )([a, b]);
    const refA = tf.matMul(dc, b, false, true);
    const refB = tf.matMul(a, dc, true, false);
    assert.ok(relError(da!.dataSync(), refA.dataSync()) <= 1e-6, `${backend} dA`);
    assert.ok(relError(db!.dataSync(), refB.dataSync()) <= 1e-6, `${backend} dB`);
    tf.dispose([a, b, dc, da!, db!, refA, refB]);
  }
  await tf.setBackend('wasm');
});
