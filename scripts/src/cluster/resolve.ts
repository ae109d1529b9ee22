// Who am I in this job? One pure resolver for `dtrain cluster`, the same command on every rank. It reads,
// field by field and in this order: explicit flags, then Slurm (SLURM_PROCID, SLURM_NTASKS,
// SLURM_LOCALID, SLURM_STEP_NODELIST), Open MPI (OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK), Kubernetes
// (JOB_COMPLETION_INDEX of an Indexed Job). Rank 0 is the coordinator unless --role says otherwise.
// Everything it decides comes with the reason, printed at start.

import { TrainerError } from '@dtrain/common';
import { coordinatorConnections, type HostLayout, type HostRelay, hostLayout, hostRelay } from './host-relays.js';
import { expandHostlist } from './hostlist.js';

export type Env = Readonly<Record<string, string | undefined>>;
export type Role = 'coordinator' | 'worker';
export type Scheduler = 'slurm' | 'mpi' | 'kubernetes' | 'none';

export interface ClusterFlags {
  role?: 'auto' | Role | undefined;
  rank?: number | undefined;
  worldSize?: number | undefined;
  localRank?: number | undefined;
  /** host or host:port of the coordinator, as workers reach it. */
  coordinator?: string | undefined;
  port: number;
  /** Workers the coordinator waits for (default: world size - 1, + 1 with coordinatorWorker). */
  workers?: number | undefined;
  /** Rank 0 also runs a worker. */
  coordinatorWorker: boolean;
  /** A host with several worker ranks puts them behind one relay (host-relays.ts). */
  relays?: boolean | undefined;
  /** Loopback port of a host's relay. */
  relayPort?: number | undefined;
  nodeIndex?: number | undefined;
  localSize?: number | undefined;
}

export interface ClusterPlan {
  scheduler: Scheduler;
  rank: number;
  worldSize: number | null;
  localRank: number;
  role: Role;
  /** ws://host:port that workers connect to. */
  url: string;
  /** For the coordinator: workers to wait for. */
  workers: number | null;
  /** CUDA_VISIBLE_DEVICES to set for a worker here (null: leave the environment as it is). */
  cudaVisibleDevices: string | null;
  /** For a worker rank on a non-coordinator host with several ranks: the host's relay (null: connect to url). */
  relay: HostRelay | null;
  /** One line per decision: what, from where. */
  why: string[];
}

const refuse = (message: string, hint: string): TrainerError => new TrainerError('ERR_BAD_CONFIG', message, { hint });

export function detectScheduler(env: Env): Scheduler {
  if (env['SLURM_PROCID'] !== undefined && (env['SLURM_STEP_ID'] !== undefined || env['SLURM_NTASKS'] !== undefined))
    return 'slurm';
  if (env['OMPI_COMM_WORLD_RANK'] !== undefined) return 'mpi';
  if (env['JOB_COMPLETION_INDEX'] !== undefined) return 'kubernetes';
  return 'none';
}

function envInt(env: Env, name: string, min: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min)
    throw refuse(
      `${name}="${v.slice(0, 40)}" is not a whole number >= ${min}`,
      `the scheduler sets ${name}; unset it or fix the job script`,
    );
  return Number(v);
}

/** The first defined [value, reason] pair. */
function pick<T>(...options: [T | undefined, string][]): [T, string] | undefined {
  const hit = options.find(([v]) => v !== undefined);
  return hit ? [hit[0] as T, hit[1]] : undefined;
}

const NAMES: Record<Exclude<Scheduler, 'none'>, { rank: string; size?: string; local?: string }> = {
  slurm: { rank: 'SLURM_PROCID', size: 'SLURM_NTASKS', local: 'SLURM_LOCALID' },
  mpi: { rank: 'OMPI_COMM_WORLD_RANK', size: 'OMPI_COMM_WORLD_SIZE', local: 'OMPI_COMM_WORLD_LOCAL_RANK' },
  kubernetes: { rank: 'JOB_COMPLETION_INDEX' },
};

