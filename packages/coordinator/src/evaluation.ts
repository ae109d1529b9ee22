// Sharded evaluation: one split's chunks as a round on the pool, and their loss/correct sums folded into
// one record: summed in chunk order whatever the arrival order, or, with a group size, along the split's
// summation tree (so neither the chunk size nor the workers change the bits).

import {
  type EvalResultMsg,
  type EvalSplit,
  evalGroupSizeOf,
  type Shard,
  type TrainConfig,
  TreeSum,
} from '@dtrain/common';
import { computeFailure, type RunPool } from './pool.js';
import type { EvalRecord } from './rundir.js';
import { evalShards, evalTasks } from './tasks.js';

type Sums = { count: number; lossSum: number; correct: number };

/** The chunks' sums: in chunk order, or along the tree when the chunks are its nodes. */
export function evalSums(results: Map<number, EvalResultMsg>, shards: readonly Shard[], groups: number): Sums {
  const sorted = [...results.values()].sort((a, b) => a.shardId - b.shardId);
  const join = (a: Sums, b: Sums): Sums => ({
    count: a.count + b.count,
    lossSum: a.lossSum + b.lossSum,
    correct: a.correct + b.correct,
  });
  if (!shards.every((s) => s.node)) return sorted.reduce(join, { count: 0, lossSum: 0, correct: 0 });
  const tree = new TreeSum<Sums>(groups, join);
  for (const r of sorted) {
    const node = shards[r.shardId]!.node!;
    tree.add(node.lo, node.hi, { count: r.count, lossSum: r.lossSum, correct: r.correct });
  }
  return tree.root();
}

export function evalRecord(sums: Sums, at: { step: number; epoch: number; split: EvalSplit; ms: number }): EvalRecord {
  return {
    type: 'eval',
    step: at.step,
    epoch: at.epoch,
    split: at.split,
    loss: sums.lossSum / sums.count,
    accuracy: sums.correct / sums.count,
    samples: sums.count,
    ms: at.ms,
    time: Date.now(),
  };
}

export interface SplitEvaluation {
  evalId: number;
  split: EvalSplit;
  /** Samples in the split. */
  size: number;
  step: number;
  epoch: number;
}

/** Evaluate one split at the weights the pool last published; null when `signal` aborted the round. */
export async function evaluateSplit(
  pool: RunPool,
  config: Pick<TrainConfig, 'evalChunk' | 'stepTimeoutMs' | 'groupSize' | 'batchSize'>,
  e: SplitEvaluation,
  signal: AbortSignal,
): Promise<EvalRecord | null> {
  const t0 = performance.now();
  const results = new Map<number, EvalResultMsg>();
  const groupSize = evalGroupSizeOf(config);
  const shards = evalShards(e.size, config.evalChunk, groupSize);
  const outcome = await pool.runRound(
    {
      kind: 'eval',
      evalId: e.evalId,
      tasks: evalTasks(e.evalId, e.split, shards, groupSize),
      timeoutMs: config.stepTimeoutMs,
      onAccepted: (_conn, result) => void results.set(result.shardId, result),
    },
    signal,
  );
  if (!outcome) return null;
  if (outcome.failed) throw computeFailure(`evaluation of ${e.split} at step ${e.step}`, outcome.failed);
  const sums = evalSums(results, shards, groupSize > 0 ? Math.ceil(e.size / groupSize) : 0);
  return evalRecord(sums, { step: e.step, epoch: e.epoch, split: e.split, ms: performance.now() - t0 });
}
