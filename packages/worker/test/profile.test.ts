import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchCompute, computeRates, selectBackend } from '@dtrain/worker';

test('the compute benchmark reports throughput, FLOP rate and kernel times without leaking tensors', async () => {
  const r = await benchCompute(await selectBackend('wasm'), 'tiny-cnn', 16, 3);
  assert.equal(r.backend, 'wasm');
  assert.ok(r.imagesPerSecond > 0 && r.gflopsPerSecond > 0);
  for (const k of ['DtrainConv2D', 'Conv2DBackpropFilter', 'MaxPoolGrad'])
    assert.ok(k in r.kernelsMs, `${k} in ${Object.keys(r.kernelsMs).join(',')}`);
  assert.equal(r.numTensorsDrift, 0);
});

test('rates by hand: the reference CNN (9,097,216 forward FLOP per image), batch 64 in 100 ms', () => {
  // 64 images / 0.1 s = 640 images/s; 3 x 9,097,216 x 64 / 0.1 s = 17.4666 GFLOP/s
  assert.deepEqual(computeRates(64, 100, 9_097_216), { imagesPerSecond: 640, gflopsPerSecond: 17.47 });
});
