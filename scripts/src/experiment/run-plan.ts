// Experiments: a plan of runs executed back to back on ONE pool of workers (no process restarts between
// runs), resumable (a run whose summary says "completed", "diverged" or "stalled" is kept and skipped; the run that
// was interrupted continues from its newest checkpoint), with steps- and examples-to-target taken from
// each run's metrics.

import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildManifest, median, modelSpecOf, OPERATIONAL_KEYS, paramCount, type TrainConfig } from '@dtrain/common';
import { makeDir } from '@dtrain/common/files';
import {
  Coordinator,
  clearRunDir,
  isOutcome,
  listCheckpoints,
  type MetricRecord,
  type RunPool,
  type RunSummary,
  readCheckpoint,
  readMetrics,
  readSummary,
  type ServerTls,
  WorkerPool,
} from '@dtrain/coordinator';
import { type Curves, crossingAt, curvesOf } from '../analysis/crossing.js';
import { syntheticCacheDir } from '../data/fetch.js';

export interface PlannedRun {
  name: string;
  config: TrainConfig;
  /** What varies in this run (shown in tables and reports). */
  labels: Record<string, string | number | boolean>;
}

export interface RunOutcome {
  name: string;
  labels: PlannedRun['labels'];
  dir: string;
  summary: RunSummary;
  skipped: boolean;
  batchSize: number;
  bestValAccuracy: number | null;
  /** First evaluation at or above the target validation accuracy (null if never reached). */
  stepsToTarget: number | null;
  examplesToTarget: number | null;
  epochsToTarget: number | null;
  secondsToTarget: number | null;
  /** The measured gradient noise scale: median of B_simple over the second half of the run's steps. */
  bSimple: number | null;
  /** Its validation curve and B_simple per step, for the critical-batch analysis (analysis/crossing.ts). */
  curves: Curves;
}

export interface PlanPool {
  host: string;
  port: number;
  token: string | undefined;
  cifarDir: string;
  waitTimeoutMs: number;
  /** Serve wss:// to the workers. */
  tls?: ServerTls | undefined;
  log: (line: string) => void;
  /** --trace for a sweep or experiment: a directory with one <run name>.trace.json per run. */
  traceDir?: string;
}

/**
 * Steps, examples, epochs and training seconds until validation accuracy first reaches `target`, each
 * interpolated linearly between the last validation evaluation below it and the first at or above it (with
 * the same fraction: crossing.ts), so the evaluation cadence does not round the answer up.
 */
export function toTarget(
  records: MetricRecord[],
  target: number,
  batchSize: number,
): Pick<RunOutcome, 'stepsToTarget' | 'examplesToTarget' | 'epochsToTarget' | 'secondsToTarget' | 'bestValAccuracy'> {
  let ms = 0;
  const evals: { step: number; epoch: number; ms: number; accuracy: number }[] = [];
  for (const r of records) {
    if (r.type === 'step') ms += r.stepMs;
    if (r.type === 'eval' && r.split === 'val') evals.push({ step: r.step, epoch: r.epoch, ms, accuracy: r.accuracy });
  }
  const best = evals.length ? evals.reduce((m, e) => Math.max(m, e.accuracy), 0) : null;
  const at = (of: (e: (typeof evals)[number]) => number) => crossingAt(evals, target, of);
  const step = at((e) => e.step);
  const hit = step === null ? null : { step, epoch: at((e) => e.epoch)!, ms: at((e) => e.ms)! };
  return {
    bestValAccuracy: best,
    stepsToTarget: hit?.step ?? null,
    examplesToTarget: hit ? hit.step * batchSize : null,
    epochsToTarget: hit?.epoch ?? null,
    secondsToTarget: hit ? hit.ms / 1000 : null,
  };
}

/** Median of the smoothed B_simple over the second half of the steps (null without estimates). */
export function lateNoiseScale(records: MetricRecord[]): number | null {
  const steps = records.filter((r) => r.type === 'step');
  const late = steps
    .slice(Math.floor(steps.length / 2))
    .map((r) => (r.type === 'step' ? r.bSimple : null))
    .filter((b): b is number => b !== null && Number.isFinite(b));
  return late.length ? median(late) : null;
}

/** JSON with keys sorted at every level: configs compare equal whatever order their keys were written in. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  return `{${entries
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`)
    .join(',')}}`;
}

function withoutOperational(c: TrainConfig): string {
  const rest: Partial<TrainConfig> = { ...c };
  for (const k of OPERATIONAL_KEYS) delete rest[k];
  return canonical(rest);
}

/**
 * The checkpointed, unfinished attempt at this run in `dir`, to continue, with the planned operational
 * settings to apply to it (null: start afresh).
 */
