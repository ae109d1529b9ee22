// What a Coordinator is given (a config, a pool, a run directory) and what it emits.

import type { TrainConfig } from '@dtrain/common';
import type { DataLocation } from '@dtrain/common/files';
import type { StartState } from './checkpoint.js';
import type { RunPool } from './pool.js';
import type { EvalRecord, StepRecord } from './rundir.js';

export interface CoordinatorOptions {
  config: TrainConfig;
  pool: RunPool;
  out: string;
  /** Checkpoint or run directory to continue from (ignored when `start` is given). */
  resume?: string;
  /** On resume: options that replace the checkpoint's (more epochs, another checkpoint interval, ...). */
  resumeOverrides?: Partial<TrainConfig>;
  /** Where the run starts, when the caller already read it (e.g. to size the pool). */
  start?: StartState;
  /** How long to wait for workers (start, or after losing them) before giving up. */
  waitTimeoutMs: number;
  /** Where this machine keeps dataset files (CIFAR-10, generated images). */
  data?: DataLocation;
  /** On resume from an older checkpoint: discard the newer ones in `out` instead of refusing. */
  overwrite?: boolean;
  log: (line: string) => void;
  /** Write the run's timeline here (Chrome trace-event format, trace.ts). */
  trace?: string;
  /** Milliseconds from a monotonic clock, for time-based checkpoints (default performance.now; tests step it). */
  clock?: () => number;
}

export interface CoordinatorEvents {
  step: [StepRecord];
  eval: [EvalRecord];
  workers: [number];
  /** A worker's result was accepted: its label and the samples it covered. */
  shard: [string, number];
  /** Sharded summation: a slice of a step's mean gradient was applied as it arrived (the step, the slice's index). */
  slice: [number, number];
}
