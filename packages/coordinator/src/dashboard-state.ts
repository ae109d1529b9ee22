// What the live dashboard shows, kept as the run goes: the run's identity and settings, every step's numbers
// (loss, accuracy, learning rate, noise scale, time breakdown; at most MAX_POINTS, thinned evenly), every
// evaluation, and each worker's state (ready, demoted, lost and why), the steps it computed for, its last compute and link times.
// A snapshot for a page that connects; each change as an update for the pages already connected.

import type { EvalRecord, StepRecord } from './rundir.js';

/** Most step points kept (a longer run keeps every other one, then every fourth, ...). */
export const MAX_POINTS = 4_000;

export interface StepPoint {
  step: number;
  epoch: number;
  loss: number;
  accuracy: number;
  lr: number;
  bSimple: number | null;
  stepMs: number;
  waitMs: number;
  coordMs: number;
  samplesPerSecond: number;
}

export interface WorkerView {
  label: string;
  host: string;
  backend: string;
  state: 'ready' | 'demoted' | 'lost';
  why: string;
  /** Steps it computed for, results (shards) and samples it delivered (this attempt). */
  steps: number;
  shards: number;
  samples: number;
  computeMs: number;
  downloadMs: number;
  uploadMs: number;
}

export interface RunView {
  runId: string;
  model: string;
  dataset: string;
  batchSize: number;
  workersWanted: number;
  totalSteps: number;
  optimizer: string;
  status: 'running' | string;
}

/** A sweep's or experiment's run, on the dashboard's grid. */
export interface GridRow {
  name: string;
  state: 'pending' | 'running' | string;
  steps: number | null;
  bestValAccuracy: number | null;
  testAccuracy: number | null;
  stepsToTarget: number | null;
}

export type Update =
  | { kind: 'step'; point: StepPoint; workers: WorkerView[] }
  | { kind: 'eval'; record: EvalRecord }
  | { kind: 'worker'; worker: WorkerView }
  | { kind: 'status'; status: string }
  | { kind: 'grid'; grid: GridRow[] };

export class DashboardState {
  private points: StepPoint[] = [];
  private stride = 1;
  private readonly evals: EvalRecord[] = [];
  private readonly workers = new Map<string, WorkerView>();

  constructor(private readonly run: RunView) {}

  step(r: StepRecord): Update {
    const point: StepPoint = {
      step: r.step,
      epoch: r.epoch,
      loss: r.loss,
      accuracy: r.accuracy,
      lr: r.lr,
      bSimple: r.bSimple,
      stepMs: r.stepMs,
      waitMs: r.waitMs,
      coordMs: r.coordMs,
      samplesPerSecond: r.stepMs > 0 ? (1000 * r.samples) / r.stepMs : 0,
    };
    if (r.step % this.stride === 0) this.points.push(point);
    if (this.points.length > MAX_POINTS) {
      this.stride *= 2;
      this.points = this.points.filter((p) => p.step % this.stride === 0);
    }
    for (const [label, ms] of Object.entries(r.computeMs)) {
      const w = this.workers.get(label);
      if (!w) continue;
      const link = r.links[label];
      Object.assign(w, { computeMs: ms, steps: w.steps + 1 });
      if (link) Object.assign(w, link);
    }
    return { kind: 'step', point, workers: [...this.workers.values()] };
  }

  /** A result of `label` covering `samples` was accepted (counted; shown with the next step). */
  shard(label: string, samples: number): void {
    const w = this.workers.get(label);
    if (w) Object.assign(w, { shards: w.shards + 1, samples: w.samples + samples });
  }

  evaluation(record: EvalRecord): Update {
    this.evals.push(record);
    return { kind: 'eval', record };
  }

  worker(label: string, change: Partial<WorkerView>): Update {
    const w = this.workers.get(label) ?? {
      label,
      host: '',
      backend: '',
      state: 'ready' as const,
      why: '',
      steps: 0,
      shards: 0,
      samples: 0,
      computeMs: 0,
      downloadMs: 0,
      uploadMs: 0,
    };
    Object.assign(w, change);
    this.workers.set(label, w);
    return { kind: 'worker', worker: { ...w } };
  }

  status(status: string): Update {
    this.run.status = status;
    return { kind: 'status', status };
  }

  snapshot() {
    return { run: this.run, points: this.points, evals: this.evals, workers: [...this.workers.values()] };
  }
}
