// A step's batch cut over the ready workers, and the frames a Round sends: a training step's shards as
// assignments, an evaluation's chunks.

import { cutBatch, type EvalSplit, encode, evalChunks, type Shard, type SpeedTracker } from '@dtrain/common';
import type { RoundTask } from './round.js';
import type { WorkerConn } from './server.js';

/** Cut `batch` over `ready` workers: evenly by slots, or by measured speed when `speeds` is given. */
export function cutOver(batch: Uint32Array, ready: readonly WorkerConn[], speeds: SpeedTracker | null): Shard[] {
  const slots = new Map(ready.map((w) => [w.id, w.hello?.slots ?? 1]));
  return cutBatch(
    batch,
    ready.map((w) => w.id),
    speeds,
    (id) => slots.get(id) ?? 1,
  );
}

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
