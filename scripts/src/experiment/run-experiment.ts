// An experiment (`dtrain experiment momentum`, `dtrain sweep`) from its plan: validated, or only estimated
// (--dry-run); else run on one pool (N local worker processes under the one supervisor, or workers that
// connect from other machines), a table printed and the reports written. All local workers gone ends
// the current run failed at once (the plan stops there; the same command continues it).

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelSpecOf, TrainerError, validateConfig } from '@dtrain/common';
import { makeDir } from '@dtrain/common/files';
import {
  type Coordinator,
  Dashboard,
  defaultRunDir,
  isOutcome,
  type RunPool,
  readMetrics,
  type ServerTls,
} from '@dtrain/coordinator';
import { type BackendChoice, benchCompute, type SchedPolicy, selectBackend } from '@dtrain/worker';
import { onInterrupt } from '../console/interrupt.js';
import { saveOnCrash } from '../console/last-resort.js';
import { attachProgress } from '../console/progress.js';
import { prepareCifar } from '../data/fetch.js';
import { LocalWorkers } from '../processes/local-workers.js';
import { type ComparedRun, compareRows, writeCompareReport } from '../report/compare-report.js';
import { finishedOutcomes, writePartialSweepReport } from '../report/from-dirs.js';
import { toCsv, writeRunReport } from '../report/run-report.js';
import { writeSweepReport } from '../report/sweep-report.js';
import { formatBest, formatTable } from '../report/tables.js';
import { keptAfterCrash } from '../runs/coordinator.js';
import { type PlannedRun, type RunOutcome, runPlan } from './run-plan.js';

/** How an experiment's pool is served and fed (from the pool options). */
export interface ExperimentPool {
  out: string | undefined;
  host: string;
  port: number;
  token: string | undefined;
  tls: ServerTls | undefined;
  /** Local worker processes (0: wait for workers to connect). */
  local: number;
  backend: BackendChoice;
  sched: SchedPolicy;
  dataset: string;
  dataDir: string | undefined;
  target: number;
  dryRun: boolean;
  waitTimeoutMs: number;
  /** --dashboard-port (and --dashboard-host): the live dashboard, with the grid of runs. */
  dashboard?: { host: string; port: number };
}

/** --dry-run: each planned run and its steps, and the time they would take from a short compute probe per batch size. */
export async function dryRunLines(
  plan: readonly PlannedRun[],
  backend: BackendChoice,
  workers: number,
): Promise<string[]> {
  const info = await selectBackend(backend);
  const msPerBatch = new Map<string, number>();
  let totalSeconds = 0;
  const lines = plan.map((r) => {
    const d = validateConfig(r.config);
    const perWorker = Math.ceil(r.config.batchSize / Math.min(workers, r.config.workers));
    return { r, d, perWorker, key: `${r.config.model}/${perWorker}` };
  });
  for (const l of lines) {
    if (!msPerBatch.has(l.key))
      msPerBatch.set(l.key, (await benchCompute(info, modelSpecOf(l.r.config), l.perWorker, 3)).msPerBatch);
    totalSeconds += (l.d.totalSteps * msPerBatch.get(l.key)!) / 1000;
  }
  return [
    ...lines.map(
      (l) =>
        `${l.r.name}: ${l.d.totalSteps} steps of ${l.r.config.batchSize} (${l.perWorker} per ` +
        `worker), ~${((l.d.totalSteps * msPerBatch.get(l.key)!) / 60_000).toFixed(1)} min`,
    ),
    `${plan.length} runs, ${lines.reduce((a, l) => a + l.d.totalSteps, 0)} steps; about ${(totalSeconds / 3600).toFixed(2)} ` +
      `h of compute on ${workers} ${info.name} worker(s) (a probe of 3 batches each; communication and evaluation not included)`,
  ];
}

/**
 * The experiment's report: runs overlaid (momentum) or the batch-size scaling report (sweep). A sweep's covers
 * every finished run in its directory, earlier sweeps' into the same --out included (as `dtrain report --sweep`
 * does), so a study run in pieces never leaves a report of its last piece alone.
 */
