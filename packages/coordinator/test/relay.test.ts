import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AssignMsg, decode, type GradientMsg, parseCoordinatorMsg } from '@dtrain/common';
import { subTasks, sumInOrder } from '../src/relay.js';

const assign: AssignMsg = {
  kind: 'assign',
  step: 4,
  version: 3,
  epoch: 0,
  shardId: 2,
  indices: Uint32Array.from([9, 8, 7, 6, 5]),
};

test('a shard is cut over the local workers in id order, contiguous, as the coordinator cuts a batch', () => {
  const { tasks } = subTasks(assign, [7, 3]);
  const sent = tasks.map(
    (t) => parseCoordinatorMsg(decode(t.frame, 1 << 20), { paramCount: 1, trainSize: 100, evalSize: 100 }) as AssignMsg,
  );
  assert.deepEqual(
    sent.map((m) => [...m.indices]),
    [
      [9, 8, 7],
      [6, 5],
    ],
  );
  assert.deepEqual(
    sent.map((m) => [m.step, m.version, m.shardId]),
    [
      [4, 3, 0],
      [4, 3, 1],
    ],
  );
});

test('local sums are added in sub-shard order whatever order they arrived in', () => {
  const g = (shardId: number, v: number[], count: number): GradientMsg => ({
    kind: 'gradient',
    step: 4,
    version: 3,
    shardId,
    count,
    lossSum: count,
    correct: 1,
    computeMs: shardId + 1,
    grad: Float32Array.from(v),
  });
  const parts = new Map([
    [1, g(1, [1e8, 1], 2)],
    [0, g(0, [1, -1e8], 3)],
  ]);
  const up = sumInOrder(parts, assign, 2);
  // (0 + 1) + 1e8 = 1e8 and (0 - 1e8) + 1 = -1e8 + 1 in float32: the order is shard 0 then 1
  assert.deepEqual([...up.grad], [Math.fround(Math.fround(0 + 1) + 1e8), Math.fround(Math.fround(0 - 1e8) + 1)]);
  assert.deepEqual([up.shardId, up.step, up.count, up.lossSum, up.correct, up.computeMs], [2, 4, 5, 5, 2, 2]);
});
