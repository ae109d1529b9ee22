// `dtrain worker`: select the compute backend, join a coordinator (retrying until it is up) and serve.

import { hostname } from 'node:os';
import type { Argv } from 'yargs';
import { MAX_SHARD_SAMPLES, TrainerError } from '@dtrain/common';
import { applySchedPolicy, selectBackend, WorkerClient } from '@dtrain/worker';
import { backendOption, checkConnect, checkSeconds, resolveToken, schedOption, tokenOption } from '../options/options.js';
import { clientTls, clientTlsOptions } from '../options/secrets.js';
import type { ClientTls } from '@dtrain/worker';
import type { OptionsOf } from '../options/options.js';
import { prepareCifar } from './coordinator.js';
import { syntheticCacheDir } from '../data/fetch.js';
import { warmSyntheticCache } from '../data/synthetic-thread.js';

function workerOptions<T>(y: Argv<T>) {
  return clientTlsOptions(schedOption(backendOption(tokenOption(y), 'this worker'), 'this worker\'s'))
    .option('connect', { type: 'string', demandOption: true, describe: 'coordinator address, e.g. ws://10.0.0.1:7070', group: 'Network:' })
    .option('name', { type: 'string', describe: 'name in logs and metrics (default: host-pid)' })
    .option('gpu', { type: 'number', describe: 'GPU index for this worker (sets CUDA_VISIBLE_DEVICES)' })
    .option('give-up', { type: 'number', default: 0, describe: 'exit after this many seconds without a coordinator (0: keep retrying)' })
    .option('max-shard', {
      type: 'number', default: MAX_SHARD_SAMPLES, describe: 'the most samples this worker computes in one assignment (what its memory holds); larger ones are refused',
    })
    .option('quiet', { type: 'boolean', default: false, describe: 'log only problems' })
    .option('data-dir', { type: 'string', describe: 'cifar10: directory with the binary files (default: the cache; fetched on first use)' })
    .option('exit-with-stdin', { type: 'boolean', default: false, hidden: true, describe: 'stop when stdin closes (workers started over ssh: no orphan when the launcher goes)' })
    .example('DTRAIN_TOKEN=... $0 worker --connect ws://10.0.0.1:7070 --gpu 0', 'join a coordinator with GPU 0')
    .example('$0 worker --connect wss://coord.example:7070 --tls-ca ca.pem --token-file /run/secrets/dtrain', 'over TLS')
    .check((a) => {
      checkConnect(a.connect);
      checkSeconds(a.giveUp as number, '--give-up');
      if (!Number.isInteger(a.maxShard) || (a.maxShard as number) < 1) {
        throw new TrainerError('ERR_BAD_CONFIG', `--max-shard ${String(a.maxShard)} must be a whole number >= 1`, { hint: `e.g. --max-shard ${MAX_SHARD_SAMPLES}` });
      }
      if (a.gpu !== undefined && (!Number.isInteger(a.gpu) || a.gpu < 0)) {
        throw new TrainerError('ERR_BAD_CONFIG', `--gpu ${a.gpu} must be a GPU index >= 0`, { hint: 'use e.g. --gpu 0' });
      }
      return true;
    });
}

export type WorkerArgs = OptionsOf<typeof workerOptions<object>>;

/** What a worker process runs with (from `dtrain worker`'s options, or `dtrain cluster`'s plan). */
export interface WorkerRun {
  connect: string;
  name?: string | undefined;
  gpu?: number | undefined;
  giveUp: number;
  maxShard?: number | undefined;
  quiet: boolean;
  dataDir?: string | undefined;
  backend: WorkerArgs['backend'];
  sched: WorkerArgs['sched'];
  token: string | undefined;
  tls?: ClientTls | undefined;
  exitWithStdin?: boolean | undefined;
}

export function workerCommand(y: Argv): Argv {
  return y.command('worker', 'join a coordinator and compute gradients', workerOptions, async (a) => {
    const code = await runWorkerCommand({ ...a, token: resolveToken(a.token, a.tokenFile), tls: clientTls(a) });
    // The IPC channel to a launcher and tfjs' wasm runtime keep the loop alive: leave explicitly.
    process.exit(code);
  });
}

export async function runWorkerCommand(a: WorkerRun): Promise<number> {
  if (a.gpu !== undefined) process.env['CUDA_VISIBLE_DEVICES'] = String(a.gpu);
  const name = a.name ?? `${hostname()}-${process.pid}`;
  const log = (line: string): void => {
    process.stderr.write(`[${name}] ${line}\n`);
  };
  const backend = await selectBackend(a.backend);
  if (!a.quiet) log(`backend ${backend.name} (${backend.reason})`);
  const sched = applySchedPolicy(a.sched);
  if (!a.quiet || (a.sched !== 'normal' && sched.policy === 'normal')) log(`scheduling ${sched.reason}`);
  const client = new WorkerClient({ url: a.connect, token: a.token, name, backend, giveUpMs: a.giveUp * 1000, ...(a.maxShard ? { maxShard: a.maxShard } : {}), ...(a.tls ? { tls: a.tls } : {}),
    prepareData: async (spec) => {
      if (spec.name === 'synthetic') await warmSyntheticCache(spec, syntheticCacheDir()); // off the event loop: pings stay answered
      return { cifarDir: await prepareCifar(spec.name, a.dataDir), syntheticCacheDir: syntheticCacheDir() };
    },
    log: a.quiet ? () => undefined : log, warn: log });
  let interrupted = false;
  const stop = (): void => {
    interrupted = true;
    client.stop('interrupted');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Launched by `dtrain launch`: exit when the launcher goes away, so no worker is left behind.
  process.on('disconnect', () => client.stop('launcher exited'));
  if (a.exitWithStdin) process.stdin.on('close', () => client.stop('launcher closed the connection')).resume();
  const result = await client.run();
  log(`${result.ok ? 'done' : 'stopped'}: ${result.reason} (${result.steps} shards computed)`);
  return interrupted ? 130 : result.ok ? 0 : result.permanent ? 2 : 1;
}
