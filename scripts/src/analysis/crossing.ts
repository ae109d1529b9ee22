// When a run reached a target: the crossing of its validation-accuracy curve, interpolated linearly between
// the last evaluation below the target and the first at or above it (an evaluation every k steps no longer
// rounds the answer up to a multiple of k), and the gradient noise scale measured around that point.

import { median } from '@dtrain/common';
import type { MetricRecord } from '@dtrain/coordinator';

export interface Curves {
  /** Validation evaluations in step order. */
  evals: readonly { step: number; accuracy: number }[];
  /** Each step's smoothed B_simple (null while it has none). */
  noise: readonly { step: number; bSimple: number | null }[];
}

/** Curves from a run's metric records (validation evaluations, and steps with their B_simple). */
export function curvesOf(records: readonly MetricRecord[]): Curves {
  const evals: { step: number; accuracy: number }[] = [];
  const noise: { step: number; bSimple: number | null }[] = [];
  for (const r of records) {
    if (r.type === 'eval' && r.split === 'val') evals.push({ step: r.step, accuracy: r.accuracy });
    if (r.type === 'step') noise.push({ step: r.step, bSimple: r.bSimple });
  }
  return { evals, noise };
}

/**
 * Where validation accuracy first reaches `target`: any quantity `of` an evaluation (its step, epoch, time)
 * interpolated linearly between the evaluation before and the first at or above it (that one's value when it is
 * the first evaluation); null when never reached.
 */
export function crossingAt<E extends { accuracy: number }>(
  evals: readonly E[],
  target: number,
  of: (e: E) => number,
): number | null {
  const i = evals.findIndex((e) => e.accuracy >= target);
  if (i < 0) return null;
  const [a, b] = [evals[i - 1], evals[i]!];
  if (!a || b.accuracy === a.accuracy) return of(b);
  return of(a) + ((target - a.accuracy) / (b.accuracy - a.accuracy)) * (of(b) - of(a));
}

/** The interpolated step at which validation accuracy first reaches `target` (null: never). */
export function crossingStep(evals: Curves['evals'], target: number): number | null {
  return crossingAt(evals, target, (e) => e.step);
}

/** The median B_simple over the steps within `window` (a fraction) of `step` (null without estimates). */
/**
 * How finely the crossing of `target` is resolved: the steps between the evaluations around it as a fraction
 * of the crossing's step (null when never crossed; 0 when crossed at the first evaluation).
 */
export function crossingResolution(evals: Curves['evals'], target: number): number | null {
  const i = evals.findIndex((e) => e.accuracy >= target);
  if (i < 0) return null;
  const step = crossingStep(evals, target)!;
  return i === 0 || step <= 0 ? 0 : (evals[i]!.step - evals[i - 1]!.step) / step;
}

export function noiseScaleNear(noise: Curves['noise'], step: number, window = 0.2): number | null {
  const near = noise
    .filter((n) => n.step >= step * (1 - window) && n.step <= step * (1 + window))
    .map((n) => n.bSimple)
    .filter((b): b is number => b !== null && Number.isFinite(b));
  return near.length ? median(near) : null;
}
