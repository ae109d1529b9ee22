// `dtrain cluster`: the same command on every rank of a job its scheduler started (srun, mpirun, an
// Indexed Job or JobSet). The resolver (cluster/resolve.ts) says who this rank is; rank 0 serves the run
// (and with --coordinator-worker also trains), every other rank is a worker bound to its local GPU.

import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import type { Argv } from 'yargs';
import { checkPort, checkSeconds, backendOption, listenOptions, resolveToken, schedOption, serveOptions } from '../options/options.js';
import type { OptionsOf } from '../options/options.js';
import { exitCodeFor, prepareCifar, startCoordinator } from './coordinator.js';
import { runWorkerCommand } from './worker.js';
import { spawnWorker } from './launch.js';
import { allExited } from '../processes/children.js';
import { resolveCluster, type ClusterPlan } from '../cluster/resolve.js';
import { givenOptions } from '../options/resume-options.js';
import { CLI_PATH as CLI } from '../processes/path.js';

function clusterOptions<T>(y: Argv<T>) {
  return schedOption(backendOption(listenOptions(serveOptions(y), 'rank 0 listens on this address'), 'workers'), 'workers\'')
    .default('host', '0.0.0.0')
    .option('role', { type: 'string', default: 'auto' as const, choices: ['auto', 'coordinator', 'worker'] as const, describe: 'auto: rank 0 coordinates, the others work; set it where a job runs one role (a JobSet\'s worker Job)', group: 'Cluster:' })
    .option('rank', { type: 'number', describe: 'this process\'s rank (default: from Slurm, Open MPI or JOB_COMPLETION_INDEX)', group: 'Cluster:' })
    .option('world-size', { type: 'number', describe: 'ranks in the job (default: SLURM_NTASKS, OMPI_COMM_WORLD_SIZE)', group: 'Cluster:' })
    .option('local-rank', { type: 'number', describe: 'rank on this host, picks the GPU (default: SLURM_LOCALID, OMPI_COMM_WORLD_LOCAL_RANK, else 0)', group: 'Cluster:' })
    .option('coordinator', { type: 'string', describe: 'host or host:port of rank 0 as workers reach it (default: first host of SLURM_STEP_NODELIST; required under MPI across hosts and Kubernetes)', group: 'Cluster:' })
    .option('coordinator-worker', { type: 'boolean', default: false, describe: 'rank 0 also runs a worker (on local rank 0\'s GPU)', group: 'Cluster:' })
    .option('give-up', { type: 'number', default: 900, describe: 'a worker exits after this many seconds without a coordinator (covers a coordinator restart)', group: 'Cluster:' })
    .option('relays', { type: 'boolean', default: true, describe: 'a node (other than rank 0\'s) with several worker ranks puts them behind one relay that its local rank 0 starts, where the layout is known (Slurm; or --node-index and --local-size); --no-relays: every worker connects to rank 0', group: 'Cluster:' })
    .option('relay-port', { type: 'number', describe: 'loopback port of a node\'s relay (default: --port + 1)', group: 'Cluster:' })
    .option('node-index', { type: 'number', describe: 'this rank\'s node, 0 = rank 0\'s (default: SLURM_NODEID)', group: 'Cluster:' })
    .option('local-size', { type: 'number', describe: 'worker ranks per node, with --node-index (default: SLURM_STEP_TASKS_PER_NODE)', group: 'Cluster:' })
    .example('srun --ntasks 5 $0 cluster --dataset cifar10 --epochs 10 --out runs/$SLURM_JOB_ID --resume auto', 'Slurm: rank 0 coordinates, 4 workers (examples/slurm/dtrain.sbatch)')
    .example('mpirun -np 3 -x DTRAIN_TOKEN -x DTRAIN_COORDINATOR=$(hostname) $0 cluster --out runs/mpi', 'Open MPI as the launcher')
    .example('$0 cluster --role worker --coordinator dtrain-coordinator-0-0.dtrain', 'a Kubernetes worker pod (examples/kubernetes)');
}