export function resumable(dir: string, config: TrainConfig): { dir: string; overrides: Partial<TrainConfig> } | null {
  if (listCheckpoints(dir).length === 0) return null;
  try {
    if (withoutOperational(readCheckpoint(dir).state.config) !== withoutOperational(config)) return null;
  } catch {
    return null; // unreadable: redo the run
  }
  const overrides: Record<string, unknown> = {};
  for (const k of OPERATIONAL_KEYS) overrides[k] = config[k] ?? (k === 'evalNearTargets' ? [] : 0); // absent: off
  return { dir, overrides: overrides as Partial<TrainConfig> };
}

/** The summary of a run that reached an outcome (completed, or diverged or stalled: results too), else null. */
function finishedSummary(dir: string): RunSummary | null {
  const s = readSummary(dir);
  return s && isOutcome(s.status) ? s : null;
}

export interface PlanHooks {
  onPoolReady?: (port: number) => void;
  onRunStart?: (i: number, run: PlannedRun, coord: Coordinator, pool: RunPool) => void;
  onRunEnd?: (i: number, o: RunOutcome) => void;
}

/** A sweep run's trace file in the --trace directory. */
function traceFile(traceDir: string, runDir: string): string {
  makeDir(traceDir);
  return join(traceDir, `${basename(runDir)}.trace.json`);
}

/** Open the planned run in `dir` on `workers`: continued from its checkpoint, or afresh. */
function openPlannedRun(run: PlannedRun, dir: string, workers: WorkerPool, pool: PlanPool): Coordinator {
  const resume = resumable(dir, run.config); // an interrupted sweep continues its current run
  if (!resume && existsSync(dir)) clearRunDir(dir); // under its lock
  return new Coordinator({
    config: run.config,
    pool: workers,
    out: dir,
    waitTimeoutMs: pool.waitTimeoutMs,
    data: { cifarDir: pool.cifarDir, syntheticCacheDir: syntheticCacheDir() },
    log: pool.log,
    ...(resume ? { resume: resume.dir, resumeOverrides: resume.overrides } : {}),
    ...(pool.traceDir ? { trace: traceFile(pool.traceDir, dir) } : {}),
  });
}

/** What a run in `dir` came to: its summary, steps to the target accuracy, its late noise scale. */
function outcomeOf(run: PlannedRun, dir: string, summary: RunSummary, skipped: boolean, target: number): RunOutcome {
  const records = readMetrics(dir);
  const { batchSize } = run.config;
  const reached = toTarget(records, target, batchSize);
  return {
    name: run.name,
    labels: run.labels,
    dir,
    summary,
    skipped,
    batchSize,
    ...reached,
    bSimple: lateNoiseScale(records),
    curves: curvesOf(records),
  };
}

/** Run every planned run in order on one pool; `onPoolReady` is called once the port is bound. */
export async function runPlan(
  plan: readonly PlannedRun[],
  outRoot: string,
  target: number,
  pool: PlanPool,
  hooks: PlanHooks = {},
): Promise<RunOutcome[]> {
  const maxParams = Math.max(...plan.map((r) => paramCount(buildManifest(modelSpecOf(r.config)))));
  let sink = pool.log; // the pool's lines go to the current run's run.log too
  const tls = pool.tls ? { tls: pool.tls } : {};
  const workers = new WorkerPool({
    host: pool.host,
    port: pool.port,
    token: pool.token,
    maxParams,
    log: (l) => sink(l),
    ...tls,
  });
  const outcomes: RunOutcome[] = [];
  let listening = false;
  try {
    for (const [i, run] of plan.entries()) {
      const dir = join(outRoot, run.name);
      const done = finishedSummary(dir);
      let summary = done;
      if (!summary) {
        const coord = openPlannedRun(run, dir, workers, pool);
        if (!listening) {
          hooks.onPoolReady?.(await workers.listen());
          listening = true;
        }
        sink = (l) => coord.log(l);
        hooks.onRunStart?.(i, run, coord, workers);
        summary = await coord.run();
      }
      const outcome = outcomeOf(run, dir, summary, done !== null, target);
      outcomes.push(outcome);
      hooks.onRunEnd?.(i, outcome);
      if (!isOutcome(summary.status)) break; // a diverged or stalled point is a result; go on
    }
  } finally {
    await workers.shutdown('experiment finished');
  }
  return outcomes;
}
