// Sharded evaluation: the chunks of one split as round tasks, and their loss/correct sums folded into
// one record (summed in chunk order).

import { encode, evalChunks, type EvalResultMsg, type EvalSplit } from '@dtrain/common';
import type { RoundTask } from './round.js';
import type { EvalRecord } from './rundir.js';

export function evalTasks(evalId: number, split: EvalSplit, n: number, chunk: number): RoundTask[] {
  return evalChunks(n, chunk).map((c) => ({
    id: c.shardId, count: c.indices.length,
    frame: encode({ kind: 'evaluate', evalId, split, shardId: c.shardId, indices: c.indices }),
  }));
}

export function evalRecord(results: Map<number, EvalResultMsg>, at: { step: number; epoch: number; split: EvalSplit; ms: number }): EvalRecord {
  const sorted = [...results.values()].sort((a, b) => a.shardId - b.shardId);
  const samples = sorted.reduce((a, r) => a + r.count, 0);
  return {
    type: 'eval', step: at.step, epoch: at.epoch, split: at.split,
    loss: sorted.reduce((a, r) => a + r.lossSum, 0) / samples, accuracy: sorted.reduce((a, r) => a + r.correct, 0) / samples,
    samples, ms: at.ms, time: Date.now(),
  };
}