export type ClusterArgs = OptionsOf<typeof clusterOptions<object>>;

export function clusterCommand(y: Argv): Argv {
  return y.command('cluster', 'one rank of a job started by Slurm, MPI or Kubernetes: rank 0 coordinates, the others work', clusterOptions, async (a) => {
    const plan = resolveCluster({ ...a, port: checkPort(a.port), workers: explicitWorkers(a), ...(a.relayPort === undefined ? {} : { relayPort: checkPort(a.relayPort, '--relay-port') }) }, process.env);
    for (const line of plan.why) process.stderr.write(`[cluster] ${line}\n`);
    const token = resolveToken(a.token, a.tokenFile);
    if (!token) process.stderr.write('[cluster] warning: no token ($DTRAIN_TOKEN or $DTRAIN_TOKEN_FILE): anyone who reaches the port can join, frames are not sealed\n');
    const code = plan.role === 'coordinator' ? await runRankZero(a, plan, token) : await runClusterWorker(a, plan, token);
    process.exit(code);
  });
}

/** --workers only when given (flag or DTRAIN_WORKERS): otherwise the world size decides. */
function explicitWorkers(a: ClusterArgs): number | undefined {
  return givenOptions(process.argv.slice(2), process.env).has('workers') ? a.workers : undefined;
}

function workerName(plan: ClusterPlan): string {
  return `${hostname()}-r${plan.rank}`;
}

async function runClusterWorker(a: ClusterArgs, plan: ClusterPlan, token: string | undefined): Promise<number> {
  if (plan.cudaVisibleDevices !== null) process.env['CUDA_VISIBLE_DEVICES'] = plan.cudaVisibleDevices;
  const relay = plan.relay?.start ? startHostRelay(a, plan, token) : null;
  try {
    // the node's relay asks its workers for the job's token too
    return await runWorkerCommand({ connect: plan.relay?.url ?? plan.url, name: workerName(plan), giveUp: checkSeconds(a.giveUp, '--give-up'), quiet: true, dataDir: a.dataDir, backend: a.backend, sched: a.sched, token });
  } finally {
    if (relay && relay.exitCode === null) relay.kill('SIGTERM');
  }
}

/** This node's relay (dtrain relay --no-spawn): the node's worker ranks connect to it on loopback. */
function startHostRelay(a: ClusterArgs, plan: ClusterPlan, token: string | undefined): ChildProcess {
  const r = plan.relay!;
  const child = spawn(process.execPath, [CLI, 'relay', '--connect', plan.url, '--no-spawn', '--local', String(r.local), '--listen-port', String(r.port),
    '--name', `${hostname()}-relay`, '--give-up', String(a.giveUp)], { env: { ...process.env, DTRAIN_TOKEN: token ?? '' }, stdio: ['ignore', 'inherit', 'inherit'] });
  child.once('exit', (code, sig) => process.stderr.write(`[cluster] this node's relay exited (${sig ?? `status ${code}`})\n`));
  return child;
}

async function runRankZero(a: ClusterArgs, plan: ClusterPlan, token: string | undefined): Promise<number> {
  const dataDir = a.dataset === 'cifar10' ? await prepareCifar(a.dataset, a.dataDir) : a.dataDir;
  const workers = plan.workers ?? a.workers;
  const local: ReturnType<typeof spawnWorker>[] = [];
  const started = await startCoordinator({ ...a, dataDir, workers, minWorkers: a.minWorkers, port: a.port, token }, (port) => {
    if (!a.coordinatorWorker) return;
    local.push(spawnWorker(plan.rank, `ws://127.0.0.1:${port}`, token ?? '', { ...a, dataDir }, plan.cudaVisibleDevices ?? undefined));
  });
  const summary = await started.finished;
  await allExited(local, 5_000);
  for (const c of local) if (c.exitCode === null) c.kill('SIGTERM');
  return exitCodeFor(summary);
}
