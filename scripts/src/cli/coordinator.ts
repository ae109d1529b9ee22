// `dtrain coordinator`: serve one training run on --host/--port and train once enough workers joined.
// Also the start of `launch` (startCoordinator) and where CIFAR-10 is prepared for a run.

import { clearRunDir, defaultRunDir, listCheckpoints, openSoloRun, readCheckpoint, readMetrics, type Coordinator, type RunSummary, type ServerTls } from '@dtrain/coordinator';
import { serverTls } from '../options/secrets.js';
import { existsSync, readFileSync } from 'node:fs';
import { givenOptions, resumeOverrides } from '../options/resume-options.js';
import { join } from 'node:path';
import { TrainerError, validateConfig, type TrainConfig } from '@dtrain/common';
import { defaultCifarDir, fetchCifar10, syntheticCacheDir } from '../data/fetch.js';
import type { Argv } from 'yargs';
import { checkPort, checkSeconds, listenOptions, resolveToken, serveOptions, toTrainConfig, type TrainInput } from '../options/options.js';
import { attachProgress, describeRun, summaryLines } from '../console/progress.js';
import { onInterrupt } from '../console/interrupt.js';
import { saveOnCrash } from '../console/last-resort.js';
import { writeRunReport } from '../report/run-report.js';

export type CoordinatorArgs = TrainInput & { host: string; port: number; token: string | undefined; tls?: ServerTls | undefined };

export function coordinatorCommand(y: Argv): Argv {
  return y.command('coordinator', 'serve a training run and train once --workers have joined', (c) => listenOptions(serveOptions(c), 'address to listen on')
    .example('DTRAIN_TOKEN=$(openssl rand -hex 16) $0 coordinator --host 0.0.0.0 --workers 4 --out runs/c1', 'serve a run for 4 workers on other hosts')
    .example('$0 coordinator --resume runs/c1', 'continue it after a restart'),
    async (a) => {
      const started = await startCoordinator({ ...a, port: checkPort(a.port), token: resolveToken(a.token, a.tokenFile), tls: serverTls(a) });
      process.exitCode = exitCodeFor(await started.finished);
    });
}

/** Where CIFAR-10 lives for this run; fetched into the cache on first use unless --data-dir is given. */
export async function prepareCifar(dataset: string, dataDir: string | undefined): Promise<string> {
  const dir = dataDir ?? defaultCifarDir();
  if (dataset === 'cifar10' && !dataDir) await fetchCifar10(dir, (l) => process.stderr.write(`[data] ${l}\n`));
  return dir;
}

export interface StartedCoordinator {
  coord: Coordinator;
  port: number;
  finished: Promise<RunSummary>;
}

/** Build, bind and start a coordinator with a progress display; Ctrl-C stops it gracefully. */
export async function startCoordinator(args: CoordinatorArgs, onListening?: (port: number) => void): Promise<StartedCoordinator> {
  const resume = resolveAutoResume(args.resume, args.out);
  if (args.resume === 'auto') process.stderr.write(resume ? `--resume auto: continuing the run in ${resume}\n` : `--resume auto: no checkpoint in ${args.out}; starting a fresh run there\n`);
  const a = { ...args, resume };
  const config = toTrainConfig(a);
  if (!a.resume) validateConfig(config);
  const out = a.out ?? (a.resume ? a.resume.replace(/\/checkpoints\/step-\d+\/?$/, '') : defaultRunDir());
  let reporterLog: (l: string) => void = (l) => process.stderr.write(l + '\n');
  if (!a.resume && existsSync(join(out, 'metrics.jsonl'))) {
    if (!a.overwrite) {
      throw new TrainerError('ERR_BAD_CONFIG', `${out} already holds a run`, { hint: `continue it with --resume ${out}, choose another --out, or pass --overwrite to replace it` });
    }
    clearRunDir(out); // under the directory's lock: a live run there is refused, not destroyed
  }
  const cifarDir = await prepareCifar(config.dataset.name, a.dataDir);
  const resumeOverrides = a.resume ? overridesFor(a.resume, config) : {};
  const solo = await openSoloRun({
    resumeOverrides,
    config, host: a.host, port: a.port, token: a.token, out, waitTimeoutMs: checkSeconds(a.waitTimeout, '--wait-timeout') * 1000, data: { cifarDir, syntheticCacheDir: syntheticCacheDir() },
    ...(a.resume ? { resume: a.resume, overwrite: a.overwrite } : {}),
    ...(a.tls ? { tls: a.tls } : {}),
    log: (l) => reporterLog(l),
  });
  const { coord, port } = solo;
  for (const line of describeRun(coord.config, coord.derived)) process.stderr.write(line + '\n');
  process.stderr.write(`run directory ${out}; listening on ${a.tls ? 'wss' : 'ws'}://${a.host}:${port}${a.token ? ' (token required; frames sealed)' : ''}\n`);
  onListening?.(port);
  const reporter = attachProgress(coord);
  reporterLog = reporter.log;
  const interrupts = onInterrupt(() => {
    reporter.log('interrupt: finishing the current step and writing a checkpoint (Ctrl-C again to quit at once)');
    coord.stop('interrupted');
  }, () => reporter.done());
  const unsave = saveOnCrash((e) => keptAfterCrash(coord.crash(e)));
  const finished = solo.run().then((summary) => {
    unsave();
    reporter.done();
    interrupts.dispose();
    writeRunReport(out, readMetrics(out), summary);
    for (const line of summaryLines(summary, out)) process.stderr.write(line + '\n');
    return summary;
  });
  return { coord, port, finished };
}

/** What a crashed run kept, in words (null when the run had already ended). */
export function keptAfterCrash(summary: RunSummary | null): string | null {
  return summary && `kept the checkpoint ${summary.finalCheckpoint} (step ${summary.steps}) and summary.json (status crashed); continue with --resume`;
}

/** The options given with --resume that apply to the resumed run (refusing those that would change its meaning). */
function overridesFor(resume: string, requested: TrainConfig): Partial<TrainConfig> {
  const argv = process.argv.slice(2);
  const at = argv.findIndex((x) => x === '--config' || x.startsWith('--config='));
  const file = at < 0 ? undefined : argv[at]!.includes('=') ? argv[at]!.slice('--config='.length) : argv[at + 1];
  let configKeys: string[] = [];
  try {
    configKeys = file ? Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object) : [];
  } catch { /* main.ts already refused an unreadable --config */ }
  return resumeOverrides(givenOptions(argv, process.env, configKeys), requested, readCheckpoint(resume).state.config);
}

/** --resume auto: the run in --out if it holds a checkpoint, else undefined (a fresh run there). */
export function resolveAutoResume(resume: string | undefined, out: string | undefined): string | undefined {
  if (resume !== 'auto') return resume;
  if (!out) {
    throw new TrainerError('ERR_BAD_CONFIG', '--resume auto needs --out', { hint: 'name the directory a restarted job continues in, e.g. --out runs/job-$SLURM_JOB_ID' });
  }
  return listCheckpoints(out).length > 0 ? out : undefined;
}

/** 0 for a run that ended as configured (completed, or stalled under --patience), 130 stopped, 1 otherwise. */
export function exitCodeFor(s: RunSummary): number {
  return s.status === 'completed' || s.status === 'stalled' ? 0 : s.status === 'stopped' ? 130 : 1;
}
