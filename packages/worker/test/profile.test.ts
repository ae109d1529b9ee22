import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchCompute, selectBackend } from '@dtrain/worker';

test('the compute benchmark reports throughput, FLOP rate and kernel times without leaking tensors', async () => {
  const r = await benchCompute(await selectBackend('wasm'), 'tiny-cnn', 16, 3);
  assert.equal(r.backend, 'wasm');
  assert.ok(r.imagesPerSecond > 0 && r.gflopsPerSecond > 0);
  assert.ok(Math.abs(r.imagesPerSecond - (16 * 1000) / r.msPerBatch) / r.imagesPerSecond < 0.01);
  for (const k of ['DtrainConv2D', 'Conv2DBackpropFilter', 'MaxPoolGrad']) assert.ok(k in r.kernelsMs, `${k} in ${Object.keys(r.kernelsMs).join(',')}`);
  assert.equal(r.numTensorsDrift, 0);
});
