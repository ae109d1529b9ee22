// A study's answers per optimizer and target: steps to the target by interpolated crossing, the fitted
// critical batch size with its bootstrap interval, and the measured noise scale around the crossing of
// the best runs (McCandlish et al. 2018 predict B_crit ~ B_simple).

import { median } from '@dtrain/common';
import { criticalBatch, type LrCell } from './critical-batch.js';
import { type Curves, crossingStep, noiseScaleNear } from './crossing.js';

export interface StudyRun {
  /** Everything but batch size, learning rate and seed (best.ts optimizerKey). */
  optimizer: string;
  batchSize: number;
  lr: number;
  curves: Curves;
}

export interface CriticalRow {
  optimizer: string;
  target: number;
  batchSizes: string;
  sMin: number | null;
  bCrit: number | null;
  bCritLow: number | null;
  bCritHigh: number | null;
  /** Median B_simple near the crossing over the best cells' runs. */
  bSimpleNearTarget: number | null;
}

const round = (x: number | null | undefined, digits = 3) => (x == null ? null : Number(x.toPrecision(digits)));

/** One row per optimizer x target. */
export function criticalBatchRows(
  runs: readonly StudyRun[],
  targets: readonly number[],
  replicates = 1000,
): CriticalRow[] {
  const rows: CriticalRow[] = [];
  for (const optimizer of [...new Set(runs.map((r) => r.optimizer))].sort()) {
    const mine = runs.filter((r) => r.optimizer === optimizer);
    for (const target of targets) {
      const cells = new Map<string, LrCell & { runs: StudyRun[] }>();
      for (const r of mine) {
        const key = `${r.batchSize}|${r.lr}`;
        const cell = cells.get(key) ?? { batchSize: r.batchSize, lr: r.lr, seedSteps: [], runs: [] };
        cell.seedSteps = [...cell.seedSteps, crossingStep(r.curves.evals, target) ?? Infinity];
        cell.runs.push(r);
        cells.set(key, cell);
      }
      const fit = criticalBatch([...cells.values()], replicates);
      rows.push({
        optimizer,
        target,
        batchSizes: fit ? fit.points.map((p) => p.batchSize).join(' ') : 'fewer than 2 batch sizes reached the target',
        sMin: round(fit?.sMin),
        bCrit: round(fit?.bCrit),
        bCritLow: round(fit?.interval?.[0]),
        bCritHigh: round(fit?.interval?.[1]),
        bSimpleNearTarget: round(noiseNearBest([...cells.values()], target)),
      });
    }
  }
  return rows;
}

/** The median, over the runs of each batch size's best cell, of B_simple around their crossing. */
function noiseNearBest(cells: readonly (LrCell & { runs: StudyRun[] })[], target: number): number | null {
  const best = new Map<number, LrCell & { runs: StudyRun[] }>();
  for (const c of cells) {
    const m = median([...c.seedSteps]);
    const b = best.get(c.batchSize);
    if (Number.isFinite(m) && (!b || m < median([...b.seedSteps]))) best.set(c.batchSize, c);
  }
  const near = [...best.values()].flatMap((c) =>
    c.runs.flatMap((r) => {
      const s = crossingStep(r.curves.evals, target);
      const n = s === null ? null : noiseScaleNear(r.curves.noise, s);
      return n === null ? [] : [n];
    }),
  );
  return near.length ? median(near) : null;
}
