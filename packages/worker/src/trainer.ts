// The worker's compute side: holds the model, the dataset and the current weights version; turns an
// assignment into a gradient message and an evaluation request into sums. No sockets here.

import {
  type AssignMsg,
  type Dataset,
  type DatasetSpec,
  type EvalResultMsg,
  type EvaluateMsg,
  type GradientMsg,
  getModelSpec,
  modelFingerprint,
  TrainerError,
  type WelcomeMsg,
} from '@dtrain/common';
import { buildDataset, type DataLocation } from '@dtrain/common/files';
import { GradBuffers, groupedEvaluation, groupedGradient } from './group-compute.js';
import { Network } from './network.js';

const datasetCache = new Map<string, Dataset>();

/** Build (or reuse) the dataset a coordinator asked for. */
export function loadDataset(spec: DatasetSpec, loc: DataLocation = {}): Dataset {
  const key = JSON.stringify([spec, loc]);
  let ds = datasetCache.get(key);
  if (!ds) {
    ds = buildDataset(spec, loc);
    datasetCache.set(key, ds);
  }
  return ds;
}

export class WorkerTrainer {
  readonly net: Network;
  readonly dataset: Dataset;
  version = -1;
  private x = new Float32Array(0);
  private y = new Int32Array(0);
  /** The assignment whose batch x/y already hold (gathered while its weights were on the way). */
  private prepared: AssignMsg | null = null;

  private readonly augmentSeed: number;
  private readonly buffers: GradBuffers;

  constructor(welcome: WelcomeMsg, loc: DataLocation = {}) {
    const spec = welcome.modelSpec ?? getModelSpec(welcome.model);
    this.net = new Network(spec);
    this.buffers = new GradBuffers(this.net.paramCount);
    this.dataset = loadDataset(welcome.dataset, loc);
    this.augmentSeed = welcome.dataset.seed;
  }

  get modelFingerprint(): string {
    return modelFingerprint(this.net.spec);
  }

  setWeights(version: number, data: Float32Array): void {
    this.net.setWeights(data);
    this.version = version;
  }

  private fill(split: 'train' | 'val' | 'test', indices: Uint32Array, epoch = 0): number {
    this.prepared = null;
    const n = indices.length;
    const px = this.dataset.height * this.dataset.width * this.dataset.channels;
    if (this.x.length < n * px) {
      this.x = new Float32Array(n * px);
      this.y = new Int32Array(n);
    }
    this.dataset.fillBatch(
      split,
      indices,
      this.x,
      this.y,
      split === 'train' ? { seed: this.augmentSeed, epoch } : undefined,
    );
    return n;
  }

  /**
   * Gather and augment an assignment's batch before its weights arrive (0.44 ms of a step at batch 64,
   * then off the critical path); computeGradient of the same message uses it.
   */
  prepare(msg: AssignMsg): void {
    this.fill('train', msg.indices, msg.epoch);
    this.prepared = msg;
  }

  /** The gradient sum of an assignment, written into `grad` (paramCount floats: a frame's payload). */
  computeGradient(msg: AssignMsg, grad: Float32Array): GradientMsg {
    if (msg.version !== this.version) {
      throw new TrainerError(
        'ERR_STALE_GRADIENT',
        `assignment for weights v${msg.version} but this worker holds v${this.version}`,
      );
    }
    const t0 = performance.now();
    const n = this.prepared === msg ? msg.indices.length : this.fill('train', msg.indices, msg.epoch);
    this.prepared = null;
    const head = { kind: 'gradient', step: msg.step, version: msg.version, shardId: msg.shardId, count: n } as const;
    if (msg.groupSize) {
      const out = groupedGradient(this.net, this.batch(n), msg.groupSize, grad, this.buffers);
      return { ...head, ...out, computeMs: performance.now() - t0, grad };
    }
    const out = this.net.computeShard(this.x, this.y, n, grad);
    return { ...head, lossSum: out.lossSum, correct: out.correct, computeMs: performance.now() - t0, grad: out.grad };
  }

  private batch(n: number) {
    return { x: this.x, y: this.y, n, px: this.dataset.height * this.dataset.width * this.dataset.channels };
  }

  evaluate(msg: EvaluateMsg): EvalResultMsg {
    const t0 = performance.now();
    const n = this.fill(msg.split, msg.indices);
    const out = msg.groupSize
      ? groupedEvaluation(this.net, this.batch(n), msg.groupSize)
      : this.net.evaluate(this.x, this.y, n);
    return {
      kind: 'evalResult',
      evalId: msg.evalId,
      shardId: msg.shardId,
      count: n,
      lossSum: out.lossSum,
      correct: out.correct,
      computeMs: performance.now() - t0,
    };
  }

  dispose(): void {
    this.net.disposeParams();
  }
}
