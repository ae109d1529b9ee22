// Sharded evaluation: the chunks' loss/correct sums folded into one record (summed in chunk order).

import type { EvalResultMsg, EvalSplit } from '@dtrain/common';
import type { EvalRecord } from './rundir.js';

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
