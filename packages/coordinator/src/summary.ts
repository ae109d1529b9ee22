// summary.json: what a run did, in one small file (steps, epochs, samples, workers and their backends,
// final validation/test metrics, throughput, wall time, time breakdown medians).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Derived, type EvalSplit, median, type TrainConfig, TrainerError } from '@dtrain/common';
import type { TrainState } from './checkpoint.js';
import { type EvalRecord, readMetrics, type StepRecord } from './rundir.js';

export interface WorkerStats {
  label: string;
  host: string;
  backend: string;
  backendReason: string;
  shards: number;
  samples: number;
  computeMs: number;
}

/** Count one reduced shard in a worker's totals. */
export function countShard(s: WorkerStats | undefined, shard: { count: number; computeMs: number }): void {
  if (!s) return;
  s.shards++;
  s.samples += shard.count;
  s.computeMs += shard.computeMs;
}

export interface RunSummary {
  /**
   * diverged: a loss, gradient or the updated weights stopped being finite (error says where and what to change);
   * stalled: ended by --patience (stopReason says after what).
   */
  status: 'completed' | 'stopped' | 'failed' | 'diverged' | 'stalled' | 'crashed';
  error?: string;
  stopReason: string | null;
  runId: string;
  resumedFrom: string | null;
  steps: number;
  epochs: number;
  samplesSeen: number;
  workers: WorkerStats[];
  backends: string[];
  final: Partial<Record<EvalSplit, { loss: number; accuracy: number; step: number }>>;
  imagesPerSecond: number;
  wallSeconds: number;
  medianStepMs: number;
  medianCoordMs: number;
  bytesPerStep: number;
  finalCheckpoint: string;
  config: TrainConfig;
  derived: Derived;
}

/** A status that is a result of the run (a grid records it and goes on), not an interruption or a failure. */
export function isOutcome(status: RunSummary['status'] | undefined): boolean {
  return status === 'completed' || status === 'diverged' || status === 'stalled';
}

/** The summary.json of a run directory, or null when there is none (or it cannot be read). */
export function readSummary(dir: string): RunSummary | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  } catch {
    return null;
  }
}

export function buildSummary(a: {
  status: RunSummary['status'];
  error: string | undefined;
  stopReason: string | null;
  config: TrainConfig;
  derived: Derived;
  train: TrainState;
  workers: WorkerStats[];
  lastEval: Partial<Record<EvalSplit, EvalRecord>>;
  runDir: string;
  finalCheckpoint: string;
  resumedFrom: string | null;
  runId: string;
}): RunSummary {
  const steps = readMetrics(a.runDir).filter((r): r is StepRecord => r.type === 'step');
  const trainMs = steps.reduce((s, r) => s + r.stepMs, 0);
  const samples = steps.reduce((s, r) => s + r.samples, 0);
  const final: RunSummary['final'] = {};
  for (const split of ['val', 'test'] as const) {
    const e = a.lastEval[split];
    if (e) final[split] = { loss: e.loss, accuracy: e.accuracy, step: e.step };
  }
  return {
    status: a.status,
    ...(a.error ? { error: a.error } : {}),
    stopReason: a.stopReason,
    runId: a.runId,
    resumedFrom: a.resumedFrom,
    steps: a.train.step,
    epochs: a.train.epoch + a.train.position / a.derived.stepsPerEpoch,
    samplesSeen: a.train.samplesSeen,
    workers: a.workers,
    backends: [...new Set(a.workers.map((w) => w.backend))],
    final,
    imagesPerSecond: trainMs > 0 ? samples / (trainMs / 1000) : 0,
    wallSeconds: a.train.wallMs / 1000,
    medianStepMs: median(steps.map((r) => r.stepMs)),
    medianCoordMs: median(steps.map((r) => r.coordMs)),
    bytesPerStep: median(steps.map((r) => r.bytesIn + r.bytesOut)),
    finalCheckpoint: a.finalCheckpoint,
    config: a.config,
    derived: a.derived,
  };
}

/** How a run that threw ends: diverged (ERR_DIVERGED) or failed, with the error as the summary says it. */
export function failureOf(e: unknown): { status: 'diverged' | 'failed'; error: string } {
  const status = e instanceof TrainerError && e.code === 'ERR_DIVERGED' ? 'diverged' : 'failed';
  return { status, error: e instanceof TrainerError ? e.describe() : String((e as Error)?.stack ?? e) };
}
