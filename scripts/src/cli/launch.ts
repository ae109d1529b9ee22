// `dtrain launch`: a coordinator in this process plus N local worker processes on loopback (or, with
// --hostfile, workers on other hosts over ssh), one combined progress display, Ctrl-C forwarded, the
// coordinator's exit status, and no orphans (local workers hold an IPC channel to this process, remote
// ones watch their ssh stdin; each exits when its link to the launcher closes).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CLI_PATH as CLI } from '../processes/path.js';
import { allExited } from '../processes/children.js';
import { createInterface } from 'node:readline';
import { TrainerError } from '@dtrain/common';
import type { Argv } from 'yargs';
import { exitCodeFor, prepareCifar, startCoordinator } from './coordinator.js';
import { backendOption, checkPort, resolveToken, schedOption, serveOptions } from '../options/options.js';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseHostfile, type HostSlots } from '../cluster/hostfile.js';
import { spawnRemoteWorker } from '../cluster/ssh.js';
import type { OptionsOf } from '../options/options.js';

function launchOptions<T>(y: Argv<T>) {
  return schedOption(backendOption(serveOptions(y), 'the workers'), 'workers\'')
    .option('gpus', { type: 'string', describe: 'comma-separated GPU indices, one per worker (round robin), e.g. 0,1,2,3', group: 'Network:' })
    .option('hostfile', { type: 'string', describe: 'start the workers on other hosts over ssh: lines "host slots=N" (N workers there, on GPUs 0..N-1); the coordinator runs here', group: 'Hosts:' })
    .option('advertise', { type: 'string', describe: 'with --hostfile: this machine\'s address as the hosts reach it (default: its hostname)', group: 'Hosts:' })
    .option('port', { type: 'number', default: 7070, describe: 'with --hostfile: the port to listen on (on every interface)', group: 'Hosts:' })
    .option('ssh-option', { type: 'string', array: true, default: [] as string[], describe: 'with --hostfile: extra ssh -o options, e.g. --ssh-option IdentityFile=~/.ssh/cluster (BatchMode=yes always)', group: 'Hosts:' })
    .option('relays', { type: 'boolean', default: true, describe: 'with --hostfile: a host with slots > 1 runs one relay in front of its workers (one gradient per host per step); --no-relays: every worker connects here', group: 'Hosts:' })
    .option('remote-command', { type: 'string', default: 'dtrain', describe: 'with --hostfile: the dtrain command on the hosts (install it there with npm install -g dtrain-VERSION.tgz)', group: 'Hosts:' })
    .example('$0 launch --workers 2', 'the demo: the reference CNN on the embedded dataset')
    .example('$0 launch --workers 4 --gpus 0,1,2,3 --dataset cifar10 --epochs 10 --augment', 'CIFAR-10 on four GPUs')
    .example('$0 launch --resume runs/demo', 'continue a stopped run')
    .example('$0 launch --hostfile hosts --advertise 10.0.0.1 --dataset cifar10 --out runs/h1', 'workers on the hosts in ./hosts over ssh (examples/hostfile)');
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
  return new TrainerError('ERR_NO_WORKERS', `${n === 1 ? 'the one worker (or relay)' : `all ${n} workers`} this launcher started exited (the last with ${sig ?? `status ${code}`}) before the run finished${words}`, {
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

/** A worker process this launcher started (locally, or ssh for a remote one), and what it said last. */
interface Started {
  name: string;
  child: ChildProcess;
}

/** Local workers on loopback, or remote ones over ssh from the hostfile; each line is passed to `said`. */
function startWorkers(a: LaunchArgs, port: number, token: string, dataDir: string | undefined, said: (name: string, line: string) => void): Started[] {
  if (!a.hostfile) {
    const gpus = parseGpus(a.gpus, a.workers);
    return Array.from({ length: a.workers }, (_, i) => ({ name: `w${i}`, child: spawnWorker(i, `ws://127.0.0.1:${port}`, token, { ...a, dataDir }, gpus[i], (l) => said(`w${i}`, l)) }));
  }
  const url = `ws://${a.advertise ?? hostname()}:${port}`;
  return readHosts(a.hostfile).flatMap(({ host, slots }) => Array.from({ length: a.relays && slots > 1 ? 1 : slots }, (_, slot) => {
    const relayFor = a.relays && slots > 1 ? slots : undefined;
    const name = relayFor ? `${host}#relay` : `${host}#${slot}`;
    const child = spawnRemoteWorker({ host, slot, url, backend: a.backend, command: a.remoteCommand, dataDir: a.dataDir, sched: a.sched, relayFor }, token, a.sshOption, (l) => {
      process.stderr.write(`[${host}] ${l}\n`);
      said(name, l);
    });
    return { name, child };
  }));
}

function readHosts(path: string): HostSlots[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TrainerError('ERR_BAD_CONFIG', `--hostfile ${path}: ${(e as Error).message}`, { hint: 'give a file with lines such as "gpu01 slots=4"' });
  }
  return parseHostfile(text, path);
}

export async function runLaunch(a: LaunchArgs): Promise<number> {
  const hosts = a.hostfile ? readHosts(a.hostfile) : null;
  // with relays, a host of several slots is one connection (its relay) to wait for
  const workers = hosts ? hosts.reduce((n, h) => n + (a.relays && h.slots > 1 ? 1 : h.slots), 0) : a.workers;
  if (!hosts) parseGpus(a.gpus, a.workers); // refuse a bad --gpus before anything starts
  const token = a.token ?? randomBytes(16).toString('hex');
  let children: Started[] = [];
  const killAll = (): void => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.on('exit', killAll);
  let finished = false;
  const lastWords = new Map<string, string>();
  let exited = 0;
  // Fetch once here so the workers find the files in place instead of fetching side by side.
  const dataDir = a.dataset === 'cifar10' ? await prepareCifar(a.dataset, a.dataDir) : a.dataDir;
  const listen = hosts ? { host: '0.0.0.0', port: checkPort(a.port) } : { host: '127.0.0.1', port: 0 };
  const started = await startCoordinator({ ...a, workers, dataDir, ...listen, token }, (port) => {
    children = startWorkers({ ...a, workers }, port, token, dataDir, (name, line) => {
      if (/ERR_|error|denied|refused|not found|No such/i.test(line) || !lastWords.has(name)) lastWords.set(name, line); // what went wrong, not the hint after it
    });
    for (const { name, child } of children) {
      child.on('exit', (code, sig) => {
        if (finished) return;
        if (code !== 0) process.stderr.write(`worker ${name} exited (${sig ?? code})\n`);
        if (++exited === workers) started.coord.abandon(allWorkersGone(workers, code, sig, [...lastWords.values()]));
      });
    }
  });
  const summary = await started.finished;
  finished = true;
  await allExited(children.map((c) => c.child), 5_000);
  killAll();
  return exitCodeFor(summary);
}
