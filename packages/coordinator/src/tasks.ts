// A step's batch cut over the ready workers, and the frames a Round sends: a training step's shards as
// assignments, an evaluation's chunks. With a group size (the worker-count-invariant reduction) shards
// and chunks are nodes of the summation tree (group-tree.ts) and their frames say the group size.

import {
  cutBatch,
  cutGroups,
  type EvalSplit,
  encode,
  evalChunks,
  GroupReducer,
  groupCount,
  type Reducer,
  type Shard,
  ShardReducer,
  type SpeedTracker,
  treeCover,
} from '@dtrain/common';
import type { RoundTask } from './round.js';
import type { WorkerConn } from './server.js';

/** Cut `batch` over `ready` workers: evenly by slots, or by measured speed when `speeds` is given; in groups when `groupSize`. */
export function cutOver(
  batch: Uint32Array,
  ready: readonly WorkerConn[],
  speeds: SpeedTracker | null,
  groupSize = 0,
): Shard[] {
  const slots = new Map(ready.map((w) => [w.id, w.hello?.slots ?? 1]));
  const ids = ready.map((w) => w.id);
  const slotsOf = (id: number) => slots.get(id) ?? 1;
  return groupSize > 0 ? cutGroups(batch, groupSize, ids, speeds, slotsOf) : cutBatch(batch, ids, speeds, slotsOf);
}

/** The step's reduction into `out`: along the groups' tree, or in shard order. */
export function stepReducer(
  out: Float32Array,
  shards: readonly Shard[],
  samples: number,
  groupSize: number,
  trainable = out.length,
): Reducer {
  if (groupSize <= 0) return new ShardReducer(out, shards.length, trainable);
  const nodes = shards.map((s) => s.node!);
  return new GroupReducer(out, nodes, samples, groupSize, trainable);
}

export function stepTasks(
  shards: readonly Shard[],
  step: number,
  version: number,
  epoch: number,
  groupSize = 0,
  flush = false,
  /** Sharded summation: the step's tree has this many groups, and each task says its node in it. */
  groups = 0,
): RoundTask[] {
  return shards.map((s) => ({
    id: s.shardId,
    count: s.indices.length,
    ...(s.owner !== undefined ? { owner: s.owner } : {}),
    frame: encode({
      kind: 'assign',
      step,
      version,
      epoch,
      shardId: s.shardId,
      indices: s.indices.slice(),
      ...(groupSize > 0 ? { groupSize } : {}),
      ...(flush ? { flush } : {}),
      ...(groups > 0 && s.node ? { node: { lo: s.node.lo, hi: s.node.hi, groups } } : {}),
    }),
  }));
}

/**
 * An evaluation's chunks: of `chunk` samples; with a group size, the nodes of the split's summation tree
 * that cover ranges of chunk / groupSize groups (so the chunk size does not change the bits).
 */
export function evalShards(n: number, chunk: number, groupSize = 0): Shard[] {
  if (groupSize <= 0) return evalChunks(n, chunk);
  const groups = groupCount(n, groupSize);
  const per = Math.max(1, Math.floor(chunk / groupSize));
  const nodes: [number, number][] = [];
  for (let lo = 0; lo < groups; lo += per) nodes.push(...treeCover(groups, lo, Math.min(groups, lo + per)));
  return nodes.map(([lo, hi], shardId) => {
    const [start, end] = [lo * groupSize, Math.min(n, hi * groupSize)];
    return { shardId, node: { lo, hi }, indices: Uint32Array.from({ length: end - start }, (_, i) => start + i) };
  });
}

export function evalTasks(evalId: number, split: EvalSplit, shards: readonly Shard[], groupSize = 0): RoundTask[] {
  return shards.map((c) => ({
    id: c.shardId,
    count: c.indices.length,
    frame: encode({
      kind: 'evaluate',
      evalId,
      split,
      shardId: c.shardId,
      indices: c.indices,
      ...(groupSize > 0 ? { groupSize } : {}),
    }),
  }));
}
