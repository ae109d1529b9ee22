// One attempt at a training step's round: through the star (each worker's whole sum, reduced here) or
// through the mesh of host servers (sharded-step.ts: counts here, slices from their owners). The
// coordinator's loop runs a step's mesh attempt and, if it falls back, the same step through the star.

import { type GradientMsg, groupCount, type Reducer, type Shard, type Slice, SlicedReducer } from '@dtrain/common';
import type { MeshPool, RoundOutcome, RunPool } from './pool-types.js';
import type { WorkerConn } from './server.js';
import { type MeshPlan, shardedRound } from './sharded-step.js';
import { StepTally } from './step-stats.js';
import { stepReducer, stepTasks } from './tasks.js';
import type { Applied } from './update.js';

export interface StepInput {
  pool: RunPool;
  step: number;
  version: number;
  epoch: number;
  shards: readonly Shard[];
  samples: number;
  groupSize: number;
  /** Gradients travel uncompressed, residuals drained (a checkpointed step under --grad-wire). */
  flush: boolean;
  timeoutMs: number;
  meanGrad: Float32Array;
  trainable: number;
  /** Each accepted result, for the run's records. */
  onShard: (conn: WorkerConn, gradient: GradientMsg) => void;
  /** Through the mesh: each slice's mean as it lands (applied there at once where the optimizer allows). */
  onMean?: (index: number, slice: Slice) => void;
  signal: AbortSignal;
}

export interface Attempt {
  reducer: Reducer;
  tally: StepTally;
  result: Promise<RoundOutcome | null | 'fallback'>;
}

/** A step's round as the loop saw it: its attempt (the star's after a fallback), the outcome (null: stopped), when. */
export interface SteppedRound {
  attempt: Attempt;
  outcome: RoundOutcome | null;
  /** The mesh's epoch it went through (0: the star). */
  meshEpoch: number;
  /** Its slices were applied as they came (sharded summation, an elementwise optimizer). */
  appliedOnArrival: boolean;
  assigned: number;
  shared: number;
}

/** A step's round and its update (null: stopped), with when the update began. */
export interface AppliedRound {
  round: SteppedRound;
  applied: Applied | null;
  reduce: number;
}

/** Send a step's assignments through the mesh (`mesh` given: a ready one) or the star. */
export function startAttempt(x: StepInput, mesh: MeshPlan | null): Attempt {
  const tally = new StepTally();
  const groups = mesh ? groupCount(x.samples, x.groupSize) : 0;
  const reducer = mesh
    ? new SlicedReducer(
        x.meanGrad,
        x.shards.map((s) => s.node!),
        mesh.layout,
        x.samples,
        x.groupSize,
        x.trainable,
      )
    : stepReducer(x.meanGrad, x.shards, x.samples, x.groupSize, x.trainable);
  const onAccepted = (conn: WorkerConn, gradient: GradientMsg): void => {
    reducer.add(gradient); // summed in shard order whatever the arrival order
    tally.accept(conn.label, gradient);
    x.onShard(conn, gradient);
  };
  const tasks = stepTasks(x.shards, x.step, x.version, x.epoch, x.groupSize, x.flush, groups);
  const spec = { kind: 'step' as const, step: x.step, version: x.version, tasks, timeoutMs: x.timeoutMs, onAccepted };
  const result = mesh
    ? shardedRound(x.pool as RunPool & { mesh: MeshPool }, mesh, spec, reducer as SlicedReducer, x.signal, x.onMean)
    : x.pool.runRound(spec, x.signal);
  return { reducer, tally, result };
}
