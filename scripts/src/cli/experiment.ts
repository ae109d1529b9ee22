// `dtrain experiment momentum` and `dtrain sweep`: build a plan, run it on one pool (N local worker
// processes, or workers that connect from other machines), print a table, write reports. The list
// options (--momenta, --forms, ...) are parsed by experiment/plans.ts.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { DATASET_NAMES, TrainerError, validateConfig } from '@dtrain/common';
import { benchCompute, selectBackend, type BackendChoice } from '@dtrain/worker';
import { serverTls } from '../options/secrets.js';
import { makeDir } from '@dtrain/common/files';
import { defaultRunDir, readMetrics, type Coordinator } from '@dtrain/coordinator';
import { keptAfterCrash, prepareCifar } from './coordinator.js';
import { runPlan, type PlannedRun, type RunOutcome } from '../experiment/run-plan.js';
import { spawnWorker } from './launch.js';
import { checkPort, checkSeconds, poolOptions, resolveToken, toTrainConfig } from '../options/options.js';
import type { OptionsOf } from '../options/options.js';
import { attachProgress } from '../console/progress.js';
import { onInterrupt } from '../console/interrupt.js';
import { saveOnCrash } from '../console/last-resort.js';
import {
  choiceList, lrGrid, LR_SCALINGS, withEvalsPerEpoch, MOMENTUM_FORMS, momentumPlan, numbers, SCHEDULES, SWEEP_OPTIMIZERS, sweepPlan, type SweepAxes,
} from '../experiment/plans.js';
import { toCsv, writeRunReport } from '../report/run-report.js';
import { writeSweepReport } from '../report/sweep-report.js';
import { compareRows, writeCompareReport, type ComparedRun } from '../report/compare-report.js';
import { aggregateSeeds, bestPerBatch } from '../experiment/best.js';
import { writeFileSync } from 'node:fs';

function momentumOptions<T>(y: Argv<T>) {
  return poolOptions(y)
    .option('epochs', { type: 'number', default: 10, describe: 'epochs per run (the article: 10)' })
    .option('dataset', { type: 'string', default: 'cifar10' as const, choices: DATASET_NAMES, describe: 'dataset (the article: CIFAR-10)' })
    .option('momenta', { type: 'string', default: '0.9', describe: 'comma-separated momentum values, e.g. 0.9,0.95,0.99' })
    .option('forms', { type: 'string', default: 'keras', describe: 'comma-separated momentum forms: keras (the article\'s code), ema (the article\'s formula), pytorch' })
    .option('with-nesterov', { type: 'boolean', default: false, describe: 'also run a Nesterov variant of each' })
    .example('$0 experiment momentum --momenta 0.9,0.99 --epochs 10', 'plain SGD vs momentum 0.9 and 0.99 on CIFAR-10');
}

function sweepOptions<T>(y: Argv<T>) {
  return poolOptions(y)
    .option('batch-sizes', { type: 'string', default: '32,64,128,256', describe: 'comma-separated GLOBAL batch sizes' })
    .option('optimizers', { type: 'string', default: 'sgd,momentum', describe: 'comma-separated: sgd, momentum, nesterov' })
    .option('momenta', { type: 'string', default: '0.9', describe: 'comma-separated momentum values (momentum/nesterov runs)' })
    .option('lr-scalings', { type: 'string', default: 'none', describe: 'comma-separated: none, linear, sqrt' })
    .option('warmups', { type: 'string', default: '0', describe: 'comma-separated warmup steps' })
    .option('schedules', { type: 'string', default: 'constant', describe: 'comma-separated: constant, step, exponential, cosine' })
    .option('seeds', { type: 'string', default: '1', describe: 'comma-separated seeds (repeats)' })
    .option('lrs', { type: 'string', describe: 'learning-rate grid, comma-separated (default: --lr alone); each batch size x optimizer reports its best', group: 'Optimization:' })
    .option('lr-range', { type: 'string', describe: 'learning-rate grid as MIN,MAX,N: N values spaced geometrically, e.g. 0.003,0.3,5', group: 'Optimization:' })
    .option('evals-per-epoch', { type: 'number', default: 0, describe: 'evaluate about N times per epoch at every batch size (0: --eval-every); the resolution of steps to target', group: 'Run:' })
    .option('stop-at-target', { type: 'boolean', default: false, describe: 'end each run at its first evaluation at or above --target (steps to target need nothing after it)', group: 'Run:' })
    .example('$0 sweep --batch-sizes 32,64,128,256 --optimizers sgd,momentum --lr-scalings linear --target 0.6', 'steps to 60% by batch size')
    .example('$0 sweep --batch-sizes 16,64,256,1024 --lr-range 0.003,0.3,5 --seeds 1,2 --target 0.6 --stop-at-target', 'Shallue et al.: the best learning rate per batch size');
}

export type PoolArgs = OptionsOf<typeof poolOptions<object>>;

