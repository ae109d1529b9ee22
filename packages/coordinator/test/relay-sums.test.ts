import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AssignMsg, decode, type GradientMsg, parseCoordinatorMsg } from '@dtrain/common';
import { subTasks, sumAlongTree, sumInOrder } from '../src/relay-sums.js';

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

test('a tree node is cut over the local workers as the nodes of its own tree, and joined back along it', () => {
  const node: AssignMsg = { ...assign, indices: Uint32Array.from({ length: 10 }, (_, i) => 50 + i), groupSize: 2 };
  const { tasks, shards } = subTasks(node, [5, 8]); // 5 groups: [0, 3) and [3, 5) as nodes of the tree over 5
  const sent = tasks.map(
    (t) => parseCoordinatorMsg(decode(t.frame, 1 << 20), { paramCount: 1, trainSize: 100, evalSize: 100 }) as AssignMsg,
  );
  assert.deepEqual(
    sent.map((m) => [m.shardId, m.groupSize, [...m.indices]]),
    [
      [0, 2, [50, 51, 52, 53]],
      [1, 2, [54, 55]],
      [2, 2, [56, 57]],
      [3, 2, [58, 59]],
    ],
  );
  assert.deepEqual(
    tasks.map((t) => t.owner),
    [0, 0, 1, 1],
  );
  const part = (shardId: number, v: number, count: number): GradientMsg => ({
    kind: 'gradient',
    step: 4,
    version: 3,
    shardId,
    count,
    lossSum: v,
    correct: 1,
    computeMs: 1,
    grad: Float32Array.of(v),
    meanSqSum: 1,
  });
  const parts = new Map([
    [3, part(3, 0.5, 2)],
    [1, part(1, -1e8, 2)],
    [0, part(0, 1e8, 4)],
    [2, part(2, 1, 2)],
  ]);
  const up = sumAlongTree(parts, shards, node);
  // the tree over 5 groups is ([0, 2) + ([2, 3) + [3, 4))) + [4, 5): (1e8 + (-1e8 + 1)) + 0.5 = 0.5 in float32,
  // where left to right would give 1.5
  assert.deepEqual([up.count, up.correct, up.meanSqSum, up.shardId], [10, 4, 4, 2]);
  assert.deepEqual([...up.grad], [0.5]);
});
