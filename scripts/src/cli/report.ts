// `dtrain report RUN_DIR...`: any runs overlaid (validation accuracy and loss by epoch, training loss,
// a table linking each run's own report), and each run's own report.html refreshed.

import { TrainerError } from '@dtrain/common';
import type { Argv } from 'yargs';
import { ignoredTokenOptions } from '../options/options.js';
import { writePartialSweepReport, writeReport } from '../report/from-dirs.js';

function reportOptions<T>(y: Argv<T>) {
  return ignoredTokenOptions(y)
    .positional('runs', {
      type: 'string',
      array: true,
      demandOption: true,
      describe: 'run directories (each with metrics.jsonl)',
    })
    .option('out', { type: 'string', default: 'report.html', describe: 'where to write the overlay report' })
    .option('title', { type: 'string', default: 'dtrain runs compared', describe: 'the page title' })
    .option('sweep', {
      type: 'boolean',
      default: false,
      describe:
        'RUN is a sweep directory: rebuild its report (best learning rate per batch size, ...) from the runs finished so far',
    })
    .option('target', {
      type: 'number',
      describe: "with --sweep: the target validation accuracy (default: the runs' --stop-at-target, else 0.5)",
    })
    .option('targets', {
      type: 'string',
      describe:
        'with --sweep: targets for the critical-batch analysis, comma-separated (e.g. 0.55,0.6,0.65; default: --target)',
    })
    .example('$0 report runs/sgd runs/momentum', 'validation curves of two runs overlaid in ./report.html')
    .example('$0 report runs/sweep/b64-* --out b64.html', 'every run of a sweep at batch 64')
    .example('$0 report --sweep runs/sweep', 'the sweep report of an unfinished or interrupted sweep');
}

/** --targets as accuracies in (0, 1), refused by value otherwise. */
export function parseTargets(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const targets = v.split(',').map((t) => Number(t.trim()));
  const bad = v.split(',').find((_, i) => !(targets[i]! > 0 && targets[i]! < 1));
  if (bad !== undefined) {
    throw new TrainerError('ERR_BAD_CONFIG', `--targets ${v}: "${bad.trim()}" is not an accuracy between 0 and 1`, {
      hint: 'e.g. --targets 0.55,0.6,0.65',
    });
  }
  return targets;
}

export function reportCommand(y: Argv): Argv {
  return y.command(
    'report <runs..>',
    "overlay runs in one HTML page (validation accuracy and loss by epoch) and refresh each run's report",
    reportOptions,
    (a) => {
      const path = a.sweep
        ? writePartialSweepReport(String(a.runs[0]), a.target, parseTargets(a.targets))
        : writeReport(a.runs.map(String), a.out, a.title);
      process.stderr.write(`report: ${path}\n`);
    },
  );
}
