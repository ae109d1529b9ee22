// The one supervisor of the worker processes a dtrain command starts (launch, cluster's rank 0, relay,
// experiments): spawn them, echo what they say, report once when every one of them has exited before the
// work they serve finished (so that work fails fast instead of waiting out its timeout), stop them, and
// leave no orphans (each holds an IPC channel to this process and exits when it closes; those still
// running when this process exits get SIGTERM).

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TrainerError } from '@dtrain/common';
import { allExited } from './children.js';
import { CLI_PATH } from './path.js';

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
  const fixed = ['--name', `w${i}`, '--backend', a.backend, '--give-up', '30', '--quiet'];
  return [CLI_PATH, 'worker', '--connect', url, ...fixed, ...optional];
}

/** --gpus spread round robin over `workers` (undefined: no CUDA_VISIBLE_DEVICES). */
export function parseGpus(spec: string | undefined, workers: number): (string | undefined)[] {
  if (!spec) return Array.from({ length: workers }, () => undefined);
  const ids = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0 || ids.some((s) => !/^\d+$/.test(s))) {
    throw new TrainerError('ERR_BAD_CONFIG', `--gpus "${spec}" is not a list of GPU indices`, {
      hint: 'use e.g. --gpus 0,1',
    });
  }
  return Array.from({ length: workers }, (_, i) => ids[i % ids.length]);
}

/** The error when every worker a command started exited before its work finished, with what they said last. */
export function allWorkersGone(n: number, code: number | null, sig: string | null, said: string[]): TrainerError {
  const unique = [...new Set(said.map((l) => l.trim().slice(0, 300)))];
  const words = unique.length ? `; they said: ${unique.map((l) => `"${l}"`).join(', ')}` : '';
  const who = n === 1 ? 'the one worker (or relay)' : `all ${n} workers`;
  return new TrainerError(
    'ERR_NO_WORKERS',
    `${who} this command started exited (the last with ${sig ?? `status ${code}`}) before the work finished${words}`,
    {
      hint: 'fix what the workers report (try: dtrain doctor; --backend wasm works everywhere), then resume with --resume',
    },
  );
}

export interface LocalWorkersOptions {
  /** Called once, when every started worker has exited before `stop()`. */
  onAllGone?: (err: TrainerError) => void;
  /** Where a worker's lines go (default: stderr, as they are). */
  echo?: (name: string, line: string) => void;
}

/** A set of worker processes started by this command; see the file's head. */
export class LocalWorkers {
  private readonly children: { name: string; child: ChildProcess }[] = [];
  private readonly lastWords = new Map<string, string>();
  private exited = 0;
  private stopping = false;
  private readonly killAll = (): void => this.kill();

  constructor(private readonly opts: LocalWorkersOptions = {}) {
    process.on('exit', this.killAll);
  }

  /** Local worker i of this command, dialing `url` with `token` (on GPU `gpu` when given). */
  spawn(i: number, url: string, token: string, settings: WorkerSettings, gpu?: string, name = `w${i}`): ChildProcess {
    const env: NodeJS.ProcessEnv = { ...process.env, DTRAIN_TOKEN: token };
    if (gpu !== undefined) env['CUDA_VISIBLE_DEVICES'] = gpu;
    // Own process group: a terminal's Ctrl-C reaches only this process, which stops the run in order.
    const child = spawn(process.execPath, workerArgv(i, url, settings), {
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    for (const s of [child.stdout, child.stderr])
      if (s) createInterface({ input: s }).on('line', (l) => this.heard(name, l));
    return this.adopt(name, child);
  }

  /** Supervise a worker process started elsewhere (one over ssh); pass its lines to `heard`. */
  adopt(name: string, child: ChildProcess): ChildProcess {
    this.children.push({ name, child });
    child.on('exit', (code, sig) => this.onExit(name, code, sig));
    return child;
  }

  /** A line a worker said: echoed, and kept if it says what went wrong (not the hint after it). */
  heard(name: string, line: string): void {
    (this.opts.echo ?? ((_, l: string) => process.stderr.write(`${l}\n`)))(name, line);
    if (/ERR_|error|denied|refused|not found|No such/i.test(line) || !this.lastWords.has(name))
      this.lastWords.set(name, line);
  }

  get count(): number {
    return this.children.length;
  }

  /** Wait up to `graceMs` for the workers to end by themselves (they were told by their coordinator), then SIGTERM the rest. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    await allExited(
      this.children.map((c) => c.child),
      graceMs,
    );
    this.kill();
    process.off('exit', this.killAll);
  }

  /** From now on the workers may exit (their coordinator is done with them): that is not a failure. */
  expectExit(): void {
    this.stopping = true;
  }

  /** SIGTERM every worker still running (now). */
  kill(): void {
    this.stopping = true;
    for (const { child } of this.children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }

  private onExit(name: string, code: number | null, sig: string | null): void {
    if (this.stopping) return;
    if (code !== 0) process.stderr.write(`worker ${name} exited (${sig ?? code})\n`);
    if (++this.exited === this.children.length)
      this.opts.onAllGone?.(allWorkersGone(this.children.length, code, sig, [...this.lastWords.values()]));
  }
}
