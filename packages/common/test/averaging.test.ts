import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reduceShards } from '@dtrain/common';

test('shard sums are reduced in shard order and divided by the sample count', () => {
  const out = new Float32Array(2);
  const r = reduceShards([
    { shardId: 1, count: 3, lossSum: 3, correct: 1, grad: new Float32Array([3, 6]) },
    { shardId: 0, count: 1, lossSum: 1, correct: 1, grad: new Float32Array([1, -2]) },
  ], out);
  assert.deepEqual([...r.meanGrad], [1, 1]);
  assert.equal(r.meanLoss, 1);
  assert.equal(r.accuracy, 0.5);
  assert.equal(r.samples, 4);
});

test('a wrong-length gradient is refused', () => {
  assert.throws(() => reduceShards([{ shardId: 0, count: 1, lossSum: 0, correct: 0, grad: new Float32Array(3) }], new Float32Array(2)),
    (e: { code: string }) => e.code === 'ERR_SHAPE_MISMATCH');
});
