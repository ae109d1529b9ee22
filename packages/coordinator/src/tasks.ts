// The frames a Round sends: a training step's shards as assignments, an evaluation's chunks.

import { type EvalSplit, encode, evalChunks, type Shard } from '@dtrain/common';
import type { RoundTask } from './round.js';

export function stepTasks(shards: readonly Shard[], step: number, version: number, epoch: number): RoundTask[] {
  return shards.map((s) => ({
    id: s.shardId,
    count: s.indices.length,
    frame: encode({ kind: 'assign', step, version, epoch, shardId: s.shardId, indices: s.indices.slice() }),
  }));
}

export function evalTasks(evalId: number, split: EvalSplit, n: number, chunk: number): RoundTask[] {
  return evalChunks(n, chunk).map((c) => ({
    id: c.shardId,
    count: c.indices.length,
    frame: encode({ kind: 'evaluate', evalId, split, shardId: c.shardId, indices: c.indices }),
  }));
}
