// One served run with its progress display: the body of `dtrain coordinator`, and the coordinator half of
// `launch` and of `cluster`'s rank 0. It takes a request (the config derived from the flags, where the run
// lives, how it listens), not flags; --resume auto, --overwrite under the run directory's lock, the
// options that apply to a resumed run, Ctrl-C, the last resort and the run's report are handled here.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type TrainConfig, TrainerError } from '@dtrain/common';
import {
  type Coordinator,
  clearRunDir,
  Dashboard,
  defaultRunDir,
  listCheckpoints,
  openSoloRun,
  type RunSummary,
  readCheckpointState,
  readMetrics,
  type ServerTls,
  type SoloRunOptions,
} from '@dtrain/coordinator';
import { onInterrupt } from '../console/interrupt.js';
import { saveOnCrash } from '../console/last-resort.js';
import { attachProgress, describeRun, summaryLines } from '../console/progress.js';
import { cifarLocation, syntheticCacheDir } from '../data/fetch.js';
import { resumeOverrides } from '../options/resume-options.js';
import { writeRunReport } from '../report/run-report.js';

/** What a served run needs: everything the flags said, already checked. */
export interface RunRequest {
  /** The run's config as the flags give it (for a resumed run: the options given override the checkpoint's). */
  config: TrainConfig;
  /** Long option names given (command line, DTRAIN_*, --config): which of them a resume applies. */
  given: ReadonlySet<string>;
  out: string | undefined;
  /** A run directory or checkpoint, or 'auto' (the run in `out` if it has a checkpoint). */
  resume: string | undefined;
  overwrite: boolean;
  dataDir: string | undefined;
  host: string;
  port: number;
  token: string | undefined;
  tls?: ServerTls | undefined;
  waitTimeoutMs: number;
  /** --trace FILE (Chrome trace events). */
  trace?: string;
  /** --dashboard-port (and --dashboard-host): serve the live dashboard there. */
  dashboard?: { host: string; port: number };
}

export interface StartedCoordinator {
  coord: Coordinator;
  port: number;
  finished: Promise<RunSummary>;
}

/** What the run is opened with: the request's settings, and the run directory cleared or kept before the data comes. */
function soloOptions(
  req: RunRequest,
  out: string,
  resume: string | undefined,
  log: (l: string) => void,
): SoloRunOptions {
  return {
    config: req.config,
    host: req.host,
    port: req.port,
    token: req.token,
    out,
    waitTimeoutMs: req.waitTimeoutMs,
    ...(req.trace ? { trace: req.trace } : {}),
    prepare: async (config) => {
      if (!resume) refuseToReplace(out, req.overwrite); // after the config's check, before a download
      return { ...(await cifarLocation(config.dataset.name, req.dataDir)), syntheticCacheDir: syntheticCacheDir() };
    },
    resumeOverrides: resume ? resumeOverrides(req.given, req.config, readCheckpointState(resume).config) : {},
    ...(resume ? { resume, overwrite: req.overwrite } : {}),
    ...(req.tls ? { tls: req.tls } : {}),
    log,
  };
}

/** Build, bind and start a coordinator with a progress display; Ctrl-C stops it gracefully. */
export async function startCoordinator(
  req: RunRequest,
  onListening?: (port: number) => void,
): Promise<StartedCoordinator> {
  const resume = resolveAutoResume(req.resume, req.out);
  if (req.resume === 'auto')
    process.stderr.write(
      resume
        ? `--resume auto: continuing the run in ${resume}\n`
        : `--resume auto: no checkpoint in ${req.out}; starting a fresh run there\n`,
    );
  const out = req.out ?? (resume ? resume.replace(/\/checkpoints\/step-\d+\/?$/, '') : defaultRunDir());
  let reporterLog: (l: string) => void = (l) => process.stderr.write(l + '\n');
  // bound first: a dashboard port in use is refused before the run directory or the workers exist
  const dashboard = req.dashboard
    ? await Dashboard.open({ ...req.dashboard, token: req.token, log: (l) => process.stderr.write(`${l}\n`) })
    : null;
  const solo = await openSoloRun(soloOptions(req, out, resume, (l) => reporterLog(l))).catch(async (e: unknown) => {
    await dashboard?.close(); // the run did not start: nothing to watch
    throw e;
  });
  const { coord, port } = solo;
  for (const line of describeRun(coord.config, coord.derived)) process.stderr.write(line + '\n');
  process.stderr.write(
    `run directory ${out}; listening on ${req.tls ? 'wss' : 'ws'}://${req.host}:${port}${req.token ? ' (token required; frames sealed)' : ''}\n`,
  );
  onListening?.(port);
  const reporter = attachProgress(coord);
  reporterLog = reporter.log;
  const interrupts = onInterrupt(
    () => {
      reporter.log('interrupt: finishing the current step and writing a checkpoint (Ctrl-C again to quit at once)');
      coord.stop('interrupted');
    },
    () => reporter.done(),
  );
  const unsave = saveOnCrash((e) => keptAfterCrash(coord.crash(e)));
  if (dashboard) {
    dashboard.attach(coord, solo.pool);
    process.stderr.write(`dashboard: ${dashboard.url}\n`);
  }
  const finished = solo.run().then(async (summary) => {
    dashboard?.finished(summary.status);
    await dashboard?.close();
    unsave();
    reporter.done();
    interrupts.dispose();
    writeRunReport(out, readMetrics(out), summary);
    for (const line of summaryLines(summary, out)) process.stderr.write(line + '\n');
    return summary;
  });
  return { coord, port, finished };
}

/** A fresh run in a directory that holds one: refused, or (--overwrite) cleared under the directory's lock. */
function refuseToReplace(out: string, overwrite: boolean): void {
  if (!existsSync(join(out, 'metrics.jsonl'))) return;
  if (!overwrite) {
    throw new TrainerError('ERR_BAD_CONFIG', `${out} already holds a run`, {
      hint: `continue it with --resume ${out}, choose another --out, or pass --overwrite to replace it`,
    });
  }
  clearRunDir(out); // under the directory's lock: a live run there is refused, not destroyed
}

/** What a crashed run kept, in words (null when the run had already ended). */
export function keptAfterCrash(summary: RunSummary | null): string | null {
  return (
    summary &&
    `kept the checkpoint ${summary.finalCheckpoint} (step ${summary.steps}) and summary.json (status crashed); continue with --resume`
  );
}

/** --resume auto: the run in --out if it holds a checkpoint, else undefined (a fresh run there). */
export function resolveAutoResume(resume: string | undefined, out: string | undefined): string | undefined {
  if (resume !== 'auto') return resume;
  if (!out) {
    throw new TrainerError('ERR_BAD_CONFIG', '--resume auto needs --out', {
      hint: 'name the directory a restarted job continues in, e.g. --out runs/job-$SLURM_JOB_ID',
    });
  }
  return listCheckpoints(out).length > 0 ? out : undefined;
}

/** 0 for a run that ended as configured (completed, or stalled under --patience), 130 stopped, 1 otherwise. */
export function exitCodeFor(s: RunSummary): number {
  return s.status === 'completed' || s.status === 'stalled' ? 0 : s.status === 'stopped' ? 130 : 1;
}

/** The config for `workers` workers: --min-workers where given, else all of them (as toTrainConfig derives it). */
export function forWorkers(run: RunRequest, workers: number): TrainConfig {
  return { ...run.config, workers, minWorkers: run.given.has('min-workers') ? run.config.minWorkers : workers };
}
