// Per-host relays under `dtrain cluster`. Where a host other than the coordinator's runs several worker
// ranks, its local rank 0 also starts a relay on loopback and every worker rank of the host connects to
// that relay, so the coordinator's link carries one gradient and one weights copy per host and step. This
// needs the job's layout: which node this rank is on and how many ranks each node runs. Slurm says
// (SLURM_NODEID, SLURM_STEP_TASKS_PER_NODE); flags can (--node-index and --local-size, nodes of equal size);
// Open MPI and Kubernetes do not, and run without relays (every worker connects to the coordinator).

import { TrainerError } from '@dtrain/common';
import type { Env, Role, Scheduler } from './resolve.js';

export interface HostLayout {
  /** This rank's node, 0 = the coordinator's (rank 0 runs on the first node). */
  nodeIndex: number;
  /** Ranks on each node, in node order. */
  tasksPerNode: number[];
  why: string;
}

export interface HostRelay {
  /** This rank starts the host's relay (local rank 0). */
  start: boolean;
  /** ws://127.0.0.1:PORT: where this host's workers connect. */
  url: string;
  port: number;
  /** Worker ranks on this host, all behind the relay. */
  local: number;
}

/** "2(x3),1" -> [2, 2, 2, 1]: Slurm's SLURM_STEP_TASKS_PER_NODE and SLURM_TASKS_PER_NODE. */
export function expandTasksPerNode(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!m || Number(m[1]) < 1)
      throw new TrainerError('ERR_BAD_CONFIG', `tasks per node "${s.slice(0, 60)}" is not Slurm's N or N(xK) list`, {
        hint: 'Slurm sets SLURM_STEP_TASKS_PER_NODE; unset it or fix the job script',
      });
    const times = m[2] === undefined ? 1 : Number(m[2]);
    if (times < 1 || times > 100_000)
      throw new TrainerError('ERR_BAD_CONFIG', `tasks per node "${s.slice(0, 60)}" repeats ${times} times`, {
        hint: 'check SLURM_STEP_TASKS_PER_NODE',
      });
    for (let i = 0; i < times; i++) out.push(Number(m[1]));
  }
  return out;
}

export interface LayoutFlags {
  nodeIndex?: number | undefined;
  localSize?: number | undefined;
}

/** The job's layout, or null (with nothing to say) where the scheduler and the flags do not give one. */
export function hostLayout(
  f: LayoutFlags,
  env: Env,
  scheduler: Scheduler,
  worldSize: number | null,
): HostLayout | null {
  let layout: HostLayout | null = null;
  if (f.nodeIndex !== undefined && f.localSize !== undefined && worldSize !== null) {
    const nodes = Math.ceil(worldSize / f.localSize);
    layout = {
      nodeIndex: f.nodeIndex,
      tasksPerNode: Array.from({ length: nodes }, (_, i) => Math.min(f.localSize!, worldSize - i * f.localSize!)),
      why: `--node-index ${f.nodeIndex}, --local-size ${f.localSize}`,
    };
  } else if (scheduler === 'slurm' && env['SLURM_NODEID'] !== undefined) {
    const name = env['SLURM_STEP_TASKS_PER_NODE'] !== undefined ? 'SLURM_STEP_TASKS_PER_NODE' : 'SLURM_TASKS_PER_NODE';
    const list = env[name];
    if (list === undefined || !/^\d+$/.test(env['SLURM_NODEID']!)) return null;
    layout = {
      nodeIndex: Number(env['SLURM_NODEID']),
      tasksPerNode: expandTasksPerNode(list),
      why: `SLURM_NODEID=${env['SLURM_NODEID']}, ${name}=${list.slice(0, 60)}`,
    };
  }
  if (layout === null) return null;
  const total = layout.tasksPerNode.reduce((a, b) => a + b, 0);
  if (layout.nodeIndex >= layout.tasksPerNode.length || (worldSize !== null && total !== worldSize)) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `the job's layout (${layout.why}: ${layout.tasksPerNode.length} nodes, ${total} ` +
        `ranks) does not match node ${layout.nodeIndex} of a world of ${worldSize ?? '?'}`,
      { hint: 'fix --node-index/--local-size, or run with --no-relays' },
    );
  }
  return layout;
}

/** The relay this worker rank uses, or null (the coordinator's node, a node with one rank, not a worker). */
export function hostRelay(layout: HostLayout, role: Role, localRank: number, port: number): HostRelay | null {
  const local = layout.tasksPerNode[layout.nodeIndex]!;
  if (role !== 'worker' || layout.nodeIndex === 0 || local < 2) return null;
  return { start: localRank === 0, url: `ws://127.0.0.1:${port}`, port, local };
}

/** Connections the coordinator waits for: the workers on its own node, plus one (a relay or a worker) per other node. */
export function coordinatorConnections(layout: HostLayout, coordinatorWorker: boolean): number {
  return layout.tasksPerNode[0]! - 1 + (coordinatorWorker ? 1 : 0) + layout.tasksPerNode.length - 1;
}
