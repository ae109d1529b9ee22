import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochOrder, evalChunks, planBatch, shardSizes, splitShards, stepsPerEpoch } from '@dtrain/common';

test('every planned sample is used exactly once per step, for 1..16 workers', () => {
  const n = 1000;
  const order = epochOrder(n, 7, 0);
  for (const batch of [16, 37, 64, 250]) {
    for (let p = 0; p < stepsPerEpoch(n, batch); p++) {
      const planned = planBatch(order, p, batch);
      for (let w = 1; w <= 16 && w <= batch; w++) {
        const shards = splitShards(planned, w);
        assert.equal(shards.length, w);
        const used = shards.flatMap((s) => [...s.indices]);
        assert.deepEqual(used, [...planned], `batch ${batch} pos ${p} workers ${w}`);
        const sizes = shards.map((s) => s.indices.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
        assert.deepEqual(
          shards.map((s) => s.shardId),
          [...Array(w).keys()],
        );
      }
    }
  }
});

test('the epoch order is a permutation that depends on (seed, epoch) only', () => {
  const a = epochOrder(500, 3, 2);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    [...Array(500).keys()],
  );
  assert.deepEqual(a, epochOrder(500, 3, 2));
  assert.notDeepEqual(a, epochOrder(500, 3, 3));
  assert.notDeepEqual(a, epochOrder(500, 4, 2));
});

test('batches within an epoch do not overlap and cut nothing short', () => {
  const order = epochOrder(100, 1, 0);
  const seen = new Set<number>();
  for (let p = 0; p < stepsPerEpoch(100, 30); p++) for (const i of planBatch(order, p, 30)) seen.add(i);
  assert.equal(seen.size, 90);
  assert.throws(() => planBatch(order, 3, 30), /runs past the epoch/);
});

test('more workers than samples is refused', () => {
  assert.throws(
    () => splitShards(new Uint32Array(3), 4),
    (e: { hint?: string }) => /global batch must be at least/.test(e.hint ?? ''),
  );
});

test('evaluation chunks cover the split once', () => {
  const c = evalChunks(1234, 500);
  assert.deepEqual(
    c.map((s) => s.indices.length),
    [500, 500, 234],
  );
  assert.deepEqual(
    c.flatMap((s) => [...s.indices]),
    [...Array(1234).keys()],
  );
});

test('weighted shards: sizes proportional to the weights, at least one sample each, summing to the batch', () => {
  assert.deepEqual(shardSizes(128, [1, 1]), [64, 64]);
  assert.deepEqual(shardSizes(128, [2, 1]), [85, 43]);
  assert.deepEqual(shardSizes(10, [1, 1, 1]), [4, 3, 3], 'ties go to the lower index');
  assert.deepEqual(shardSizes(5, [1000, 1, 1]), [3, 1, 1], 'a very slow worker still gets one sample');
  for (const w of [[0.3, 0.9, 0.01], [5, 5, 5, 5, 1e-6], [1]]) {
    const s = shardSizes(37, w);
    assert.equal(
      s.reduce((a, b) => a + b, 0),
      37,
    );
    assert.ok(s.every((x) => x >= 1));
  }
  assert.throws(() => shardSizes(3, [1, 0]), /cannot cut/);
  assert.throws(() => shardSizes(1, [1, 1]), /cannot cut/);
  const batch = Uint32Array.from({ length: 12 }, (_, i) => 100 + i);
  const shards = splitShards(batch, 2, [3, 1]);
  assert.deepEqual(
    shards.map((s) => [...s.indices]),
    [
      [100, 101, 102, 103, 104, 105, 106, 107, 108],
      [109, 110, 111],
    ],
  );
  assert.throws(() => splitShards(batch, 2, [1]), /cannot cut/);
});
