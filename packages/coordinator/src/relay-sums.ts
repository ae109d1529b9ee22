// The relay's sums, pure: a shard cut over the host's local workers, their gradients summed into the
// host's one gradient (along the tree, or in sub-shard order), an evaluation chunk cut over them.

import {
  type AssignMsg,
  cutBatch,
  cutGroups,
  type EvaluateMsg,
  evalChunks,
  type GradientMsg,
  joinSums,
  type NodeSums,
  type Shard,
  TreeSum,
} from '@dtrain/common';
import type { RoundTask } from './round.js';
import { stepTasks } from './tasks.js';

/**
 * A shard's indices cut over the relay's ready local workers: one assignment frame each; a node of the
 * invariant reduction's tree as the nodes of its own tree that cover each worker's range of its groups.
 */
export function subTasks(msg: AssignMsg, workerIds: readonly number[]): { tasks: RoundTask[]; shards: Shard[] } {
  const g = msg.groupSize ?? 0;
  const shards = g > 0 ? cutGroups(msg.indices, g, workerIds, null) : cutBatch(msg.indices, workerIds, null);
  return { tasks: stepTasks(shards, msg.step, msg.version, msg.epoch, g), shards };
}

/** The local nodes' sums joined along the task's tree: the relay's one gradient for its node. */
export function sumAlongTree(
  parts: ReadonlyMap<number, GradientMsg>,
  shards: readonly Shard[],
  up: Pick<AssignMsg, 'step' | 'version' | 'shardId'>,
): GradientMsg {
  const tree = new TreeSum<NodeSums>(Math.max(...shards.map((s) => s.node!.hi)), joinSums);
  let computeMs = 0;
  for (const [id, g] of parts) {
    const { count, lossSum, correct, grad } = g;
    tree.add(shards[id]!.node!.lo, shards[id]!.node!.hi, {
      count,
      lossSum,
      correct,
      grad,
      meanSqSum: g.meanSqSum ?? 0,
    });
    computeMs = Math.max(computeMs, g.computeMs);
  }
  return upward(up, { ...tree.root(), computeMs });
}

/** The relay's one gradient message for the shard it was given. */
function upward(
  up: Pick<AssignMsg, 'step' | 'version' | 'shardId'>,
  sums: Pick<GradientMsg, 'count' | 'lossSum' | 'correct' | 'computeMs' | 'grad' | 'meanSqSum'>,
): GradientMsg {
  return { kind: 'gradient', step: up.step, version: up.version, shardId: up.shardId, ...sums };
}

/** The local gradient sums added in sub-shard order: the relay's one gradient for its shard. */
export function sumInOrder(
  parts: ReadonlyMap<number, GradientMsg>,
  up: Pick<AssignMsg, 'step' | 'version' | 'shardId'>,
  n: number,
): GradientMsg {
  const grad = new Float32Array(n);
  let count = 0;
  let lossSum = 0;
  let correct = 0;
  let computeMs = 0;
  for (const id of [...parts.keys()].sort((a, b) => a - b)) {
    const g = parts.get(id)!;
    for (let i = 0; i < n; i++) grad[i] = grad[i]! + g.grad[i]!;
    count += g.count;
    lossSum += g.lossSum;
    correct += g.correct;
    computeMs = Math.max(computeMs, g.computeMs);
  }
  return upward(up, { count, lossSum, correct, computeMs, grad });
}

/** An evaluation chunk cut over the local workers: even parts, or the nodes of its groups' tree. */
export function evalSubShards(msg: EvaluateMsg, workerIds: readonly number[]): Shard[] {
  if (msg.groupSize) return cutGroups(msg.indices, msg.groupSize, workerIds, null);
  const chunk = Math.ceil(msg.indices.length / Math.max(1, workerIds.length));
  return evalChunks(msg.indices.length, chunk).map((c) => ({ ...c, indices: c.indices.map((i) => msg.indices[i]!) }));
}
