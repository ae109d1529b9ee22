// The critical batch size from steps-to-target curves (McCandlish et al. 2018): S(B) = S_min (1 + B_crit / B),
// i.e. S = a + b / B with S_min = a and B_crit = b / a, fitted by least squares in relative error (weights
// 1/S^2, so the small-batch points with many steps do not dominate), with a bootstrap interval over seeds
// and learning rates: each replicate draws every batch size's learning-rate cells with replacement and each
// drawn cell's seeds with replacement, takes the best learning rate per batch size again and refits; the
// interval is the 2.5th and 97.5th percentile of B_crit.

import { Rng } from '@dtrain/common';

export interface ScalingPoint {
  batchSize: number;
  steps: number;
}

export interface CriticalBatchFit {
  sMin: number;
  bCrit: number;
}

/** The weighted least-squares fit of S = a + b / B; null with fewer than 2 batch sizes or a curve it cannot be. */
export function fitCriticalBatch(points: readonly ScalingPoint[]): CriticalBatchFit | null {
  if (new Set(points.map((p) => p.batchSize)).size < 2) return null;
  let [sw, sx, sy, sxx, sxy] = [0, 0, 0, 0, 0];
  for (const p of points) {
    const [x, y, w] = [1 / p.batchSize, p.steps, 1 / (p.steps * p.steps)];
    sw += w;
    sx += w * x;
    sy += w * y;
    sxx += w * x * x;
    sxy += w * x * y;
  }
  const det = sw * sxx - sx * sx;
  if (!(det > 0)) return null;
  const b = (sw * sxy - sx * sy) / det;
  const a = (sy - b * sx) / sw;
  return a > 0 && b >= 0 ? { sMin: a, bCrit: b / a } : null;
}

/** One learning rate's runs at one batch size: steps to target per seed (Infinity: not reached). */
export interface LrCell {
  batchSize: number;
  lr: number;
  seedSteps: readonly number[];
}

function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The best (fewest median steps) learning rate's median per batch size, from cells (or resampled cells). */
export function bestPoints(cells: readonly LrCell[], pick: (c: LrCell) => readonly number[] = (c) => c.seedSteps) {
  const best = new Map<number, number>();
  for (const c of cells) {
    const m = medianOf(pick(c));
    if (Number.isFinite(m) && m < (best.get(c.batchSize) ?? Infinity)) best.set(c.batchSize, m);
  }
  return [...best].map(([batchSize, steps]) => ({ batchSize, steps })).sort((a, b) => a.batchSize - b.batchSize);
}

export interface CriticalBatch extends CriticalBatchFit {
  /** 95% bootstrap interval of B_crit (null when too few replicates could be fitted). */
  interval: [number, number] | null;
  points: ScalingPoint[];
}

/** The fit on the best points, with a bootstrap interval over seeds and learning rates (deterministic in `seed`). */
export function criticalBatch(cells: readonly LrCell[], replicates = 1000, seed = 1): CriticalBatch | null {
  const points = bestPoints(cells);
  const fit = fitCriticalBatch(points);
  if (!fit) return null;
  const rng = new Rng(seed);
  const resample = <T>(xs: readonly T[]): T[] => xs.map(() => xs[Math.floor(rng.next() * xs.length)]!);
  const byBatch = [...new Set(cells.map((c) => c.batchSize))].map((b) => cells.filter((c) => c.batchSize === b));
  const draws: number[] = [];
  for (let r = 0; r < replicates; r++) {
    const drawn = byBatch.flatMap((group) => resample(group).map((c) => ({ ...c, seedSteps: resample(c.seedSteps) })));
    const f = fitCriticalBatch(bestPoints(drawn));
    if (f) draws.push(f.bCrit);
  }
  draws.sort((a, b) => a - b);
  const at = (q: number) => draws[Math.min(draws.length - 1, Math.floor(q * draws.length))]!;
  const interval: [number, number] | null = draws.length >= replicates / 2 ? [at(0.025), at(0.975)] : null;
  return { ...fit, interval, points };
}