function writeExperimentReport(
  kind: string,
  outRoot: string,
  outcomes: RunOutcome[],
  target: number,
  targets: readonly number[],
): string {
  if (kind === 'sweep') {
    // a stopped run is not a result yet: with no finished run in the directory, the report is of this sweep's
    const finished = finishedOutcomes(outRoot, target);
    return finished.length > 0
      ? writePartialSweepReport(outRoot, target, targets, finished)
      : writeSweepReport(outRoot, 'dtrain sweep', outcomes, target, targets);
  }
  const runs: ComparedRun[] = outcomes.map((o) => ({
    name: o.name,
    dir: o.dir,
    records: readMetrics(o.dir),
    summary: o.summary,
  }));
  const rows = compareRows(runs, outRoot);
  writeFileSync(join(outRoot, 'results.csv'), toCsv(rows));
  writeFileSync(join(outRoot, 'results.json'), JSON.stringify({ target, runs: rows }, null, 2) + '\n');
  return writeCompareReport(
    join(outRoot, 'report.html'),
    outRoot,
    `dtrain experiment ${kind}`,
    runs,
    `${runs.length} runs on the same data, seed and batch size; validation curves overlaid, one colour per run.`,
  );
}

export async function runExperiment(kind: string, plan: PlannedRun[], a: ExperimentPool): Promise<RunOutcome[]> {
  for (const r of plan) validateConfig(r.config);
  if (a.dryRun) {
    for (const line of await dryRunLines(plan, a.backend, Math.max(1, a.local))) process.stdout.write(line + '\n');
    return [];
  }
  const outRoot = a.out ?? defaultRunDir(join('runs', kind));
  makeDir(outRoot);
  if (a.tls && a.local > 0)
    throw new TrainerError('ERR_BAD_CONFIG', '--tls-cert with local workers', {
      hint: 'local workers connect over loopback without TLS: use --local 0 with --tls-cert, or drop --tls-cert',
    });
  const cifarDir = await prepareCifar(a.dataset, a.dataDir);
  const token = a.token ?? (a.local > 0 ? randomBytes(16).toString('hex') : undefined);
  const dashboard = a.dashboard
    ? await Dashboard.open({ ...a.dashboard, token, log: (l) => process.stderr.write(`${l}\n`) })
    : null;
  if (dashboard) {
    process.stderr.write(`dashboard: ${dashboard.url}\n`);
    dashboard.setGrid(
      plan.map((r) => ({
        name: r.name,
        state: 'pending',
        steps: null,
        bestValAccuracy: null,
        testAccuracy: null,
        stepsToTarget: null,
      })),
    );
  }
  const driver = new PlanDriver(plan.length, a, token, cifarDir, dashboard);
  const interrupts = onInterrupt(
    () => driver.interrupt(),
    () => driver.reporter?.done(),
  );
  driver.log(`${kind}: ${plan.length} runs into ${outRoot}${a.local > 0 ? `, ${a.local} local workers` : ''}`);
  const pool = { host: a.host, port: a.local > 0 ? 0 : a.port, token, tls: a.tls, cifarDir };
  const log = (l: string) => driver.log(l);
  const outcomes = await runPlan(plan, outRoot, a.target, { ...pool, waitTimeoutMs: a.waitTimeoutMs, log }, driver);
  interrupts.dispose();
  if (interrupts.requested) process.exitCode = 130;
  else if (driver.gone) process.exitCode = 1;
  driver.local.kill();
  await dashboard?.close();
  const near = plan[0]?.config.evalNearTargets ?? [];
  printAndReport(
    kind,
    outRoot,
    outcomes,
    a.target,
    [...new Set([a.target, ...near])].sort((x, y) => x - y),
  );
  return outcomes;
}

/** A plan in progress: the current run and its progress lines, the local workers, what ended it early. */
class PlanDriver {
  reporter: ReturnType<typeof attachProgress> | null = null;
  /** All local workers died: the current run is abandoned with it and the plan stops. */
  gone: TrainerError | null = null;
  readonly local = new LocalWorkers({ onAllGone: (e) => ((this.gone = e), this.current?.abandon(e)) });
  private current: Coordinator | null = null;
  private unsave = (): void => undefined;
  private detach = (): void => undefined;
  private ran = 0;
  private readonly started = Date.now();

