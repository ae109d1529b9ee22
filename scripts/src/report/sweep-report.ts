// The sweep report, read the way Shallue et al. (2019) present batch-size scaling: for every batch size x
// optimizer the best learning rate of the grid (best.ts), steps to target on log-log axes with ticks at
// the batch sizes run, one connected line per optimizer, the seeds' range as error bars, the
// perfect-scaling line from the smallest batch, points that never reached the target marked as such,
// and the measured gradient noise scale B_simple on the same batch-size axis. Then the best learning
// rate vs batch size with linear and square-root reference lines.

import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { median } from '@dtrain/common';
import { crossingResolution } from '../analysis/crossing.js';
import { criticalBatchRows, type StudyRun } from '../analysis/study.js';
import {
  aggregateSeeds,
  type Best,
  baseLr,
  bestPerBatch,
  optimizerKey,
  type PlannedCell,
  peakLr,
  plainOptimizer,
  withPlanned,
} from '../experiment/best.js';
import type { RunOutcome } from '../experiment/run-plan.js';
import { type ChartSpec, htmlPage, htmlTable, type Point, type Series, toCsv } from './run-report.js';
import { bestAt, targetRows } from './targets.js';

const sorted = (xs: Iterable<number>): number[] => [...new Set(xs)].sort((a, b) => a - b);

/** Vertical segments [(x, lo), (x, hi), gap] for every point with a range. */
function errorBars(points: { x: number; lo: number | null; hi: number | null }[]): Point[] {
  return points
    .filter((p) => p.lo !== null && p.hi !== null && p.hi > p.lo)
    .flatMap((p) => [
      { x: p.x, y: p.lo },
      { x: p.x, y: p.hi },
      { x: p.x, y: null },
    ]);
}

/** Each optimizer key's plain name in this sweep (best.ts plainOptimizer). */
function namer(best: readonly Best[]): (key: string) => string {
  const keys = [...new Set(best.map((b) => b.optimizer))];
  return (key) => plainOptimizer(key, keys);
}

/** Points of optimizer i of n moved a few percent apart on the log batch axis, so equal batches do not overlap. */
const dodge = (i: number, n: number) => (x: number) => x * 1.05 ** (i - (n - 1) / 2);

/** The measured B_simple: median over the best runs of their late-training medians. */
export function measuredNoiseScale(best: readonly Best[]): number | null {
  const values = best
    .flatMap((b) => b.cell?.runs ?? [])
    .map((r) => r.bSimple)
    .filter((v): v is number => v !== null);
  return values.length ? median(values) : null;
}

/** One optimizer's series of the steps chart: its best points, seed ranges, perfect scaling, misses (at `top`). */
function optimizerSteps(
  mine: Best[],
  label: string,
  color: number,
  at: (x: number) => number,
  batches: number[],
  top: number,
) {
  const reached = mine.filter((b) => b.cell !== null);
  const first = reached[0];
  const out: Series[] = [
    { label, color, points: true, data: reached.map((b) => ({ x: at(b.batchSize), y: b.cell!.steps.median })) },
  ];
  const bars = errorBars(reached.map((b) => ({ x: at(b.batchSize), lo: b.cell!.steps.min, hi: b.cell!.steps.max })));
  if (bars.length) out.push({ label: `${label}: range over seeds`, color, data: bars });
  if (first)
    out.push({
      label: `${label}: perfect scaling`,
      color,
      dashed: true,
      data: batches
        .filter((b) => b >= first.batchSize)
        .map((b) => ({ x: b, y: (first.cell!.steps.median! * first.batchSize) / b })),
    });
  const missed = mine.filter((b) => b.cell === null && !b.notRun);
  if (missed.length)
    out.push({
      label: `${label}: target not reached`,
      color,
      noLine: true,
      pointStyle: 'crossRot',
      data: missed.map((b) => ({ x: at(b.batchSize), y: top })),
    });
  const notRun = mine.filter((b) => b.notRun);
  if (notRun.length)
    out.push({
      label: `${label}: planned, not run (budget)`,
      color,
      noLine: true,
      pointStyle: 'rect',
      data: notRun.map((b) => ({ x: at(b.batchSize), y: top })),
    });
  return out;
}

function stepsChart(
  best: Best[],
  batches: number[],
  bSimple: number | null,
  target: number,
  first: boolean,
): ChartSpec {
  const optimizers = [...new Set(best.map((b) => b.optimizer))];
  const reachedSteps = best.flatMap((b) =>
    b.cell?.steps.max !== null && b.cell ? [b.cell.steps.max ?? b.cell.steps.median!] : [],
  );
  const top = Math.max(1, ...reachedSteps) * 2; // where "never reached" markers sit
  const low = Math.max(1, Math.min(...reachedSteps, top) / 2);
  const name = namer(best);
  const series: Series[] = optimizers.flatMap((opt, color) =>
    optimizerSteps(
      best.filter((b) => b.optimizer === opt),
      name(opt),
      color,
      dodge(color, optimizers.length),
      batches,
      top,
    ),
  );
  if (bSimple !== null)
    series.push({
      label: `B_simple measured (${Math.round(bSimple)})`,
      color: 7,
      dashed: true,
      data: [
        { x: bSimple, y: low },
        { x: bSimple, y: top },
      ],
    });
  const pct = `${Number((target * 100).toPrecision(4))}%`;
  return {
    id: first ? 'steps' : `steps-${pct.replace('%', 'pct')}`,
    title: `Steps to ${pct} validation accuracy vs batch size (best learning rate per point, crossings interpolated)`,
    x: 'batch size',
    y: `steps to ${pct}`,
    logX: true,
    logY: true,
    ticksAt: batches,
    series,
  };
}

