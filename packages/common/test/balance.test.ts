import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutBatch, cutGroups, SpeedTracker } from '@dtrain/common';

const batch = Uint32Array.from({ length: 128 }, (_, i) => i);
const sizes = (ids: number[], speeds: SpeedTracker | null) => cutBatch(batch, ids, speeds).map((s) => s.indices.length);

test('even cut until every live worker has been measured, then in proportion to speed', () => {
  const speeds = new SpeedTracker();
  assert.deepEqual(sizes([7, 3], speeds), [64, 64]);
  speeds.observe(3, 50, 64); // worker 3: 0.78 ms per sample
  assert.deepEqual(sizes([7, 3], speeds), [64, 64], 'worker 7 not measured yet');
  speeds.observe(7, 100, 64); // worker 7 twice as slow
  assert.deepEqual(sizes([7, 3], speeds), [85, 43], 'shard 0 goes to the lower id (3), the faster one');
  assert.deepEqual(sizes([7, 3], null), [64, 64], '--balance even ignores speeds');
  speeds.forget(7);
  assert.deepEqual(sizes([7, 3], speeds), [64, 64]);
});

test('the estimate follows a change of speed within a few steps, and the skew is bounded', () => {
  const speeds = new SpeedTracker(0.5, 4);
  speeds.observe(0, 64, 64);
  speeds.observe(1, 64, 64);
  for (let i = 0; i < 3; i++) {
    speeds.observe(0, 96, 64); // worker 0 became 1.5x slower
    speeds.observe(1, 64, 64);
  }
  const [a, b] = speeds.weights([0, 1])!;
  assert.ok(b! / a! > 1.4 && b! / a! < 1.5, `ratio ${b! / a!}`);
  speeds.observe(0, 64_000, 64); // one pathological step
  const [c, d] = speeds.weights([0, 1])!;
  assert.equal(d! / c!, 4);
  speeds.observe(2, 0, 64); // nonsense measurements are ignored
  assert.equal(speeds.weights([2]), null);
});

test('a connection with k workers behind it (a relay) takes k shares of an even cut; measured speeds take over', () => {
  const slots = new Map([
    [1, 1],
    [2, 3],
    [5, 1],
  ]);
  const bySlots = (ids: number[], speeds: SpeedTracker | null) =>
    cutBatch(batch, ids, speeds, (id) => slots.get(id)!).map((s) => s.indices.length);
  assert.deepEqual(bySlots([5, 2, 1], null), [26, 77, 25], 'ids 1, 2, 5 in shard order: 1 : 3 : 1 of 128');
  assert.deepEqual(bySlots([5, 1], null), [64, 64], 'no relay among them: even');
  assert.deepEqual(
    cutBatch(batch.subarray(0, 2), [5, 2, 1], null, (id) => slots.get(id)!).map((s) => s.indices.length),
    [1, 1],
    'fewer samples than connections: one each',
  );
  const speeds = new SpeedTracker();
  for (const id of [1, 2, 5]) speeds.observe(id, 64, 64);
  assert.deepEqual(bySlots([5, 2, 1], speeds), [43, 43, 42], 'once measured, speed decides');
});

test('cutGroups: whole groups per worker in proportion, each range as its tree nodes, owners by rank', () => {
  const b = Uint32Array.from({ length: 100 }, (_, i) => 1000 + i); // 7 groups of 16 (the last of 4)
  const shards = cutGroups(b, 16, [9, 4, 6], null);
  assert.deepEqual(
    shards.map((s) => [s.owner, s.node!.lo, s.node!.hi, s.indices.length]),
    [
      [0, 0, 2, 32],
      [0, 2, 3, 16],
      [1, 3, 4, 16],
      [1, 4, 5, 16],
      [2, 5, 6, 16],
      [2, 6, 7, 4],
    ],
  );
  assert.deepEqual(
    shards.map((s) => s.shardId),
    [0, 1, 2, 3, 4, 5],
  );
  assert.deepEqual([...shards.flatMap((s) => [...s.indices])], [...b], 'every sample once, in batch order');
  const idle = cutGroups(b.subarray(0, 32), 16, [1, 2, 3], null);
  assert.deepEqual(
    idle.map((s) => s.owner),
    [0, 1],
    'more workers than groups: the last one idles',
  );
  const slots = cutGroups(b.subarray(0, 64), 16, [1, 2], null, (id) => (id === 2 ? 3 : 1));
  assert.deepEqual(
    slots.map((s) => [s.owner, s.node!.lo, s.node!.hi]),
    [
      [0, 0, 1],
      [1, 1, 2],
      [1, 2, 4],
    ],
  );
});
