// The tables an experiment prints: each run's outcome, and the best learning rate per batch size x optimizer.

import { aggregateSeeds, baseLr, bestPerBatch, plainOptimizer } from '../experiment/best.js';
import type { RunOutcome } from '../experiment/run-plan.js';

const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(2)}%` : '-');
const num = (v: unknown, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '-');

/** Columns aligned: the first to the left, the others to the right. */
export function alignColumns(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export function formatTable(outcomes: RunOutcome[], target: number): string[] {
  const rows = outcomes.map((o) => [
    o.name,
    o.summary.status === 'completed' ? pct(o.summary.final.test?.accuracy) : o.summary.status,
    num(o.summary.final.test?.loss, 4),
    pct(o.bestValAccuracy),
    num(o.stepsToTarget, 0),
    num(o.epochsToTarget, 2),
    num(o.secondsToTarget),
    num(o.summary.imagesPerSecond, 0),
  ]);
  return alignColumns(
    [
      'run',
      'test acc',
      'test loss',
      'best val acc',
      `steps to ${pct(target)}`,
      'epochs to target',
      'seconds to target',
      'images/s',
    ],
    rows,
  );
}

/** The best learning rate per batch size x optimizer (Shallue et al.), for the terminal. */
export function formatBest(outcomes: RunOutcome[]): string[] {
  const best = bestPerBatch(aggregateSeeds(outcomes));
  const keys = [...new Set(best.map((b) => b.optimizer))];
  const rows = best.map((b) => [
    plainOptimizer(b.optimizer, keys),
    String(b.batchSize),
    b.cell ? String(b.cell.lr) : '-',
    b.cell ? String(baseLr(b.cell)) : '-',
    b.cell ? num(b.cell.steps.median, 0) : 'not reached',
    b.cell && b.cell.steps.min !== b.cell.steps.max ? `${b.cell.steps.min}-${b.cell.steps.max}` : '',
    b.cell ? pct(b.cell.finalAccuracy.median) : '-',
    b.atEdge ? `at the ${b.atEdge} end of the grid` : '',
  ]);
  return alignColumns(
    ['optimizer', 'batch', 'best peak lr', 'base lr (run name)', 'steps to target', 'seed range', 'test acc', 'note'],
    rows,
  );
}
