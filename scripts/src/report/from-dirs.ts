// Reports rebuilt from run directories on disk (`dtrain report`): runs overlaid, each run's own report
// refreshed, and a sweep's report from the runs it finished so far.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { optimizerKind, TrainerError } from '@dtrain/common';
import { isOutcome, readMetrics, readSummary } from '@dtrain/coordinator';
import { curvesOf } from '../analysis/crossing.js';
import type { PlannedCell } from '../experiment/best.js';
import { lateNoiseScale, type RunOutcome, toTarget } from '../experiment/run-plan.js';
import { type ComparedRun, writeCompareReport } from './compare-report.js';
import { writeRunReport } from './run-report.js';
import { writeSweepReport } from './sweep-report.js';

export function loadRun(dir: string): ComparedRun {
  if (!existsSync(join(dir, 'metrics.jsonl')) && !existsSync(join(dir, 'metrics.jsonl.gz'))) {
    throw new TrainerError('ERR_BAD_CONFIG', `${dir} is not a run directory (no metrics.jsonl, nor an archived .gz)`, {
      hint: 'give directories that dtrain launch, coordinator or a sweep wrote, e.g. runs/demo',
    });
  }
  const records = readMetrics(dir);
  const summary = readSummary(dir);
  if (summary) writeRunReport(dir, records, summary);
  return { name: basename(resolve(dir)), dir, records, summary };
}

export function writeReport(dirs: string[], out: string, title: string): string {
  const runs = dirs.map(loadRun);
  const intro = `${runs.length} run${runs.length === 1 ? '' : 's'}: ${runs.map((r) => r.name).join(', ')}; one colour per run.`;
  return writeCompareReport(out, dirname(resolve(out)), title, runs, intro);
}

/** The runs in `dir` that reached an outcome (completed, diverged or stalled), their steps to `target` or their own. */
export function finishedOutcomes(dir: string, target?: number): RunOutcome[] {
  const outcomes: RunOutcome[] = [];
  for (const name of readdirSync(dir).sort()) {
    const runDir = join(dir, name);
    const summary = readSummary(runDir);
    if (!summary || !isOutcome(summary.status)) continue;
    const c = summary.config;
    const t = target ?? (c.stopAtValAccuracy || 0.5);
    const records = readMetrics(runDir);
    const optimizer = optimizerKind(c.optimizer);
    outcomes.push({
      name,
      dir: runDir,
      summary,
      skipped: true,
      batchSize: c.batchSize,
      ...toTarget(records, t, c.batchSize),
      bSimple: lateNoiseScale(records),
      curves: curvesOf(records),
      labels: {
        batchSize: c.batchSize,
        optimizer,
        momentum: c.optimizer.momentum,
        scaling: c.scaling,
        warmup: c.warmupSteps,
        schedule: c.schedule,
        lr: c.lr,
        seed: c.seed,
      },
    });
  }
  return outcomes;
}

/** A sweep's report from the runs in `dir` that reached an outcome (`outcomes`: those, when read already). */
export function writePartialSweepReport(
  dir: string,
  target?: number,
  targets?: readonly number[],
  outcomes: readonly RunOutcome[] = finishedOutcomes(dir, target),
): string {
  if (outcomes.length === 0)
    throw new TrainerError('ERR_BAD_CONFIG', `${dir} holds no finished sweep run`, {
      hint: 'give the --out directory of a sweep',
    });
  const t = target ?? (outcomes[0]!.summary.config.stopAtValAccuracy || 0.5);
  const title = `dtrain sweep (${outcomes.length} finished runs)`;
  return writeSweepReport(dir, title, outcomes, t, targets ?? [t], readPlan(dir));
}

/**
 * The cells a study planned (`plan.json` in its sweep directory: {"cells": [{"batchSize": 32, "optimizer":
 * "momentum0.9 sqrt w0 constant"}, ...]}), so its report marks those no run covered; none without the file.
 */
export function readPlan(dir: string): PlannedCell[] {
  const path = join(dir, 'plan.json');
  if (!existsSync(path)) return [];
  const bad = (why: string): never => {
    throw new TrainerError('ERR_BAD_CONFIG', `${path}: ${why}`, {
      hint: 'plan.json lists the study\'s cells: {"cells": [{"batchSize": 32, "optimizer": "sgd sqrt w0 constant"}]}',
    });
  };
  let plan: unknown;
  try {
    plan = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return bad((e as Error).message);
  }
  const cells = (plan as { cells?: unknown }).cells;
  if (!Array.isArray(cells) || cells.length > 10_000) return bad('"cells" is not a list of at most 10,000 cells');
  return cells.map((c: { batchSize?: unknown; optimizer?: unknown }, i) => {
    if (
      !Number.isInteger(c?.batchSize) ||
      (c.batchSize as number) < 1 ||
      typeof c.optimizer !== 'string' ||
      c.optimizer.length > 200
    )
      return bad(`cell ${i} needs a whole batchSize >= 1 and an optimizer key`);
    return { batchSize: c.batchSize as number, optimizer: c.optimizer };
  });
}