function lrChart(best: Best[], batches: number[]): ChartSpec {
  const optimizers = [...new Set(best.map((b) => b.optimizer))];
  const name = namer(best);
  const series: Series[] = optimizers.map((opt, color) => ({
    label: name(opt),
    color,
    points: true,
    data: best
      .filter((b) => b.optimizer === opt && b.cell)
      .map((b) => ({ x: dodge(color, optimizers.length)(b.batchSize), y: b.cell!.lr })),
  }));
  const ref = best.find((b) => b.cell);
  if (ref) {
    const from = batches.filter((b) => b >= ref.batchSize);
    series.push({
      label: 'linear scaling (lr ∝ B)',
      color: 7,
      dashed: true,
      data: from.map((b) => ({ x: b, y: (ref.cell!.lr * b) / ref.batchSize })),
    });
    series.push({
      label: 'square-root scaling (lr ∝ √B)',
      color: 8,
      dashed: true,
      data: from.map((b) => ({ x: b, y: ref.cell!.lr * Math.sqrt(b / ref.batchSize) })),
    });
  }
  return {
    id: 'lr',
    title: 'Best learning rate vs batch size',
    x: 'batch size',
    y: 'peak learning rate (after --lr-scaling)',
    logX: true,
    logY: true,
    ticksAt: batches,
    series,
  };
}

function accuracyChart(best: Best[], batches: number[]): ChartSpec {
  const optimizers = [...new Set(best.map((b) => b.optimizer))];
  const name = namer(best);
  return {
    id: 'acc',
    title: 'Final test accuracy of the best runs vs batch size',
    x: 'batch size',
    y: 'test accuracy',
    logX: true,
    ticksAt: batches,
    series: optimizers.flatMap((opt, color) => {
      const mine = best.filter((b) => b.optimizer === opt && b.cell);
      const at = dodge(color, optimizers.length);
      return [
        {
          label: name(opt),
          color,
          points: true,
          data: mine.map((b) => ({ x: at(b.batchSize), y: b.cell!.finalAccuracy.median })),
        },
        {
          label: `${name(opt)}: range over seeds`,
          color,
          data: errorBars(
            mine.map((b) => ({ x: at(b.batchSize), lo: b.cell!.finalAccuracy.min, hi: b.cell!.finalAccuracy.max })),
          ),
        },
      ];
    }),
  };
}

/**
 * The charts of a sweep report, from its outcomes (and the cells its plan has that no run covers): steps to
 * each target (the sweep's own first), the best learning rates, and the final accuracy unless every run
 * stopped at its target (then that panel would show only where each run stopped).
 */
export function sweepCharts(
  outcomes: readonly RunOutcome[],
  target: number,
  planned: readonly PlannedCell[] = [],
  targets: readonly number[] = [target],
): ChartSpec[] {
  const best = withPlanned(bestPerBatch(aggregateSeeds(outcomes)), planned);
  const batches = sorted([...outcomes.map((o) => o.batchSize), ...planned.map((p) => p.batchSize)]);
  const bSimple = measuredNoiseScale(best);
  const charts = [stepsChart(best, batches, bSimple, target, true)];
  for (const t of targets.filter((x) => x !== target))
    charts.push(stepsChart(bestAt(outcomes, t, planned), batches, bSimple, t, false));
  charts.push(lrChart(best, batches));
  if (!outcomes.every((o) => (o.summary.config.stopAtValAccuracy ?? 0) > 0)) charts.push(accuracyChart(best, batches));
  return charts;
}

/** One row per batch size x optimizer: the best learning rate and what it achieved. */
export function bestRows(best: readonly Best[], dir: string): Record<string, unknown>[] {
  const name = namer(best);
  return best.map((b) => ({
    batchSize: b.batchSize,
    optimizer: name(b.optimizer),
    bestPeakLr: b.cell?.lr ?? null,
    bestBaseLr: b.cell ? baseLr(b.cell) : null,
    stepsToTarget: b.cell?.steps.median ?? (b.notRun ? 'not run (budget)' : 'not reached'),
    stepsMin: b.cell?.steps.min ?? null,
    stepsMax: b.cell?.steps.max ?? null,
    seedsReached: b.cell ? `${b.cell.steps.reached}/${b.cell.runs.length}` : '0',
    finalTestAccuracy: b.cell?.finalAccuracy.median ?? null,
    bSimple: b.cell ? measuredNoiseScale([b]) : null,
    lrsTried: b.lrsTried.join(' '),
    gridEdge: b.atEdge ? `best at the ${b.atEdge} end: widen the grid` : '',
    runs: b.cell
      ? {
          href: `${relative(dir, b.cell.runs[0]!.dir)}/report.html`,
          text: `${b.cell.runs[0]!.name.replace(/-s\d+$/, '')} (${b.cell.runs.length} seed${b.cell.runs.length > 1 ? 's' : ''})`,
        }
      : '',
  }));
}

