// `dtrain cluster` once the resolver said who this rank is: rank 0 serves the run (with
// --coordinator-worker also a worker on its local GPU, under the one supervisor), every other rank is a
// worker bound to its local GPU; where a node's layout is known, its local rank 0 starts the node's relay.

import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import type { ClusterPlan } from '../cluster/resolve.js';
import { dataDirFor } from '../data/fetch.js';
import { LocalWorkers, type WorkerSettings } from '../processes/local-workers.js';
import { CLI_PATH as CLI } from '../processes/path.js';
import { exitCodeFor, forWorkers, type RunRequest, startCoordinator } from './coordinator.js';
import { runWorker, type WorkerRun } from './worker.js';

/** A rank's settings beyond the run: its worker's, the give-up clock, --coordinator-worker. */
export interface RankSettings extends WorkerSettings {
  backend: WorkerRun['backend'];
  sched: WorkerRun['sched'];
  giveUpSeconds: number;
  coordinatorWorker: boolean;
}

/** This rank's part of the job; the process's exit status. */
export function runRank(plan: ClusterPlan, run: RunRequest, r: RankSettings): Promise<number> {
  return plan.role === 'coordinator' ? runRankZero(plan, run, r) : runClusterWorker(plan, run.token, r);
}

function workerName(plan: ClusterPlan): string {
  return `${hostname()}-r${plan.rank}`;
}

async function runClusterWorker(plan: ClusterPlan, token: string | undefined, r: RankSettings): Promise<number> {
  if (plan.cudaVisibleDevices !== null) process.env['CUDA_VISIBLE_DEVICES'] = plan.cudaVisibleDevices;
  const relay = plan.relay?.start ? startHostRelay(plan, token, r.giveUpSeconds) : null;
  try {
    // the node's relay asks its workers for the job's token too
    const connect = plan.relay?.url ?? plan.url;
    return await runWorker({
      connect,
      name: workerName(plan),
      giveUp: r.giveUpSeconds,
      quiet: true,
      dataDir: r.dataDir,
      backend: r.backend,
      sched: r.sched,
      token,
    });
  } finally {
    if (relay && relay.exitCode === null) relay.kill('SIGTERM');
  }
}

/** This node's relay (dtrain relay --no-spawn): the node's worker ranks connect to it on loopback. */
function startHostRelay(plan: ClusterPlan, token: string | undefined, giveUpSeconds: number): ChildProcess {
  const r = plan.relay!;
  const child = spawn(
    process.execPath,
    [
      CLI,
      'relay',
      '--connect',
      plan.url,
      '--no-spawn',
      '--local',
      String(r.local),
      '--listen-port',
      String(r.port),
      '--name',
      `${hostname()}-relay`,
      '--give-up',
      String(giveUpSeconds),
    ],
    { env: { ...process.env, DTRAIN_TOKEN: token ?? '' }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  child.once('exit', (code, sig) =>
    process.stderr.write(`[cluster] this node's relay exited (${sig ?? `status ${code}`})\n`),
  );
  return child;
}

async function runRankZero(plan: ClusterPlan, run: RunRequest, r: RankSettings): Promise<number> {
  const dataDir = await dataDirFor(run);
  const workers = plan.workers ?? run.config.workers;
  const local = new LocalWorkers({
    // the job's other ranks may still come: only a job whose one worker is this one fails at once
    onAllGone: (e) => workers === local.count && started.coord.abandon(e),
  });
  const started = await startCoordinator({ ...run, dataDir, config: forWorkers(run, workers) }, (port) => {
    if (r.coordinatorWorker)
      local.spawn(
        plan.rank,
        `ws://127.0.0.1:${port}`,
        run.token ?? '',
        { ...r, dataDir },
        plan.cudaVisibleDevices ?? undefined,
      );
  });
  const summary = await started.finished;
  await local.stop();
  return exitCodeFor(summary);
}
