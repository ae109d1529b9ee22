import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noiseEstimate, ShardReducer, type ShardResult, sumSquares } from '@dtrain/common';

const shard = (shardId: number, count: number, grad: number[]): ShardResult => ({
  shardId,
  count,
  lossSum: count,
  correct: shardId % 2,
  grad: Float32Array.from(grad),
});

test("shard sums are reduced in shard order and divided by the sample count, with each shard's sum of squares", () => {
  const r = new ShardReducer(new Float32Array(2), 2);
  r.add(shard(1, 3, [3, 6]));
  assert.equal(r.complete, false);
  r.add(shard(0, 1, [1, -2]));
  const out = r.finish();
  assert.deepEqual([...out.meanGrad], [1, 1]);
  assert.equal(out.meanNormSq, 2);
  assert.equal(out.meanLoss, 1);
  assert.equal(out.accuracy, 0.25);
  assert.equal(out.samples, 4);
  assert.deepEqual(out.small, { k: 2, invCountSum: 1 + 1 / 3, meanSqSum: 5 + 45 / 9 });
});

test('one shard: the mean and its norm, and no per-shard norm (the noise scale needs two shards)', () => {
  const r = new ShardReducer(new Float32Array(2), 1);
  r.add(shard(0, 4, [4, -8]));
  const out = r.finish();
  assert.deepEqual([...out.meanGrad], [1, -2]);
  assert.equal(out.meanNormSq, 5);
  assert.deepEqual(out.small, { k: 1, invCountSum: 1 / 4, meanSqSum: 0 });
  assert.equal(noiseEstimate(out.small, out.samples, out.meanNormSq), null);
});

test('any arrival order gives exactly the values of adding in shard order afterwards', () => {
  const n = 1000;
  const grads = [0, 1, 2, 3].map((s) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * (s + 1.37)) * 10 ** (s - 2)),
  );
  const reference = new Float32Array(n);
  for (const g of grads) for (let i = 0; i < n; i++) reference[i] = reference[i]! + g[i]!;
  for (let i = 0; i < n; i++) reference[i] = reference[i]! / 10;
  for (const order of [
    [0, 1, 2, 3],
    [3, 2, 1, 0],
    [2, 0, 3, 1],
    [1, 3, 0, 2],
  ]) {
    const r = new ShardReducer(new Float32Array(n), 4);
    for (const s of order) r.add({ shardId: s, count: [1, 2, 3, 4][s]!, lossSum: 0, correct: 0, grad: grads[s]! });
    const out = r.finish();
    assert.deepEqual(out.meanGrad, reference, `order ${order}`);
    assert.ok(Math.abs(out.meanNormSq - sumSquares(reference)) <= 1e-9 * sumSquares(reference));
  }
});

test('wrong-length, duplicate, out-of-range and missing shards are refused', () => {
  const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
  assert.throws(() => new ShardReducer(new Float32Array(2), 1).add(shard(0, 1, [1, 2, 3])), code('ERR_SHAPE_MISMATCH'));
  const r = new ShardReducer(new Float32Array(2), 3);
  r.add(shard(0, 1, [1, 2]));
  assert.throws(() => r.add(shard(0, 1, [1, 2])), code('ERR_DUPLICATE_GRADIENT'));
  assert.throws(() => r.add(shard(3, 1, [1, 2])), code('ERR_DUPLICATE_GRADIENT'));
  r.add(shard(2, 1, [1, 2]));
  assert.throws(() => r.add(shard(2, 1, [1, 2])), code('ERR_DUPLICATE_GRADIENT'));
  assert.throws(() => r.finish(), code('ERR_NO_WORKERS'));
});

test('the loss is summed in shard order whatever the arrival order', () => {
  const losses = [0.1, 1e16, -1e16, 0.2];
  const meanLoss = (order: number[]): number => {
    const r = new ShardReducer(new Float32Array(1), 4);
    for (const s of order) r.add({ shardId: s, count: 1, lossSum: losses[s]!, correct: 0, grad: new Float32Array(1) });
    return r.finish().meanLoss;
  };
  assert.equal(meanLoss([3, 2, 1, 0]), meanLoss([0, 1, 2, 3]));
  assert.equal(meanLoss([1, 3, 0, 2]), meanLoss([0, 1, 2, 3]));
});

test('finish says whether the mean is finite: finite shards whose sum overflows float32, or a running statistic that is not', () => {
  const big = 3e38; // finite in float32; two of them are not
  const fine = new ShardReducer(new Float32Array(3), 2, 2);
  fine.add(shard(0, 1, [1, 2, 3]));
  fine.add(shard(1, 1, [4, 5, 6]));
  assert.equal(fine.finish().finite, true);
  const over = new ShardReducer(new Float32Array(3), 2, 2);
  over.add(shard(0, 1, [big, 0, 0]));
  over.add(shard(1, 1, [big, 0, 0]));
  const o = over.finish();
  assert.equal(o.finite, false);
  assert.equal(o.meanGrad[0], Number.POSITIVE_INFINITY);
  for (const shards of [1, 2]) {
    // the third value is outside the norm (a running statistic): its overflow is seen all the same
    const tail = new ShardReducer(new Float32Array(3), shards, 2);
    for (let s = 0; s < shards; s++) tail.add(shard(s, 1, [0, 0, shards === 1 ? Number.NaN : big]));
    assert.equal(tail.finish().finite, false, `${shards} shard(s)`);
  }
});
