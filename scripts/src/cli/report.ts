// `dtrain report RUN_DIR...`: any runs overlaid (validation accuracy and loss by epoch, training loss,
// a table linking each run's own report), and each run's own report.html refreshed.

import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { TrainerError } from '@dtrain/common';
import { readMetrics, readSummary } from '@dtrain/coordinator';
import { writeCompareReport, type ComparedRun } from '../experiment/compare-report.js';
import { writeRunReport } from '../experiment/report.js';
import { ignoredTokenOptions } from './options.js';

function reportOptions<T>(y: Argv<T>) {
  return ignoredTokenOptions(y)
    .positional('runs', { type: 'string', array: true, demandOption: true, describe: 'run directories (each with metrics.jsonl)' })
    .option('out', { type: 'string', default: 'report.html', describe: 'where to write the overlay report' })
    .option('title', { type: 'string', default: 'dtrain runs compared', describe: 'the page title' })
    .example('$0 report runs/sgd runs/momentum', 'validation curves of two runs overlaid in ./report.html')
    .example('$0 report runs/sweep/b64-* --out b64.html', 'every run of a sweep at batch 64');
}

export function reportCommand(y: Argv): Argv {
  return y.command('report <runs..>', 'overlay runs in one HTML page (validation accuracy and loss by epoch) and refresh each run\'s report', reportOptions, (a) => {
    const path = writeReport(a.runs.map(String), a.out, a.title);
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
