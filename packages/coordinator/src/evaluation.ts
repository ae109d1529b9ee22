// Sharded evaluation: one split's chunks as a round on the pool, and their loss/correct sums folded into
// one record (summed in chunk order, whatever the arrival order).

import type { EvalResultMsg, EvalSplit, TrainConfig } from '@dtrain/common';
import type { RunPool } from './pool.js';
import type { EvalRecord } from './rundir.js';
import { evalTasks } from './tasks.js';

export function evalRecord(
  results: Map<number, EvalResultMsg>,
  at: { step: number; epoch: number; split: EvalSplit; ms: number },
): EvalRecord {
  const sorted = [...results.values()].sort((a, b) => a.shardId - b.shardId);
  const samples = sorted.reduce((a, r) => a + r.count, 0);
  return {
    type: 'eval',
    step: at.step,
    epoch: at.epoch,
    split: at.split,
    loss: sorted.reduce((a, r) => a + r.lossSum, 0) / samples,
    accuracy: sorted.reduce((a, r) => a + r.correct, 0) / samples,
    samples,
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
  config: Pick<TrainConfig, 'evalChunk' | 'stepTimeoutMs'>,
  e: SplitEvaluation,
  signal: AbortSignal,
): Promise<EvalRecord | null> {
  const t0 = performance.now();
  const results = new Map<number, EvalResultMsg>();
  const outcome = await pool.runRound(
    {
      kind: 'eval',
      evalId: e.evalId,
      tasks: evalTasks(e.evalId, e.split, e.size, config.evalChunk),
      timeoutMs: config.stepTimeoutMs,
      onAccepted: (_conn, result) => void results.set(result.shardId, result),
    },
    signal,
  );
  if (!outcome) return null;
  return evalRecord(results, { step: e.step, epoch: e.epoch, split: e.split, ms: performance.now() - t0 });
}
