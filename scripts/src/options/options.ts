// Command-line options: the training options and their TrainConfig, both from the flag table
// (train-flags.ts), and the options of serving, listening and pools; validation itself lives in
// @dtrain/common (validateConfig, called once by the coordinator).

import { type FolderDatasetSpec, type TrainConfig, TrainerError } from '@dtrain/common';
import { folderDatasetSpec, isModelFile, readModelFile } from '@dtrain/common/files';
import { BACKEND_CHOICES, SCHED_POLICIES } from '@dtrain/worker';
import type { Argv } from 'yargs';
import { setAt } from './config-path.js';
import { serverTlsOptions, tokenOption } from './secrets.js';
import { type FlagRow, TRAIN_FLAGS } from './train-flags.js';

const camel = (kebab: string): string => kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

type YargsPart<T> = { [K in keyof T]: Omit<T[K], 'role' | 'path' | 'only' | 'to'> };

/** The training options, as yargs options (the table's rows without their config columns). */
export function trainOptions<T>(y: Argv<T>) {
  const rows = (Object.entries(TRAIN_FLAGS) as [string, FlagRow][]).map(([flag, row]) => {
    const { role, path, only, to, ...option } = row;
    return [flag, option];
  });
  return y.options(Object.fromEntries(rows) as YargsPart<typeof TRAIN_FLAGS>);
}

/** Named keys only: drops the index signature yargs adds, and `_` and `$0`. */
type NamedOptions<T> = {
  [K in keyof T as string extends K ? never : number extends K ? never : K extends '_' | '$0' ? never : K]: T[K];
};

/** The options a builder defines, as yargs parses them (types inferred, camelCase and kebab-case keys). */
export type OptionsOf<B extends (y: Argv<object>) => Argv<unknown>> = NamedOptions<Awaited<ReturnType<B>['argv']>>;

/** What toTrainConfig reads: the training options, from the command line or built by a benchmark. */
export type TrainInput = OptionsOf<typeof trainOptions<object>>;

/** A --dataset value's kind: folder:PATH is 'folder'. */
const datasetKind = (dataset: string): string => (dataset.startsWith('folder:') ? 'folder' : dataset);

/** The folder dataset's spec: the flags' common settings, and the folder scanned now. */
function folderOf(d: Record<string, unknown>, path: string): FolderDatasetSpec {
  const o = { seed: Number(d['seed']), valFraction: Number(d['valFraction']), normalize: d['normalize'] === true };
  return folderDatasetSpec(path, { ...o, augment: d['augment'] === true, testFraction: Number(d['testFraction']) });
}

export function toTrainConfig(a: TrainInput): TrainConfig {
  const config: Record<string, unknown> = {};
  const args = a as unknown as Record<string, unknown>;
  for (const [flag, row] of Object.entries(TRAIN_FLAGS) as [string, FlagRow][]) {
    if (!row.path || (row.only && !row.only.includes(datasetKind(a.dataset)))) continue;
    const given = args[camel(flag)];
    const value = row.to ? row.to(given, a) : given;
    if (value !== undefined) for (const path of [row.path].flat()) setAt(config, path, value);
  }
  if (typeof config.model === 'string' && isModelFile(config.model)) config.modelSpec = readModelFile(config.model);
  if (a.dataset.startsWith('folder:'))
    config.dataset = folderOf(config.dataset as Record<string, unknown>, a.dataset.slice(7));
  return config as unknown as TrainConfig;
}

/** Training options plus the token: what every command that serves a run takes. */
export function serveOptions<T>(y: Argv<T>) {
  return tokenOption(trainOptions(y));
}

export { resolveToken, tokenOption } from './secrets.js';

/** --host/--port for a coordinator or pool that listens. */
export function listenOptions<T>(y: Argv<T>, what: string) {
  return serverTlsOptions(y)
    .option('host', {
      type: 'string',
      default: '127.0.0.1',
      describe: `${what} address (0.0.0.0 for workers on other machines)`,
      group: 'Network:',
    })
    .option('port', { type: 'number', default: 7070, describe: 'TCP port (0: any free port)', group: 'Network:' });
}

