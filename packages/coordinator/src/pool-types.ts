// What a pool is to its users: its options, the rounds it runs and their outcomes, its events, and what a
// run needs of it (RunPool; a fake one in the loop's unit test).

import {
  type CoordinatorMsg,
  type EvalResultMsg,
  type GradientMsg,
  type ParseContext,
  type SliceMsg,
  type SpeedTracker,
  TrainerError,
  type WeightsDeltaMsg,
  type WeightsMsg,
} from '@dtrain/common';
import type { RoundTask } from './round.js';
import type { RunWelcome, ServerTls, WorkerConn } from './server.js';
import type { WorkerNeed } from './waiting.js';

export interface PoolOptions {
  host: string;
  port: number;
  /** Listen on this Unix socket instead (ServerOptions.socketPath). */
  socketPath?: string;
  token: string | undefined;
  /** The largest model any run on this pool will have (bounds every frame). */
  maxParams: number;
  heartbeatMs?: number;
  pongDeadlineMs?: number;
  /** Serve wss:// (see ServerTls). */
  tls?: ServerTls;
  log: (line: string) => void;
}

/** A training step's shards: results are gradients of `step`, computed from weights `version`. */
export interface StepRound {
  kind: 'step';
  step: number;
  version: number;
  tasks: readonly RoundTask[];
  timeoutMs: number;
  onAccepted: (conn: WorkerConn, gradient: GradientMsg) => void;
  /** Sharded summation: results carry counts only (their gradients went to the slices' owners). */
  sliced?: boolean;
}

/** An evaluation's chunks. */
export interface EvalRound {
  kind: 'eval';
  evalId: number;
  tasks: readonly RoundTask[];
  timeoutMs: number;
  onAccepted: (conn: WorkerConn, result: EvalResultMsg) => void;
}

export interface RoundOutcome {
  /** Tasks sent again after a loss or a deadline. */
  reassigned: number;
  /** Receive + decode + validate time of the accepted results' frames. */
  decodeMs: number;
  /** Set when a worker reported a non-finite loss or gradient: the step ended there, unfinished. */
  diverged?: { worker: string; shardId: number; what: 'loss' | 'gradient' };
  /** Set when one task's compute failed on MAX_TASK_FAILURES tries: the round ended there, unfinished. */
  failed?: { worker: string; taskId: number; tries: number; message: string };
}

/** A task whose compute fails this many times (on any workers) ends its round: it would fail everywhere. */
export const MAX_TASK_FAILURES = 3;

/** The error a round that ended on a task no worker could compute ends its run with. */
export function computeFailure(what: string, f: NonNullable<RoundOutcome['failed']>): TrainerError {
  return new TrainerError(
    'ERR_COMPUTE',
    `${what}: task ${f.taskId} failed ${f.tries} times (last on worker ${f.worker}): ${f.message}`,
    { hint: 'the workers cannot compute this model or data (see their logs); the last good checkpoint is kept' },
  );
}

export interface PoolEvents {
  joined: [WorkerConn];
  lost: [WorkerConn, string];
  /** A worker held a task past its deadline: no new tasks until it answers again. */
  demoted: [WorkerConn, number];
  /** A demoted worker answered: it gets tasks again. */
  promoted: [WorkerConn];
  /** Sharded summation: a host server's links to the other owners of a mesh epoch are up. */
  meshReady: [WorkerConn, number];
  /** Sharded summation: an owner's slice of a step's gradient, summed over the batch. */
  slice: [WorkerConn, SliceMsg];
}

/** What a run needs of its pool (a fake one in the loop's unit test). */
export interface RunPool {
  readonly speeds: SpeedTracker;
  readonly bytes: { in: number; out: number };
  ready(): WorkerConn[];
  setRun(welcome: RunWelcome, ctx: ParseContext): void;
  /** Whether received gradients' values are left to be checked in their sum (the run's ctx.deferFinite, until checkEveryValue). */
  readonly valuesDeferred: boolean;
  /** From now on every received value is checked at the boundary (ctx.deferFinite off). */
  checkEveryValue(): void;
  publishWeights(version: number, weights: Float32Array, delta?: WeightsDeltaMsg): void;
  runRound(spec: StepRound | EvalRound, signal: AbortSignal): Promise<RoundOutcome | null>;
  waitForWorkers(need: WorkerNeed, signal: AbortSignal): Promise<boolean>;
  on<K extends keyof PoolEvents>(event: K, listener: (...args: PoolEvents[K]) => void): unknown;
  off<K extends keyof PoolEvents>(event: K, listener: (...args: PoolEvents[K]) => void): unknown;
  /** Sharded summation (absent: a pool that has no host servers). */
  mesh?: MeshPool;
}

/** What sharded summation needs of a pool: messages to one connection, slices of a version, refusals. */
export interface MeshPool {
  send(conn: WorkerConn, msg: CoordinatorMsg): void;
  /** An owner its slice of a version's weights or delta (`msg.slice`; it passes it on); the owner counts as sent it. */
  publishSlice(msg: WeightsMsg | WeightsDeltaMsg, owner: WorkerConn): void;
  /** Whether `conn` was sent `version` (whole, or its slice as an owner). */
  hasVersion(conn: WorkerConn, version: number): boolean;
  /** Forget which versions went where: the next publish sends the weights whole to every worker. */
  forgetSent(): void;
  reject(conn: WorkerConn, err: TrainerError): void;
}
