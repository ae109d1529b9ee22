// `dtrain launch`: a coordinator in this process plus N local worker processes on loopback, one combined
// progress display, Ctrl-C forwarded, the coordinator's exit status, and no orphans (workers hold an IPC
// channel to this process and exit when it closes).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CLI_PATH as CLI } from './path.js';
import { allExited } from './children.js';
import { createInterface } from 'node:readline';
import { TrainerError } from '@dtrain/common';
import type { Argv } from 'yargs';
import { exitCodeFor, prepareCifar, startCoordinator } from './coordinator.js';
import { backendOption, resolveToken, schedOption, serveOptions } from './options.js';
import type { OptionsOf } from './options.js';

function launchOptions<T>(y: Argv<T>) {
  return schedOption(backendOption(serveOptions(y), 'the workers'), 'workers\'')
    .option('gpus', { type: 'string', describe: 'comma-separated GPU indices, one per worker (round robin), e.g. 0,1,2,3', group: 'Network:' })
    .example('$0 launch --workers 2', 'the demo: the reference CNN on the embedded dataset')
    .example('$0 launch --workers 4 --gpus 0,1,2,3 --dataset cifar10 --epochs 10 --augment', 'CIFAR-10 on four GPUs')
    .example('$0 launch --resume runs/demo', 'continue a stopped run');
}

export type LaunchArgs = OptionsOf<typeof launchOptions<object>>;

export function launchCommand(y: Argv): Argv {
  return y.command('launch', 'start a coordinator and N local workers; one progress display', launchOptions, async (a) => {
    process.exitCode = await runLaunch({ ...a, token: resolveToken(a.token, a.tokenFile) });
  });
}

export function parseGpus(spec: string | undefined, workers: number): (string | undefined)[] {
  if (!spec) return Array.from({ length: workers }, () => undefined);
  const ids = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0 || ids.some((s) => !/^\d+$/.test(s))) {
    throw new TrainerError('ERR_BAD_CONFIG', `--gpus "${spec}" is not a list of GPU indices`, { hint: 'use e.g. --gpus 0,1' });
  }
  return Array.from({ length: workers }, (_, i) => ids[i % ids.length]);
}

/** What local workers are started with (a pool's or launch's options). */
export interface WorkerSettings {
  backend: string;
  dataDir?: string | undefined;
  /** Linux CPU policy (dtrain worker --sched); none: the worker's default. */
  sched?: string | undefined;
}

/** The command line of local worker i (after the node executable). */
export function workerArgv(i: number, url: string, a: WorkerSettings): string[] {
  const optional = [...(a.dataDir ? ['--data-dir', a.dataDir] : []), ...(a.sched ? ['--sched', a.sched] : [])];
  return [CLI, 'worker', '--connect', url, '--name', `w${i}`, '--backend', a.backend, '--give-up', '30', '--quiet', ...optional];
}

/** The error when every local worker exited before the run finished, with what they said last. */
export function allWorkersGone(n: number, code: number | null, sig: string | null, said: string[]): TrainerError {
  const unique = [...new Set(said.map((l) => l.trim().slice(0, 300)))];
  const words = unique.length ? `; they said: ${unique.map((l) => `"${l}"`).join(', ')}` : '';
  return new TrainerError('ERR_NO_WORKERS', `all ${n} local workers exited (the last with ${sig ?? `status ${code}`}) before the run finished${words}`, {
    hint: 'fix what the workers report (try: dtrain doctor; --backend wasm works everywhere), then resume with --resume',
  });
}

export function spawnWorker(i: number, url: string, token: string, a: WorkerSettings, gpu: string | undefined, onLine?: (line: string) => void): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, DTRAIN_TOKEN: token };
  if (gpu !== undefined) env['CUDA_VISIBLE_DEVICES'] = gpu;
  const child = spawn(process.execPath, workerArgv(i, url, a), {
    // Own process group: a terminal's Ctrl-C reaches only the launcher, which stops the run in order.
    env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true,
  });
  for (const s of [child.stdout, child.stderr]) {
    if (s) createInterface({ input: s }).on('line', (l) => {
      process.stderr.write(`${l}\n`);
      onLine?.(l);
    });
  }
  return child;
}

export async function runLaunch(a: LaunchArgs): Promise<number> {
  const gpus = parseGpus(a.gpus, a.workers);
  const token = a.token ?? randomBytes(16).toString('hex');
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  };
  process.on('exit', killAll);
  let finished = false;
  const lastWords = new Map<number, string>();
  let exited = 0;
  // Fetch once here so the workers find the files in place instead of fetching side by side.
  const dataDir = a.dataset === 'cifar10' ? await prepareCifar(a.dataset, a.dataDir) : a.dataDir;
  const started = await startCoordinator({ ...a, dataDir, host: '127.0.0.1', port: 0, token }, (port) => {
    const url = `ws://127.0.0.1:${port}`;
    for (let i = 0; i < a.workers; i++) {
      const child = spawnWorker(i, url, token, { ...a, dataDir }, gpus[i], (line) => {
        if (/ERR_|error/i.test(line) || !lastWords.has(i)) lastWords.set(i, line); // what went wrong, not the hint after it
      });
      child.on('exit', (code, sig) => {
        if (finished) return;
        if (code !== 0) process.stderr.write(`worker w${i} exited (${sig ?? code})\n`);
        if (++exited === a.workers) started.coord.abandon(allWorkersGone(a.workers, code, sig, [...lastWords.values()]));
      });
      children.push(child);
    }
  });
  const summary = await started.finished;
  finished = true;
  await allExited(children, 5_000);
  killAll();
  return exitCodeFor(summary);
}