export function sweepRow(o: RunOutcome, dir: string, target: number): Record<string, unknown> {
  const s = o.summary;
  return {
    run: { href: `${relative(dir, o.dir)}/report.html`, text: o.name },
    ...o.labels,
    optimizerKey: optimizerKey(o),
    batchSize: o.batchSize,
    status: s.status,
    finalTestAccuracy: s.final.test?.accuracy ?? null,
    bestValAccuracy: o.bestValAccuracy,
    stepsToTarget: o.stepsToTarget,
    crossingResolution: crossingResolution(o.curves.evals, target),
    examplesToTarget: o.examplesToTarget,
    epochsToTarget: o.epochsToTarget,
    secondsToTarget: o.secondsToTarget,
    bSimple: o.bSimple,
    imagesPerSecond: s.imagesPerSecond,
    wallSeconds: s.wallSeconds,
  };
}

const CRITICAL_NOTE =
  'Per optimizer and target: steps to the target by the crossing interpolated between evaluations, the best learning ' +
  'rate per batch size, and S(B) = S_min (1 + B_crit / B) fitted in relative error (McCandlish et al. 2018) with a 95% ' +
  'bootstrap interval over seeds and learning rates (bCritLow..bCritHigh; empty with one seed and one learning rate per ' +
  'batch size). bSimpleNearTarget: the measured noise scale within 20% of the crossing, median over the best runs.';

const TARGETS_NOTE =
  'Per target, optimizer and batch size: the learning rate with the fewest steps to that target (median over seeds), ' +
  'the steps by the crossing interpolated between evaluations (median, min and max over seeds), how many seeds ' +
  'reached it, and lrEdge when that rate is at the low or high end of the rates tried (not known to be the best).';

/** A sweep run for the critical-batch analysis: its optimizer (by its plain name among `keys`), batch, learning rate and curves. */
function studyRun(o: RunOutcome, keys: readonly string[]): StudyRun {
  return { optimizer: plainOptimizer(optimizerKey(o), keys), batchSize: o.batchSize, lr: peakLr(o), curves: o.curves };
}

/** report.html, best.csv, critical-batch.csv, results.csv and results.json of a sweep. */
export function writeSweepReport(
  dir: string,
  title: string,
  outcomes: readonly RunOutcome[],
  target: number,
  targets: readonly number[] = [target],
  planned: readonly PlannedCell[] = [],
): string {
  const best = withPlanned(bestPerBatch(aggregateSeeds(outcomes)), planned);
  const bests = bestRows(best, dir);
  const rows = outcomes.map((o) => sweepRow(o, dir, target));
  const keys = [...new Set(outcomes.map(optimizerKey))];
  const critical = criticalBatchRows(
    outcomes.map((o) => studyRun(o, keys)),
    targets,
  );
  writeFileSync(join(dir, 'results.csv'), toCsv(rows));
  writeFileSync(join(dir, 'best.csv'), toCsv(bests));
  writeFileSync(join(dir, 'critical-batch.csv'), toCsv(critical as unknown as Record<string, unknown>[]));
  const perTarget = targetRows(outcomes, targets, planned);
  writeFileSync(join(dir, 'steps-to-targets.csv'), toCsv(perTarget));
  writeFileSync(
    join(dir, 'results.json'),
    JSON.stringify({ target, best: bests, critical, stepsToTargets: perTarget, runs: rows }, null, 2) + '\n',
  );
  const bSimple = measuredNoiseScale(best);
  const intro =
    `${outcomes.length} runs; target validation accuracy ${target}. For every batch size and optimizer the learning rate of the grid with ` +
    `the fewest steps to the target (median over seeds; ties: higher final accuracy), as Shallue et al. (2019) define steps to target. ` +
    `Perfect scaling: steps x batch size constant. B_simple: the measured gradient ` +
    `noise scale (median over the second half of each best run)${bSimple !== null ? `, ${Math.round(bSimple)}` : ''}, ` +
    'a prediction of the critical batch size (McCandlish et al. 2018). Learning rates: bestPeakLr is the peak rate a run ' +
    'trained with (after --lr-scaling), bestBaseLr the rate before scaling, which the run names carry.';
  const table =
    `<h3>Best per batch size</h3>${htmlTable(bests)}<h3>Critical batch size</h3><p>${CRITICAL_NOTE}</p>` +
    `${htmlTable(critical as unknown as Record<string, unknown>[])}<h3>Steps to each target</h3><p>${TARGETS_NOTE}</p>` +
    `${htmlTable(perTarget)}<h3>Every run</h3>${htmlTable(rows)}`;
  const path = join(dir, 'report.html');
  writeFileSync(path, htmlPage(title, intro, sweepCharts(outcomes, target, planned, targets), table));
  return path;
}