function fromScheduler(
  env: Env,
  s: Scheduler,
  field: 'rank' | 'size' | 'local',
  min: number,
): [number | undefined, string] {
  const name = s === 'none' ? undefined : NAMES[s][field];
  return [name ? envInt(env, name, min) : undefined, name ? `${name}=${env[name] ?? ''}` : ''];
}

/** Where the coordinator is, as workers reach it. */
function coordinatorAddress(f: ClusterFlags, env: Env, s: Scheduler): [string, string] {
  if (f.coordinator) return [f.coordinator, '--coordinator'];
  const nodelist = env['SLURM_STEP_NODELIST'] ?? env['SLURM_JOB_NODELIST'];
  if (s === 'slurm' && nodelist) {
    const name = env['SLURM_STEP_NODELIST'] ? 'SLURM_STEP_NODELIST' : 'SLURM_JOB_NODELIST';
    return [expandHostlist(nodelist)[0]!, `first host of ${name}=${nodelist.slice(0, 80)}, where rank 0 runs`];
  }
  if (
    s === 'mpi' &&
    env['OMPI_COMM_WORLD_LOCAL_SIZE'] !== undefined &&
    env['OMPI_COMM_WORLD_LOCAL_SIZE'] === env['OMPI_COMM_WORLD_SIZE']
  ) {
    return ['127.0.0.1', 'every rank on this host (OMPI_COMM_WORLD_LOCAL_SIZE = OMPI_COMM_WORLD_SIZE)'];
  }
  if (s === 'none') return ['127.0.0.1', 'no scheduler and no --coordinator: this host'];
  throw refuse(
    `cannot tell where the coordinator runs under ${s}`,
    s === 'mpi'
      ? 'pass it on: mpirun -x DTRAIN_COORDINATOR=$(hostname) ... dtrain cluster (or --coordinator HOST)'
      : "set --coordinator (or DTRAIN_COORDINATOR) to the coordinator's address, e.g. the headless Service name dtrain-coordinator-0-0.dtrain",
  );
}

function withPort(address: string, port: number): string {
  if (/^\[.*\](:\d+)?$/.test(address) || /^[^:]+:\d+$/.test(address)) return `ws://${address}`;
  if (address.includes(':')) return `ws://[${address}]:${port}`; // a bare IPv6 address
  return `ws://${address}:${port}`;
}

/** How many connections rank 0 waits for: --workers, else from the node layout or the world size; says why. */
function coordinatorWaitsFor(f: ClusterFlags, layout: HostLayout | null, size: number | null, why: string[]): number {
  let workers: number;
  if (f.workers !== undefined) workers = f.workers;
  else if (layout) workers = coordinatorConnections(layout, f.coordinatorWorker);
  else if (size !== null) workers = size - 1 + (f.coordinatorWorker ? 1 : 0);
  else
    throw refuse(
      'the coordinator cannot tell how many workers to wait for',
      'pass --workers N (the scheduler gave no world size)',
    );
  if (workers < 1)
    throw refuse(
      `a world of ${size ?? 1} rank(s) leaves no worker`,
      'run at least 2 ranks, or pass --coordinator-worker so rank 0 trains too',
    );
  why.push(
    `waits for ${workers} ${layout ? 'connection(s)' : 'worker(s)'} (${
      f.workers !== undefined
        ? '--workers'
        : layout
          ? `${workers - (layout.tasksPerNode.length - 1)} worker(s) on this node + one relay or ` +
            `worker for each of ${layout.tasksPerNode.length - 1} other node(s); ${layout.why}`
          : `world size - 1${f.coordinatorWorker ? ' + 1' : ''}`
    })`,
  );
  return workers;
}

/**
 * A worker's GPU on its node: its place among the node's worker ranks (on the coordinator's node rank 0, local
 * rank 0, trains on no GPU unless --coordinator-worker, so the workers there start at GPU 0 too), wrapped
 * around the node's GPUs where the scheduler says how many (SLURM_GPUS_ON_NODE). [index, why].
 */
