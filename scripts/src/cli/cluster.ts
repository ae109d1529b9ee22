// `dtrain cluster`: the same command on every rank of a job its scheduler started (srun, mpirun, an
// Indexed Job or JobSet). The resolver (cluster/resolve.ts) says who this rank is; runs/cluster.ts runs
// its part: rank 0 serves the run (and with --coordinator-worker also trains), every other rank works.

import type { Argv, Options } from 'yargs';
import { resolveCluster } from '../cluster/resolve.js';
import {
  backendOption,
  checkPort,
  checkSeconds,
  listenOptions,
  type OptionsOf,
  resolveToken,
  schedOption,
  serveOptions,
} from '../options/options.js';
import { runRequest } from '../options/run-request.js';
import { runRank } from '../runs/cluster.js';

const CLUSTER_FLAGS = {
  role: {
    type: 'string',
    default: 'auto' as const,
    choices: ['auto', 'coordinator', 'worker'] as const,
    describe: "auto: rank 0 coordinates, the others work; set it where a job runs one role (a JobSet's worker Job)",
    group: 'Cluster:',
  },
  rank: {
    type: 'number',
    describe: "this process's rank (default: from Slurm, Open MPI or JOB_COMPLETION_INDEX)",
    group: 'Cluster:',
  },
  'world-size': {
    type: 'number',
    describe: 'ranks in the job (default: SLURM_NTASKS, OMPI_COMM_WORLD_SIZE)',
    group: 'Cluster:',
  },
  'local-rank': {
    type: 'number',
    describe: 'rank on this host, picks the GPU (default: SLURM_LOCALID, OMPI_COMM_WORLD_LOCAL_RANK, else 0)',
    group: 'Cluster:',
  },
  coordinator: {
    type: 'string',
    describe:
      'host or host:port of rank 0 as workers reach it (default: first host of SLURM_STEP_NODELIST; required under MPI across hosts and Kubernetes)',
    group: 'Cluster:',
  },
  'coordinator-worker': {
    type: 'boolean',
    default: false,
    describe: "rank 0 also runs a worker (on local rank 0's GPU)",
    group: 'Cluster:',
  },
  'give-up': {
    type: 'number',
    default: 900,
    describe: 'a worker exits after this many seconds without a coordinator (covers a coordinator restart)',
    group: 'Cluster:',
  },
  relays: {
    type: 'boolean',
    default: true,
    describe:
      "a node (other than rank 0's) with several worker ranks puts them behind one relay that its local rank 0 starts, " +
      'where the layout is known (Slurm; or --node-index and --local-size); --no-relays: every worker connects to rank 0',
    group: 'Cluster:',
  },
  'relay-port': {
    type: 'number',
    describe: "loopback port of a node's relay (default: --port + 1)",
    group: 'Cluster:',
  },
  'node-index': {
    type: 'number',
    describe: "this rank's node, 0 = rank 0's (default: SLURM_NODEID)",
    group: 'Cluster:',
  },
  'local-size': {
    type: 'number',
    describe: 'worker ranks per node, with --node-index (default: SLURM_STEP_TASKS_PER_NODE)',
    group: 'Cluster:',
  },
} as const satisfies Record<string, Options>;

function clusterOptions<T>(y: Argv<T>) {
  return schedOption(
    backendOption(listenOptions(serveOptions(y), 'rank 0 listens on this address'), 'workers'),
    "workers'",
  )
    .default('host', '0.0.0.0')
    .options(CLUSTER_FLAGS)
    .example(
      'srun --ntasks 5 $0 cluster --dataset cifar10 --epochs 10 --out runs/$SLURM_JOB_ID --resume auto',
      'Slurm: rank 0 coordinates, 4 workers (examples/slurm/dtrain.sbatch)',
    )
    .example(
      'mpirun -np 3 -x DTRAIN_TOKEN -x DTRAIN_COORDINATOR=$(hostname) $0 cluster --out runs/mpi',
      'Open MPI as the launcher',
    )
    .example(
      '$0 cluster --role worker --coordinator dtrain-coordinator-0-0.dtrain',
      'a Kubernetes worker pod (examples/kubernetes)',
    );
}

export type ClusterArgs = OptionsOf<typeof clusterOptions<object>>;

export function clusterCommand(y: Argv): Argv {
  return y.command(
    'cluster',
    'one rank of a job started by Slurm, MPI or Kubernetes: rank 0 coordinates, the others work',
    clusterOptions,
    async (a) => {
      const run = runRequest({ ...a, port: checkPort(a.port), token: resolveToken(a.token, a.tokenFile) });
      const relayPort = a.relayPort === undefined ? {} : { relayPort: checkPort(a.relayPort, '--relay-port') };
      const plan = resolveCluster(
        { ...a, port: run.port, workers: run.given.has('workers') ? a.workers : undefined, ...relayPort },
        process.env,
      );
      for (const line of plan.why) process.stderr.write(`[cluster] ${line}\n`);
      if (!run.token)
        process.stderr.write(
          '[cluster] warning: no token ($DTRAIN_TOKEN or $DTRAIN_TOKEN_FILE): anyone who reaches the port can join, frames are not sealed\n',
        );
      process.exit(await runRank(plan, run, { ...a, giveUpSeconds: checkSeconds(a.giveUp, '--give-up') }));
    },
  );
}
