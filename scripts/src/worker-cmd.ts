// `dtrain worker`: select the compute backend, join a coordinator (retrying until it is up) and serve.

import { hostname } from 'node:os';
import { applySchedPolicy, selectBackend, WorkerClient, type BackendChoice, type SchedPolicy } from '@dtrain/worker';
import { prepareCifar } from './coordinator-cmd.js';
import { syntheticCacheDir } from './data-fetch.js';

export interface WorkerArgs {
  connect: string;
  token?: string | undefined;
  name?: string | undefined;
  backend: string;
  gpu?: number | undefined;
  giveUp: number;
  quiet: boolean;
  dataDir?: string | undefined;
  sched: string;
}

export async function runWorkerCommand(a: WorkerArgs): Promise<number> {
  if (a.gpu !== undefined) process.env['CUDA_VISIBLE_DEVICES'] = String(a.gpu);
  const name = a.name ?? `${hostname()}-${process.pid}`;
  const log = (line: string): void => {
    process.stderr.write(`[${name}] ${line}\n`);
  };
  const backend = await selectBackend(a.backend as BackendChoice);
  if (!a.quiet) log(`backend ${backend.name} (${backend.reason})`);
  const sched = applySchedPolicy(a.sched as SchedPolicy);
  if (!a.quiet || (a.sched !== 'normal' && sched.policy === 'normal')) log(`scheduling ${sched.reason}`);
  const client = new WorkerClient({ url: a.connect, token: a.token, name, backend, giveUpMs: a.giveUp * 1000,
    prepareData: async (spec) => ({ cifarDir: await prepareCifar(spec.name, a.dataDir), syntheticCacheDir: syntheticCacheDir() }),
    log: a.quiet ? () => undefined : log });
  const stop = (): void => client.stop('interrupted');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Launched by `dtrain launch`: exit when the launcher goes away, so no worker is left behind.
  process.on('disconnect', () => client.stop('launcher exited'));
  const result = await client.run();
  log(`${result.ok ? 'done' : 'stopped'}: ${result.reason} (${result.steps} shards computed)`);
  return result.ok ? 0 : 1;
}
