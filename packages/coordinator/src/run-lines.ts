// The lines run.log gets at a run's start and end (what it was asked to do; how it ended, with its result),
// and at each evaluation.
// The console shows the same facts its own way (console/progress.ts); an error is logged where it happens.

import { describeOptimizer, groupSizeOf, type TrainConfig } from '@dtrain/common';
import type { EvalRecord } from './rundir.js';
import type { RunSummary } from './summary.js';

export function startLine(
  runId: string,
  c: TrainConfig,
  totalSteps: number,
  resumedFrom: string | null,
  step: number,
): string {
  const g = groupSizeOf(c);
  const what =
    `${c.model} on ${c.dataset.name}, batch ${c.batchSize}${g > 0 ? ` in groups of ${g}` : ''}, ` +
    `${totalSteps} steps, ${describeOptimizer(c.optimizer)}, lr ${c.lr}, seed ${c.seed}`;
  return resumedFrom
    ? `run ${runId} resumed at step ${step} from ${resumedFrom}: ${what}`
    : `run ${runId} started: ${what}`;
}

export function endLine(s: RunSummary): string {
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
  const how = `run ${s.status}${s.stopReason ? ` (${s.stopReason})` : ''} at step ${s.steps}`; // an error has its own line
  return `${how}; final val accuracy ${pct(s.final.val?.accuracy)}, test accuracy ${pct(s.final.test?.accuracy)}`;
}

export function evaluationLine(r: Pick<EvalRecord, 'split' | 'step' | 'loss' | 'accuracy'>): string {
  return `evaluation (${r.split}) at step ${r.step}: loss ${r.loss.toFixed(4)}, accuracy ${(r.accuracy * 100).toFixed(2)}%`;
}
