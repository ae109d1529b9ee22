import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AssignMsg,
  decode,
  type EvaluateMsg,
  GroupReducer,
  parseCoordinatorMsg,
  ShardReducer,
} from '@dtrain/common';
import { evalShards, evalTasks, stepReducer, stepTasks } from '../src/tasks.js';

const ctx = { paramCount: 1, trainSize: 10_000, evalSize: 10_000 };

test('grouped evaluation chunks are the tree nodes covering chunk-sized ranges of groups, every sample once', () => {
  const shards = evalShards(100, 40, 16); // 7 groups; ranges of 2 groups
  assert.deepEqual(
    shards.map((s) => [s.node!.lo, s.node!.hi, s.indices.length]),
    [
      [0, 2, 32],
      [2, 4, 32],
      [4, 6, 32],
      [6, 7, 4],
    ],
  );
  assert.deepEqual([...shards.flatMap((s) => [...s.indices])], [...Array(100).keys()]);
  assert.equal(evalShards(100, 8, 16)[0]!.indices.length, 16, 'a chunk smaller than a group is one group');
  assert.deepEqual(
    evalShards(100, 40).map((s) => s.indices.length),
    [40, 40, 20],
    'without groups: plain chunks',
  );
  const sent = evalTasks(3, 'val', shards, 16).map(
    (t) => parseCoordinatorMsg(decode(t.frame, 1 << 20), ctx) as EvaluateMsg,
  );
  assert.deepEqual(
    sent.map((m) => [m.shardId, m.groupSize, m.split]),
    [
      [0, 16, 'val'],
      [1, 16, 'val'],
      [2, 16, 'val'],
      [3, 16, 'val'],
    ],
  );
});

test('grouped step tasks say their group size and owner; the reducer follows the mode', () => {
  const shards = [
    { shardId: 0, owner: 0, node: { lo: 0, hi: 2 }, indices: Uint32Array.from([1, 2, 3, 4]) },
    { shardId: 1, owner: 1, node: { lo: 2, hi: 3 }, indices: Uint32Array.from([5, 6]) },
  ];
  const tasks = stepTasks(shards, 4, 3, 0, 2);
  assert.deepEqual(
    tasks.map((t) => [t.id, t.owner, t.count]),
    [
      [0, 0, 4],
      [1, 1, 2],
    ],
  );
  const m = parseCoordinatorMsg(decode(tasks[1]!.frame, 1 << 20), ctx) as AssignMsg;
  assert.equal(m.groupSize, 2);
  assert.equal(
    (parseCoordinatorMsg(decode(stepTasks(shards, 4, 3, 0)[0]!.frame, 1 << 20), ctx) as AssignMsg).groupSize,
    undefined,
  );
  assert.ok(stepReducer(new Float32Array(1), shards, 6, 2) instanceof GroupReducer);
  assert.ok(stepReducer(new Float32Array(1), shards, 6, 0) instanceof ShardReducer);
});
