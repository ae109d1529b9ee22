// `dtrain report RUN_DIR...`: any runs overlaid (validation accuracy and loss by epoch, training loss,
// a table linking each run's own report), and each run's own report.html refreshed.

import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { TrainerError } from '@dtrain/common';
import { isOutcome, readMetrics, readSummary } from '@dtrain/coordinator';
import { writeCompareReport, type ComparedRun } from '../report/compare-report.js';
import { writeRunReport } from '../report/run-report.js';
import { writeSweepReport } from '../report/sweep-report.js';
import { lateNoiseScale, toTarget, type RunOutcome } from '../experiment/run-plan.js';
import { ignoredTokenOptions } from '../options/options.js';

function reportOptions<T>(y: Argv<T>) {
  return ignoredTokenOptions(y)
    .positional('runs', { type: 'string', array: true, demandOption: true, describe: 'run directories (each with metrics.jsonl)' })
    .option('out', { type: 'string', default: 'report.html', describe: 'where to write the overlay report' })
    .option('title', { type: 'string', default: 'dtrain runs compared', describe: 'the page title' })
    .option('sweep', { type: 'boolean', default: false, describe: 'RUN is a sweep directory: rebuild its report (best learning rate per batch size, ...) from the runs finished so far' })
    .option('target', { type: 'number', describe: 'with --sweep: the target validation accuracy (default: the runs\' --stop-at-target, else 0.5)' })
    .example('$0 report runs/sgd runs/momentum', 'validation curves of two runs overlaid in ./report.html')
    .example('$0 report runs/sweep/b64-* --out b64.html', 'every run of a sweep at batch 64')
    .example('$0 report --sweep runs/sweep', 'the sweep report of an unfinished or interrupted sweep');
}

export function reportCommand(y: Argv): Argv {
  return y.command('report <runs..>', 'overlay runs in one HTML page (validation accuracy and loss by epoch) and refresh each run\'s report', reportOptions, (a) => {
    const path = a.sweep ? writePartialSweepReport(String(a.runs[0]), a.target) : writeReport(a.runs.map(String), a.out, a.title);
    process.stderr.write(`report: ${path}\n`);
  });
}

export function loadRun(dir: string): ComparedRun {
  if (!existsSync(join(dir, 'metrics.jsonl'))) {
    throw new TrainerError('ERR_BAD_CONFIG', `${dir} is not a run directory (no metrics.jsonl)`, { hint: 'give directories that dtrain launch, coordinator or a sweep wrote, e.g. runs/demo' });
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

/** A sweep's report from the runs in `dir` that reached an outcome (completed or diverged). */
export function writePartialSweepReport(dir: string, target?: number): string {
  const outcomes: RunOutcome[] = [];
  for (const name of readdirSync(dir).sort()) {
    const runDir = join(dir, name);
    const summary = readSummary(runDir);
    if (!summary || !isOutcome(summary.status)) continue;
    const c = summary.config;
    const t = target ?? (c.stopAtValAccuracy || 0.5);
    const records = readMetrics(runDir);
    const optimizer = c.optimizer.momentum === 0 ? 'sgd' : c.optimizer.nesterov ? 'nesterov' : 'momentum';
    outcomes.push({
      name, dir: runDir, summary, skipped: true, batchSize: c.batchSize, ...toTarget(records, t, c.batchSize), bSimple: lateNoiseScale(records),
      labels: { batchSize: c.batchSize, optimizer, momentum: c.optimizer.momentum, scaling: c.scaling, warmup: c.warmupSteps, schedule: c.schedule, lr: c.lr, seed: c.seed },
    });
  }
  if (outcomes.length === 0) throw new TrainerError('ERR_BAD_CONFIG', `${dir} holds no finished sweep run`, { hint: 'give the --out directory of a sweep' });
  const t = target ?? (outcomes[0]!.summary.config.stopAtValAccuracy || 0.5);
  return writeSweepReport(dir, `dtrain sweep (${outcomes.length} finished runs)`, outcomes, t);
}
