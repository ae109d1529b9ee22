// The Shallue et al. (2019) protocol on a sweep's outcomes: runs that differ only in their seed form one
// cell (median and range over seeds); for every batch size x optimizer, the best cell over the
// learning-rate grid is the one with the fewest steps to target (ties: higher final test accuracy).
// A run that never reached the target counts as infinitely many steps.

import { type OptimizerKind, scaledLr, scheduleOf, usesHeavyBall } from '@dtrain/common';
import type { RunOutcome } from './run-plan.js';

export interface Cell {
  batchSize: number;
  /** Everything but batch size, learning rate and seed, e.g. "momentum0.9 none w0 constant". */
  optimizer: string;
  lr: number;
  runs: RunOutcome[];
  /** Median over seeds (null: the median seed never reached the target); min and max over seeds that did. */
  steps: { median: number | null; min: number | null; max: number | null; reached: number };
  finalAccuracy: { median: number | null; min: number | null; max: number | null };
  diverged: number;
}

export interface Best {
  batchSize: number;
  optimizer: string;
  /** The best cell, or null when no learning rate reached the target. */
  cell: Cell | null;
  /** The best learning rate sits at the low or high end of the grid tried (the grid should be widened). */
  atEdge: 'low' | 'high' | null;
  lrsTried: number[];
  /** A cell of the study's plan with no finished run (the budget did not cover it). */
  notRun?: boolean;
}

/** A cell a study planned: a batch size and an optimizer key (optimizerKey: "momentum0.9 sqrt w0 constant"). */
export interface PlannedCell {
  batchSize: number;
  optimizer: string;
}

/** `best` with a not-run entry for every planned cell that has no run at all, in the same order. */
export function withPlanned(best: readonly Best[], planned: readonly PlannedCell[]): Best[] {
  const have = new Set(best.map((b) => `${b.optimizer}|${b.batchSize}`));
  const missing = planned
    .filter((p) => !have.has(`${p.optimizer}|${p.batchSize}`))
    .map((p): Best => ({ ...p, cell: null, atEdge: null, lrsTried: [], notRun: true }));
  return [...best, ...missing].sort((a, b) => a.optimizer.localeCompare(b.optimizer) || a.batchSize - b.batchSize);
}

/** The run's peak learning rate after --lr-scaling (the grid's value when the run has no full config). */
export function peakLr(o: RunOutcome): number {
  const c = o.summary.config;
  return c && typeof c.scaling === 'string' && typeof c.baseBatchSize === 'number'
    ? Number(scaledLr(scheduleOf(c)).toPrecision(4))
    : Number(o.labels['lr'] ?? c?.lr);
}