/** $DTRAIN_TOKEN and $DTRAIN_TOKEN_FILE, accepted (and unused) by commands that serve no run. */
export function ignoredTokenOptions<T>(y: Argv<T>) {
  return y.option('token', { type: 'string', hidden: true }).option('token-file', { type: 'string', hidden: true });
}

/** A TCP port: a whole number in 0..65535 (0: any free port). */
export function checkPort(port: number, flag = '--port'): number {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      Number.isNaN(port) ? `${flag} is not a number` : `${flag} ${port} is not a TCP port`,
      { hint: `use a whole number in 0..65535, e.g. ${flag} 7070 (0: any free port)` },
    );
  }
  return port;
}

/** A duration in seconds from a flag: a finite number >= 0. */
export function checkSeconds(seconds: number, flag: string): number {
  if (!Number.isFinite(seconds) || seconds < 0) {
    const what = Number.isNaN(seconds) ? `${flag} is not a number` : `${flag} ${seconds} is not a duration`;
    throw new TrainerError('ERR_BAD_CONFIG', what, { hint: `give seconds >= 0, e.g. ${flag} 600` });
  }
  return seconds;
}

/** A coordinator's address from a flag: ws:// or wss://, a host, a port in 1..65535 if given. */
export function checkConnect(url: string, flag = '--connect'): string {
  const hint = {
    hint: 'use e.g. ws://10.0.0.1:7070 (wss:// for TLS; [::1] for IPv6; ws+unix:/path for a Unix socket)',
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TrainerError('ERR_BAD_CONFIG', `${flag} "${url}" is not a valid address (host or port malformed)`, hint);
  }
  if (parsed.protocol === 'ws+unix:') {
    if (!parsed.pathname.startsWith('/'))
      throw new TrainerError('ERR_BAD_CONFIG', `${flag} "${url}" names no absolute socket path`, hint);
    return url; // a relay's host-local Unix socket
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new TrainerError('ERR_BAD_CONFIG', `${flag} "${url}" is not a ws:// or wss:// address`, hint);
  }
  if (!parsed.hostname) throw new TrainerError('ERR_BAD_CONFIG', `${flag} "${url}" names no host`, hint);
  if (parsed.port === '0')
    throw new TrainerError('ERR_BAD_CONFIG', `${flag} "${url}": port 0 is not a port to connect to`, hint);
  return url;
}

export function backendOption<T>(y: Argv<T>, who: string) {
  return y.option('backend', {
    type: 'string',
    default: 'auto' as const,
    choices: BACKEND_CHOICES,
    describe:
      `tfjs backend for ${who}: auto = tensorflow (native, GPU if present) if it loads, else wasm, else ` +
      `cpu; wasm runs dtrain's kernels with fused multiply-adds where the engine can, wasm-simd without`,
    group: 'Network:',
  });
}

export function schedOption<T>(y: Argv<T>, who: string) {
  return y.option('sched', {
    type: 'string',
    default: 'batch' as const,
    choices: SCHED_POLICIES,
    describe: `${who} Linux CPU policy: batch = SCHED_BATCH via chrt (a woken worker does not preempt a coordinator on the same cores), normal = leave as is`,
    group: 'Network:',
  });
}

/** The options of a pool that serves many runs (experiments and sweeps). */
export function poolOptions<T>(y: Argv<T>) {
  return schedOption(backendOption(listenOptions(serveOptions(y), 'pool'), 'local workers'), "local workers'")
    .option('local', {
      type: 'number',
      default: 2,
      describe: 'local worker processes to start (0: wait for workers to connect)',
      group: 'Network:',
    })
    .option('target', {
      type: 'number',
      default: 0.5,
      describe: 'target validation accuracy for steps/epochs/examples to target',
      group: 'Run:',
    })
    .option('dry-run', {
      type: 'boolean',
      default: false,
      describe: 'print the runs, their steps and an estimated time (from a short speed probe), then stop',
      group: 'Run:',
    });
}
