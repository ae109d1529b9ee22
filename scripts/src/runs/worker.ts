// One worker process: the body of `dtrain worker` and of every worker rank of `dtrain cluster`: pick the
// backend and CPU policy, serve a coordinator until it is done with us, and say why we stopped.

import { hostname } from 'node:os';
import { TrainerError } from '@dtrain/common';
import {
  applySchedPolicy,
  type BackendChoice,
  type ClientTls,
  type SchedPolicy,
  selectBackend,
  WorkerClient,
} from '@dtrain/worker';
import { cifarLocation, syntheticCacheDir } from '../data/fetch.js';
import { warmSyntheticCache } from '../data/synthetic-thread.js';

/** What a worker process runs with (from `dtrain worker`'s options, or `dtrain cluster`'s plan). */
export interface WorkerRun {
  connect: string;
  name?: string | undefined;
  gpu?: number | undefined;
  giveUp: number;
  maxShard?: number | undefined;
  quiet: boolean;
  dataDir?: string | undefined;
  backend: BackendChoice;
  sched: SchedPolicy;
  token: string | undefined;
  tls?: ClientTls | undefined;
  exitWithStdin?: boolean | undefined;
}

/** A coordinator cannot choose which folder of this machine a worker reads: the worker's own --data-dir says. */
export function folderNeedsDataDir(path: string): TrainerError {
  return new TrainerError(
    'ERR_BAD_CONFIG',
    `the run trains on a folder dataset (${path.slice(0, 200)}); this worker has no --data-dir`,
    {
      hint: "give the worker its copy of the folder: dtrain worker --data-dir DIR (launch and cluster pass the run's folder)",
    },
  );
}

export async function runWorker(a: WorkerRun): Promise<number> {
  if (a.gpu !== undefined) process.env['CUDA_VISIBLE_DEVICES'] = String(a.gpu);
  const name = a.name ?? `${hostname()}-${process.pid}`;
  const log = (line: string): void => {
    process.stderr.write(`[${name}] ${line}\n`);
  };
  const backend = await selectBackend(a.backend);
  if (!a.quiet) log(`backend ${backend.name} (${backend.reason})`);
  const sched = applySchedPolicy(a.sched);
  if (!a.quiet || (a.sched !== 'normal' && sched.policy === 'normal')) log(`scheduling ${sched.reason}`);
  const client = new WorkerClient({
    url: a.connect,
    token: a.token,
    name,
    backend,
    giveUpMs: a.giveUp * 1000,
    ...(a.maxShard ? { maxShard: a.maxShard } : {}),
    ...(a.tls ? { tls: a.tls } : {}),
    prepareData: async (spec) => {
      if (spec.name === 'synthetic') await warmSyntheticCache(spec, syntheticCacheDir()); // off the event loop: pings stay answered
      if (spec.name === 'folder' && !a.dataDir) throw folderNeedsDataDir(spec.path);
      return { ...(await cifarLocation(spec.name, a.dataDir)), syntheticCacheDir: syntheticCacheDir() };
    },
    log: a.quiet ? () => undefined : log,
    warn: log,
  });
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