export function momentumCommand(y: Argv): Argv {
  return y.command('experiment momentum', 'reproduce the momentum-SGD comparison: plain SGD vs momentum runs on one pool, a table and a report', momentumOptions, async (a) => {
    const plan = momentumPlan(toTrainConfig(a), numbers(a.momenta, '--momenta'), choiceList(a.forms, MOMENTUM_FORMS, '--forms'), a.withNesterov);
    await runExperiment('momentum', plan, { ...a, token: resolveToken(a.token, a.tokenFile) });
  });
}

export function sweepCommand(y: Argv): Argv {
  return y.command('sweep', 'grid over batch size x optimizer x momentum x lr scaling x warmup x schedule x seed on one pool; steps to target, reports', sweepOptions, async (a) => {
    const axes: SweepAxes = {
      batchSizes: numbers(a.batchSizes, '--batch-sizes'), optimizers: choiceList(a.optimizers, SWEEP_OPTIMIZERS, '--optimizers'),
      momenta: numbers(a.momenta, '--momenta'), scalings: choiceList(a.lrScalings, LR_SCALINGS, '--lr-scalings'), warmups: numbers(a.warmups, '--warmups'),
      schedules: choiceList(a.schedules, SCHEDULES, '--schedules'), seeds: numbers(a.seeds, '--seeds'), lrs: lrGrid(a.lrs, a.lrRange, a.lr),
    };
    // Stopping at the target: periodic evaluations on validation only, the test split once at the end.
    const base = { ...toTrainConfig(a), ...(a.stopAtTarget ? { stopAtValAccuracy: a.target, testEvery: 'end' as const } : {}) };
    const plan = withEvalsPerEpoch(sweepPlan(base, axes), a.evalsPerEpoch);
    await runExperiment('sweep', plan, { ...a, token: resolveToken(a.token, a.tokenFile) });
  });
}

/** --dry-run: each planned run and its steps, and the time they would take from a short compute probe per batch size. */
export async function dryRunLines(plan: readonly PlannedRun[], backend: BackendChoice, workers: number): Promise<string[]> {
  const info = await selectBackend(backend);
  const msPerBatch = new Map<string, number>();
  let totalSeconds = 0;
  const lines = plan.map((r) => {
    const d = validateConfig(r.config);
    const perWorker = Math.ceil(r.config.batchSize / Math.min(workers, r.config.workers));
    return { r, d, perWorker, key: `${r.config.model}/${perWorker}` };
  });
  for (const l of lines) {
    if (!msPerBatch.has(l.key)) msPerBatch.set(l.key, (await benchCompute(info, l.r.config.model, l.perWorker, 3)).msPerBatch);
    totalSeconds += (l.d.totalSteps * msPerBatch.get(l.key)!) / 1000;
  }
  return [
    ...lines.map((l) => `${l.r.name}: ${l.d.totalSteps} steps of ${l.r.config.batchSize} (${l.perWorker} per worker), ~${((l.d.totalSteps * msPerBatch.get(l.key)!) / 60_000).toFixed(1)} min`),
    `${plan.length} runs, ${lines.reduce((a, l) => a + l.d.totalSteps, 0)} steps; about ${(totalSeconds / 3600).toFixed(2)} h of compute on ${workers} ${info.name} worker(s) (a probe of 3 batches each; communication and evaluation not included)`,
  ];
}