/** The median over seeds: the mean of the two middle values for an even count (Infinity stays Infinity). */
export function seedMedian(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The optimizer key of a run: its labels except batch size, learning rate and seed. */
export function optimizerKey(o: RunOutcome): string {
  const l = o.labels;
  const kind = String(l['optimizer']);
  const opt = usesHeavyBall(kind as OptimizerKind) ? `${kind}${String(l['momentum'])}` : kind; // false for other labels
  return [opt, l['scaling'], `w${String(l['warmup'])}`, l['schedule']]
    .filter((x) => x !== undefined && x !== 'wundefined')
    .join(' ');
}

const OPTIMIZER_NAMES: Record<string, string> = {
  sgd: 'SGD',
  momentum: 'momentum',
  nesterov: 'Nesterov',
  adam: 'Adam',
  adamw: 'AdamW',
  lars: 'LARS',
  lamb: 'LAMB',
};

/**
 * A person's name for an optimizer key ("momentum0.9 sqrt w0 constant" -> "momentum 0.9"), adding the lr
 * scaling, warmup and schedule only where the sweep's keys differ in them.
 */
export function plainOptimizer(key: string, keys: readonly string[]): string {
  const parts = (k: string) => k.split(' ');
  const [opt = '', scaling, warm, schedule] = parts(key);
  const m = /^([a-z]+)([\d.]+)?$/.exec(opt);
  const name = m ? `${OPTIMIZER_NAMES[m[1]!] ?? m[1]}${m[2] ? ` ${m[2]}` : ''}` : opt;
  const varies = (i: number) => new Set(keys.map((k) => parts(k)[i])).size > 1;
  const extra: string[] = [];
  if (scaling && varies(1)) extra.push(scaling === 'none' ? 'no lr scaling' : `${scaling} lr scaling`);
  if (warm && varies(2)) extra.push(`warmup ${warm.replace(/^w/, '')}`);
  if (schedule && varies(3)) extra.push(`${schedule} lr`);
  return extra.length ? `${name}, ${extra.join(', ')}` : name;
}

/** The base learning rate of a cell's runs (before --lr-scaling: what the run names carry). */
export function baseLr(cell: Cell): number {
  return Number(cell.runs[0]?.labels['lr'] ?? cell.runs[0]?.summary.config?.lr ?? cell.lr);
}

function spread(values: number[]): { median: number | null; min: number | null; max: number | null } {
  return values.length === 0
    ? { median: null, min: null, max: null }
    : { median: seedMedian(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Group runs that differ only in seed. */
export function aggregateSeeds(outcomes: readonly RunOutcome[]): Cell[] {
  const cells = new Map<string, Cell>();
  for (const o of outcomes) {
    const lr = peakLr(o);
    const key = `${o.batchSize}|${optimizerKey(o)}|${lr}`;
    let cell = cells.get(key);
    if (!cell) {
      cell = {
        batchSize: o.batchSize,
        optimizer: optimizerKey(o),
        lr,
        runs: [],
        steps: { median: null, min: null, max: null, reached: 0 },
        finalAccuracy: spread([]),
        diverged: 0,
      };
      cells.set(key, cell);
    }
    cell.runs.push(o);
  }
  for (const cell of cells.values()) {
    const reached = cell.runs.map((r) => r.stepsToTarget).filter((s): s is number => s !== null);
    const withMisses = cell.runs.map((r) => r.stepsToTarget ?? Infinity);
    const m = seedMedian(withMisses);
    cell.steps = {
      median: Number.isFinite(m) ? m : null,
      min: reached.length ? Math.min(...reached) : null,
      max: reached.length ? Math.max(...reached) : null,
      reached: reached.length,
    };
    cell.finalAccuracy = spread(
      cell.runs.map((r) => r.summary.final.test?.accuracy).filter((a): a is number => typeof a === 'number'),
    );
    cell.diverged = cell.runs.filter((r) => r.summary.status === 'diverged').length;
  }
  return [...cells.values()];
}

/** Fewer steps first (null last), then higher median final accuracy. */
function better(a: Cell, b: Cell): boolean {
  const sa = a.steps.median ?? Infinity;
  const sb = b.steps.median ?? Infinity;
  if (sa !== sb) return sa < sb;
  return (a.finalAccuracy.median ?? -1) > (b.finalAccuracy.median ?? -1);
}

/** The best cell per batch size x optimizer, in batch-size order. */
export function bestPerBatch(cells: readonly Cell[]): Best[] {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const key = `${c.optimizer}|${c.batchSize}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const out: Best[] = [];
  for (const group of groups.values()) {
    const lrs = group.map((c) => c.lr).sort((a, b) => a - b);
    const top = group.reduce((a, c) => (better(c, a) ? c : a));
    const cell = top.steps.median === null ? null : top;
    const atEdge =
      !cell || lrs.length < 2 ? null : cell.lr === lrs[0] ? 'low' : cell.lr === lrs[lrs.length - 1] ? 'high' : null;
    out.push({ batchSize: top.batchSize, optimizer: top.optimizer, cell, atEdge, lrsTried: lrs });
  }
  return out.sort((a, b) => a.optimizer.localeCompare(b.optimizer) || a.batchSize - b.batchSize);
}
