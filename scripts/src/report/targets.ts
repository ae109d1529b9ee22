// Steps to each of several targets from the same runs (issue 28; `dtrain report --sweep --targets`): for every
// target, the best learning rate per batch size and optimizer by that target's crossing (interpolated between
// evaluations, crossing.ts), with the median and the range over seeds, as rows a paper could print.

import { crossingStep } from '../analysis/crossing.js';
import {
  aggregateSeeds,
  type Best,
  baseLr,
  bestPerBatch,
  type PlannedCell,
  plainOptimizer,
  withPlanned,
} from '../experiment/best.js';
import type { RunOutcome } from '../experiment/run-plan.js';

/** The outcomes with their steps (and examples) to `target` in place of the sweep's own target. */
export function retargeted(outcomes: readonly RunOutcome[], target: number): RunOutcome[] {
  return outcomes.map((o) => {
    const steps = crossingStep(o.curves.evals, target);
    return { ...o, stepsToTarget: steps, examplesToTarget: steps === null ? null : steps * o.batchSize };
  });
}

/** The best learning rate per batch size and optimizer by steps to `target` (planned cells no run covered kept). */
export function bestAt(outcomes: readonly RunOutcome[], target: number, planned: readonly PlannedCell[] = []): Best[] {
  return withPlanned(bestPerBatch(aggregateSeeds(retargeted(outcomes, target))), planned);
}

const steps = (x: number | null | undefined): number | null => (x == null ? null : Math.round(x * 10) / 10);

/** One row per target x optimizer x batch size: the best base lr, steps to the target (median, min, max over seeds). */
export function targetRows(
  outcomes: readonly RunOutcome[],
  targets: readonly number[],
  planned: readonly PlannedCell[] = [],
): Record<string, unknown>[] {
  return targets.flatMap((target) => {
    const best = bestAt(outcomes, target, planned);
    const keys = [...new Set(best.map((b) => b.optimizer))];
    return best.map((b) => ({
      target,
      optimizer: plainOptimizer(b.optimizer, keys),
      batchSize: b.batchSize,
      bestBaseLr: b.cell ? baseLr(b.cell) : null,
      stepsMedian: b.cell ? steps(b.cell.steps.median) : b.notRun ? 'not run (budget)' : 'not reached',
      stepsMin: steps(b.cell?.steps.min),
      stepsMax: steps(b.cell?.steps.max),
      seedsReached: b.cell ? `${b.cell.steps.reached}/${b.cell.runs.length}` : '0',
      lrEdge: b.atEdge ?? '',
    }));
  });
}