const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(2)}%` : '-');
const num = (v: unknown, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '-');

/** Columns aligned: the first to the left, the others to the right. */
export function alignColumns(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export function formatTable(outcomes: RunOutcome[], target: number): string[] {
  const rows = outcomes.map((o) => [
    o.name, o.summary.status === 'completed' ? pct(o.summary.final.test?.accuracy) : o.summary.status, num(o.summary.final.test?.loss, 4), pct(o.bestValAccuracy),
    num(o.stepsToTarget, 0), num(o.epochsToTarget, 2), num(o.secondsToTarget), num(o.summary.imagesPerSecond, 0),
  ]);
  return alignColumns(['run', 'test acc', 'test loss', 'best val acc', `steps to ${pct(target)}`, 'epochs to target', 'seconds to target', 'images/s'], rows);
}

/** The best learning rate per batch size x optimizer (Shallue et al.), for the terminal. */
export function formatBest(outcomes: RunOutcome[]): string[] {
  const rows = bestPerBatch(aggregateSeeds(outcomes)).map((b) => [
    b.optimizer, String(b.batchSize), b.cell ? String(b.cell.lr) : '-', b.cell ? num(b.cell.steps.median, 0) : 'not reached',
    b.cell && b.cell.steps.min !== b.cell.steps.max ? `${b.cell.steps.min}-${b.cell.steps.max}` : '', b.cell ? pct(b.cell.finalAccuracy.median) : '-', b.atEdge ? `at the ${b.atEdge} end of the grid` : '',
  ]);
  return alignColumns(['optimizer', 'batch', 'best lr', 'steps to target', 'seed range', 'test acc', 'note'], rows);
}

/** The experiment's report: runs overlaid (momentum) or the batch-size scaling report (sweep). */
function writeExperimentReport(kind: string, outRoot: string, outcomes: RunOutcome[], target: number): string {
  if (kind === 'sweep') return writeSweepReport(outRoot, 'dtrain sweep', outcomes, target);
  const runs: ComparedRun[] = outcomes.map((o) => ({ name: o.name, dir: o.dir, records: readMetrics(o.dir), summary: o.summary }));
  const rows = compareRows(runs, outRoot);
  writeFileSync(join(outRoot, 'results.csv'), toCsv(rows));
  writeFileSync(join(outRoot, 'results.json'), JSON.stringify({ target, runs: rows }, null, 2) + '\n');
  return writeCompareReport(join(outRoot, 'report.html'), outRoot, `dtrain experiment ${kind}`, runs, `${runs.length} runs on the same data, seed and batch size; validation curves overlaid, one colour per run.`);
}

export async function runExperiment(kind: string, plan: PlannedRun[], a: PoolArgs): Promise<RunOutcome[]> {
  for (const r of plan) validateConfig(r.config);
  if (a.dryRun) {
    for (const line of await dryRunLines(plan, a.backend, Math.max(1, a.local))) process.stdout.write(line + '\n');
    return [];
  }
  const outRoot = a.out ?? defaultRunDir(join('runs', kind));
  makeDir(outRoot);
  checkPort(a.port);
  const tls = serverTls(a);
  if (tls && a.local > 0) throw new TrainerError('ERR_BAD_CONFIG', '--tls-cert with local workers', { hint: 'local workers connect over loopback without TLS: use --local 0 with --tls-cert, or drop --tls-cert' });
  const cifarDir = await prepareCifar(a.dataset, a.dataDir);
  const token = a.token ?? (a.local > 0 ? randomBytes(16).toString('hex') : undefined);
  const host = a.host;
  const log = (l: string) => process.stderr.write(l + '\n');
  const children: ChildProcess[] = [];
  const started = Date.now();
  let ran = 0;
  let reporter: ReturnType<typeof attachProgress> | null = null;
  let current: Coordinator | null = null;
  let unsave = (): void => undefined;
  // a signal stops the current run at a step with a checkpoint (status stopped), which ends the plan
  const interrupts = onInterrupt(() => {
    if (!current) process.exit(130); // between runs: nothing to save
    (reporter ?? { log }).log('interrupt: finishing the current step, writing a checkpoint and stopping here (Ctrl-C again to quit at once; run the same command to continue)');
    current.stop('interrupted');
  }, () => reporter?.done());
  log(`${kind}: ${plan.length} runs into ${outRoot}${a.local > 0 ? `, ${a.local} local workers` : ''}`);
  const outcomes = await runPlan(plan, outRoot, a.target, { host, port: a.local > 0 ? 0 : a.port, token, tls, cifarDir, waitTimeoutMs: checkSeconds(a.waitTimeout, '--wait-timeout') * 1000, log: (l) => (reporter ? reporter.log(l) : log(l)) }, {
    onPoolReady: (port) => {
      log(`pool listening on ws://${host}:${port}${token && a.local === 0 ? ' (token required)' : ''}`);
      for (let i = 0; i < a.local; i++) children.push(spawnWorker(i, `ws://127.0.0.1:${port}`, token ?? '', { backend: a.backend, dataDir: cifarDir, sched: a.sched }, undefined));
    },
    onRunStart: (i, run, coord) => {
      const eta = ran > 0 ? ((Date.now() - started) / ran) * (plan.length - i) / 1000 : null;
      log(`run ${i + 1}/${plan.length}: ${run.name}${eta !== null ? ` (ETA ${Math.round(eta)} s)` : ''}`);
      reporter = attachProgress(coord);
      current = coord;
      unsave = saveOnCrash((e) => keptAfterCrash(coord.crash(e)));
    },
    onRunEnd: (i, o) => {
      unsave();
      reporter?.done();
      reporter = null;
      current = null;
      if (o.skipped) log(`run ${i + 1}/${plan.length}: ${o.name} already completed; kept`);
      else ran++;
      writeRunReport(o.dir, readMetrics(o.dir), o.summary);
    },
  });
  interrupts.dispose();
  if (interrupts.requested) process.exitCode = 130;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  for (const l of formatTable(outcomes, a.target)) process.stdout.write(l + '\n');
  if (kind === 'sweep') for (const l of ['', ...formatBest(outcomes)]) process.stdout.write(l + '\n');
  const report = writeExperimentReport(kind, outRoot, outcomes, a.target);
  log(`report: ${report}; numbers: ${join(outRoot, 'results.csv')}, ${join(outRoot, 'results.json')}`);
  return outcomes;
}