  constructor(
    private readonly runs: number,
    private readonly a: ExperimentPool,
    private readonly token: string | undefined,
    private readonly cifarDir: string | undefined,
    private readonly dashboard: Dashboard | null = null,
  ) {}

  log(line: string): void {
    if (this.reporter) this.reporter.log(line);
    else process.stderr.write(line + '\n');
  }

  /** A signal stops the current run at a step with a checkpoint (status stopped), which ends the plan. */
  interrupt(): void {
    if (!this.current) process.exit(130); // between runs: nothing to save
    this.log(
      'interrupt: finishing the current step, writing a checkpoint and stopping here (Ctrl-C again to quit at once; run the same command to continue)',
    );
    this.current.stop('interrupted');
  }

  onPoolReady(port: number): void {
    const { a, token } = this;
    this.log(`pool listening on ws://${a.host}:${port}${token && a.local === 0 ? ' (token required)' : ''}`);
    const how = { backend: a.backend, dataDir: this.cifarDir, sched: a.sched };
    for (let i = 0; i < a.local; i++) this.local.spawn(i, `ws://127.0.0.1:${port}`, token ?? '', how);
  }

  onRunStart(i: number, run: PlannedRun, coord: Coordinator, pool: RunPool): void {
    this.detach();
    this.detach = this.dashboard?.attach(coord, pool) ?? (() => undefined);
    this.dashboard?.updateGrid(i, { state: 'running' });
    const eta = this.ran > 0 ? (((Date.now() - this.started) / this.ran) * (this.runs - i)) / 1000 : null;
    this.log(`run ${i + 1}/${this.runs}: ${run.name}${eta !== null ? ` (ETA ${Math.round(eta)} s)` : ''}`);
    this.reporter = attachProgress(coord);
    this.current = coord;
    this.unsave = saveOnCrash((e) => keptAfterCrash(coord.crash(e)));
    if (this.gone) coord.abandon(this.gone); // the workers died between runs
  }

  onRunEnd(i: number, o: RunOutcome): void {
    const s = o.summary;
    this.dashboard?.updateGrid(i, {
      state: o.skipped ? 'kept' : s.status,
      steps: s.steps,
      bestValAccuracy: o.bestValAccuracy,
      testAccuracy: s.final.test?.accuracy ?? null,
      stepsToTarget: o.stepsToTarget,
    });
    this.unsave();
    this.reporter?.done();
    this.reporter = null;
    this.current = null;
    if (i === this.runs - 1 || !isOutcome(o.summary.status)) this.local.expectExit(); // the pool closes after this run
    if (o.skipped) this.log(`run ${i + 1}/${this.runs}: ${o.name} already completed; kept`);
    else {
      this.ran++;
      this.log(runEndLine(i, this.runs, o));
    }
    writeRunReport(o.dir, readMetrics(o.dir), o.summary);
  }
}

/** What a finished run of a sweep or experiment came to, in one line. */
export function runEndLine(i: number, runs: number, o: RunOutcome): string {
  const s = o.summary;
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
  const target =
    o.stepsToTarget === null
      ? 'target not reached'
      : `target crossed at step ${o.stepsToTarget.toFixed(1)} (interpolated)`;
  return (
    `run ${i + 1}/${runs}: ${o.name} ${s.status} after ${s.steps} steps: best val ${pct(o.bestValAccuracy)}, ` +
    `test ${pct(s.final.test?.accuracy)}, ${target}`
  );
}

/** The table on stdout (and for a sweep the best learning rates), then the reports. */
function printAndReport(
  kind: string,
  outRoot: string,
  outcomes: RunOutcome[],
  target: number,
  targets: number[],
): void {
  for (const l of formatTable(outcomes, target)) process.stdout.write(l + '\n');
  if (kind === 'sweep') for (const l of ['', ...formatBest(outcomes)]) process.stdout.write(l + '\n');
  const report = writeExperimentReport(kind, outRoot, outcomes, target, targets);
  process.stderr.write(
    `report: ${report}; numbers: ${join(outRoot, 'results.csv')}, ${join(outRoot, 'results.json')}\n`,
  );
}