export function gpuFor(
  localRank: number,
  nodeIndex: number | null,
  coordinatorWorker: boolean,
  gpusOnNode?: string,
): [string, string] {
  const skip = nodeIndex === 0 && !coordinatorWorker ? 1 : 0;
  let index = Math.max(0, localRank - skip);
  let why = skip ? `local rank ${localRank} - 1: rank 0 on this node only coordinates` : `local rank ${localRank}`;
  const gpus = Number(gpusOnNode);
  if (gpusOnNode !== undefined && Number.isInteger(gpus) && gpus > 0 && index >= gpus) {
    why += `, wrapped around SLURM_GPUS_ON_NODE=${gpus}: this GPU is shared with another worker`;
    index %= gpus;
  }
  return [String(index), why];
}

export function resolveCluster(f: ClusterFlags, env: Env): ClusterPlan {
  const scheduler = detectScheduler(env);
  const why: string[] = [`scheduler: ${scheduler === 'none' ? 'none detected (flags only)' : scheduler}`];
  const [rank, rankWhy] = pick<number>([f.rank, '--rank'], fromScheduler(env, scheduler, 'rank', 0)) ?? [0, 'default'];
  const size = pick<number>([f.worldSize, '--world-size'], fromScheduler(env, scheduler, 'size', 1));
  const [localRank, localWhy] = pick<number>(
    [f.localRank, '--local-rank'],
    fromScheduler(env, scheduler, 'local', 0),
  ) ?? [0, 'default: one worker per host or pod'];
  if (size && rank >= size[0])
    throw refuse(`rank ${rank} is not below the world size ${size[0]}`, 'check --rank/--world-size against the job');
  why.push(
    `rank ${rank}${size ? ` of ${size[0]}` : ''} (${rankWhy}${size ? `, ${size[1]}` : ''}), local rank ${localRank} (${localWhy})`,
  );
  const role: Role = f.role && f.role !== 'auto' ? f.role : rank === 0 ? 'coordinator' : 'worker';
  const roleWhy = f.role && f.role !== 'auto' ? '--role' : `rank ${rank === 0 ? '0 coordinates' : '> 0 works'}`;
  const plus = role === 'coordinator' && f.coordinatorWorker ? ', plus a worker (--coordinator-worker)' : '';
  why.push(`role ${role} (${roleWhy}${plus})`);
  const [address, addressWhy] = coordinatorAddress(f, env, scheduler);
  const url = withPort(address, f.port);
  why.push(`coordinator ${url} (${addressWhy})`);
  const layout = f.relays === false ? null : hostLayout(f, env, scheduler, size?.[0] ?? null);
  const workers = role === 'coordinator' ? coordinatorWaitsFor(f, layout, size?.[0] ?? null, why) : null;
  const runsWorker = role === 'worker' || f.coordinatorWorker;
  const given = env['CUDA_VISIBLE_DEVICES'];
  const nodeIndex =
    layout?.nodeIndex ??
    (env['SLURM_NODEID'] !== undefined ? Number(env['SLURM_NODEID']) : rank === localRank ? 0 : null);
  const gpu =
    runsWorker && given === undefined
      ? gpuFor(localRank, nodeIndex, f.coordinatorWorker, env['SLURM_GPUS_ON_NODE'])
      : null;
  const cudaVisibleDevices = gpu ? gpu[0] : null;
  if (runsWorker)
    why.push(`CUDA_VISIBLE_DEVICES=${given ?? cudaVisibleDevices} (${gpu ? gpu[1] : 'set by the scheduler'})`);
  const relay = layout ? hostRelay(layout, role, localRank, f.relayPort ?? f.port + 1) : null;
  if (relay)
    why.push(
      `${relay.start ? "starts this node's relay" : "joins this node's relay"} at ${relay.url} (${relay.local} worker ranks here; ${layout!.why})`,
    );
  else if (role === 'worker' && f.relays !== false)
    why.push(
      `connects to the coordinator directly ` +
        `(${layout ? (layout.nodeIndex === 0 ? "the coordinator's node" : 'the only worker rank on its node') : 'no node layout: no relay'})`,
    );
  return {
    scheduler,
    rank,
    worldSize: size?.[0] ?? null,
    localRank,
    role,
    url,
    workers,
    cudaVisibleDevices,
    relay,
    why,
  };
}
