// The resolved run configuration, its validation (fail fast naming the value and the fix, STYLE.md #8)
// and the derived numbers printed before step 1.

import { GRAD_WIRES, type GradWire } from './compress.js';
import { type DatasetSpec, datasetShape, trainSplitSize, validateDatasetSpec } from './datasets.js';
import { TrainerError } from './errors.js';
import { MAX_BATCH_SIZE, MAX_WORKERS } from './limits.js';
import { buildManifest, getModelSpec, hasBatchNorm, type ModelSpec, paramCount, withClasses } from './model.js';
import { parseModelSpec } from './model-check.js';
import { type OptimizerConfig, validateOptimizer } from './optim/config.js';
import { type ScheduleConfig, scaledLr, validateSchedule } from './schedule.js';
import { stepsPerEpoch } from './sharding.js';
import { WEIGHT_WIRES, type WeightWire } from './weight-delta.js';

/** Learning-rate settings of a run (batch size and total steps come from the run itself). */
export type ScheduleParams = Omit<ScheduleConfig, 'batchSize' | 'totalSteps'>;

export interface TrainConfig extends ScheduleParams {
  /** A zoo name, or the path of the model file the spec below was read from. */
  model: string;
  /** The layer spec of a model file (`--model path/model.json`): carried in the config, so resumes need no file. */
  modelSpec?: ModelSpec;
  dataset: DatasetSpec;
  seed: number;
  /** GLOBAL batch size, split across workers. */
  batchSize: number;
  epochs: number;
  /** Stop after this many steps in total (0: epochs x steps per epoch). */
  maxSteps: number;
  optimizer: OptimizerConfig;
  /** Workers to wait for before step 1. */
  workers: number;
  /** Keep training while at least this many are alive. */
  minWorkers: number;
  /** Evaluate every K steps (0: at the end of each epoch). */
  evalEvery: number;
  /** Samples per evaluation shard. */
  evalChunk: number;
  /** Write a checkpoint every K steps (0: only step 0 and the final state). */
  checkpointEvery: number;
  /** Keep only the newest N checkpoints (0 or absent: all). */
  keepCheckpoints?: number;
  /** How workers send gradients: fp32 (default), bf16, fp16 or int8 (with error feedback). */
  gradWire?: GradWire;
  /** How the coordinator sends weights: fp32 (default), or bf16/int8 deltas from the shared view (weight-delta.ts). */
  weightWire?: WeightWire;
  /** 'end': evaluate the test split only at the end (periodic evaluations use validation only); default: every time. */
  testEvery?: 'eval' | 'end';
  /** End the run (completed) at the first evaluation whose validation accuracy reaches this (0 or absent: off). */
  stopAtValAccuracy?: number;
  /** End the run (stalled) once this many epochs pass without a new best validation loss or accuracy (0 or absent: off). */
  patienceEpochs?: number;
  /** Also write a checkpoint once this many seconds passed since the last one (0: off). */
  checkpointSeconds?: number;
  stepTimeoutMs: number;
  /** Write the applied mean gradient of the first N steps to gradients/ (float64 reference checks; 0 or absent: off). */
  saveGradients?: number;
  /** How a batch is cut over the workers: even sizes (default) or by measured speed. */
  balance?: 'even' | 'speed';
  /**
   * Samples per group of the worker-count-invariant reduction (group-tree.ts): the bits do not depend on
   * the cut; 'auto': from the batch size (groupSizeOf). 0 or absent: shards summed in shard order (a run's
   * bits then depend on its topology).
   */
  groupSize?: number | 'auto';
  /**
   * Validation accuracies whose crossing a study measures: once the last validation accuracy is within
   * NEAR_TARGET of one not yet reached, evaluate every EVAL_RESOLUTION of the steps so far (so the crossing
   * is resolved to that fraction of the steps to it) besides the --eval-every cadence.
   */
  evalNearTargets?: number[];
}

/** How close (in validation accuracy) to a target the finer evaluation cadence starts. */
export const NEAR_TARGET = 0.05;
/** The finer cadence: an evaluation every this fraction of the steps so far (at least every step). */
export const EVAL_RESOLUTION = 0.02;

/** Samples per group of an evaluation under the invariant reduction (the chunk size then changes no bits). */
export const EVAL_GROUP_SIZE = 50;

/**
 * The group size a run uses (0: off). 'auto' is a function of the batch size alone, never of the workers:
 * the largest power of two <= B / 8 (at least 1): up to 8 workers at any batch, and groups as large as
 * that allows (each group is one forward/backward pass: bench/results/invariance/ measures the cost).
 */
export function groupSizeOf(c: Pick<TrainConfig, 'groupSize' | 'batchSize'>): number {
  if (c.groupSize !== 'auto') return c.groupSize ?? 0;
  let g = 1;
  while (g * 2 <= c.batchSize / 8) g *= 2;
  return g;
}

/** The group size of a run's evaluations (0: off). */
export function evalGroupSizeOf(c: Pick<TrainConfig, 'groupSize' | 'batchSize'>): number {
  return groupSizeOf(c) > 0 ? EVAL_GROUP_SIZE : 0;
}

/**
 * Config keys that say how a run is operated, not what it computes: a resumed run (by --resume, or a sweep
 * continued in another piece) takes new values of these and stays the same run.
 */
export const OPERATIONAL_KEYS = [
  'evalChunk',
  'checkpointEvery',
  'checkpointSeconds',
  'keepCheckpoints',
  'stepTimeoutMs',
  'patienceEpochs',
  'saveGradients',
  'evalNearTargets',
] as const satisfies readonly (keyof TrainConfig)[];

export interface Derived {
  paramCount: number;
  trainSamples: number;
  stepsPerEpoch: number;
  totalSteps: number;
  perWorkerBatch: number;
  peakLr: number;
  bytesPerBroadcast: number;
  bytesPerStep: number;
}

export function totalSteps(c: TrainConfig): number {
  const spe = stepsPerEpoch(trainSplitSize(c.dataset), c.batchSize);
  return c.maxSteps > 0 ? c.maxSteps : c.epochs * spe;
}

export function scheduleOf(c: TrainConfig): ScheduleConfig {
  return {
    lr: c.lr,
    schedule: c.schedule,
    decaySteps: c.decaySteps,
    gamma: c.gamma,
    minLr: c.minLr,
    warmupSteps: c.warmupSteps,
    scaling: c.scaling,
    baseBatchSize: c.baseBatchSize,
    batchSize: c.batchSize,
    totalSteps: totalSteps(c),
  };
}

function intIn(value: number, min: number, max: number, flag: string, hint: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TrainerError('ERR_BAD_CONFIG', `${flag} ${value} must be a whole number in ${min}..${max}`, { hint });
  }
}

/** The layer spec a run trains: its model file's, or the zoo's scoring the dataset's classes (e.g. 100 for CIFAR-100). */
export function modelSpecOf(c: Pick<TrainConfig, 'model' | 'modelSpec'> & { dataset?: DatasetSpec }): ModelSpec {
  if (c.modelSpec) return c.modelSpec;
  const spec = getModelSpec(c.model);
  return c.dataset ? withClasses(spec, datasetShape(c.dataset).classes) : spec;
}

/** The model reads the dataset's images and scores its classes. */
function checkModelFitsData(spec: ModelSpec, dataset: DatasetSpec): void {
  const { inputShape, classes } = datasetShape(dataset);
  if (spec.inputShape.join() !== inputShape.join()) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `model ${spec.name} takes [${spec.inputShape.join(', ')}] inputs; ${dataset.name} images are [${inputShape.join(', ')}]`,
      { hint: `give the model's input layer the shape [null, ${inputShape.join(', ')}]` },
    );
  }
  if (spec.classes !== classes) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `model ${spec.name} scores ${spec.classes} classes; ${dataset.name} has ${classes}`,
      {
        hint: `make its last Dense layer ${classes} units`,
      },
    );
  }
}

/** Throws ERR_BAD_CONFIG naming the value and the fix; returns the derived numbers. */
export function validateConfig(c: TrainConfig): Derived {
  const spec = c.modelSpec ? parseModelSpec(c.modelSpec) : modelSpecOf(c);
  const manifest = buildManifest(spec);
  validateDatasetSpec(c.dataset);
  checkModelFitsData(spec, c.dataset);
  validateOptimizer(c.optimizer);
  const train = trainSplitSize(c.dataset);
  checkSizes(c, train);
  checkRunRules(c);
  validateSchedule(scheduleOf(c));
  return derive(c, paramCount(manifest), train);
}

/** Seed, worker counts and the batch size against them and the training split. */
function checkSizes(c: TrainConfig, train: number): void {
  intIn(c.seed, 0, 2 ** 32 - 1, '--seed', 'use e.g. --seed 1');
  intIn(c.workers, 1, MAX_WORKERS, '--workers', 'use e.g. --workers 2');
  intIn(c.minWorkers, 1, c.workers, '--min-workers', `use a value between 1 and --workers (${c.workers})`);
  intIn(c.batchSize, 1, MAX_BATCH_SIZE, '--batch-size', 'use e.g. --batch-size 64 (the GLOBAL batch)');
  if (c.batchSize < c.workers) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `--batch-size ${c.batchSize} is smaller than --workers ${c.workers}: some workers would get no samples`,
      {
        hint: `use --batch-size ${c.workers} or more (the batch is global and split across workers), or fewer workers`,
      },
    );
  }
  if (c.batchSize > train) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `--batch-size ${c.batchSize} is larger than the ${train} training samples`,
      {
        hint: 'lower --batch-size or use a larger dataset (--train-size)',
      },
    );
  }
}

/** How long the run trains, evaluates and checkpoints, and how it is operated. */
function checkRunRules(c: TrainConfig): void {
  intIn(c.epochs, 1, 100_000, '--epochs', 'use e.g. --epochs 10');
  intIn(c.maxSteps, 0, 1e9, '--max-steps', 'use 0 to train for --epochs');
  intIn(c.evalEvery, 0, 1e9, '--eval-every', 'use 0 to evaluate at the end of each epoch');
  if (c.gradWire !== undefined && !GRAD_WIRES.includes(c.gradWire)) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `--grad-wire ${String(c.gradWire)} is not one of ${GRAD_WIRES.join(', ')}`,
      { hint: 'e.g. --grad-wire int8' },
    );
  }
  if (c.weightWire !== undefined && !WEIGHT_WIRES.includes(c.weightWire)) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `--weight-wire ${String(c.weightWire)} is not one of ${WEIGHT_WIRES.join(', ')}`,
      { hint: 'e.g. --weight-wire int8' },
    );
  }
  const stop = c.stopAtValAccuracy ?? 0;
  if (!(stop >= 0 && stop <= 1)) {
    throw new TrainerError('ERR_BAD_CONFIG', `stop-at accuracy ${stop} is not in [0, 1]`, {
      hint: 'give a validation accuracy such as 0.6 (0: off)',
    });
  }
  const patience = c.patienceEpochs ?? 0;
  if (!(patience >= 0 && patience <= 100_000)) {
    const what = Number.isNaN(patience)
      ? '--patience is not a number'
      : `--patience ${patience} is not in [0, 100000] epochs`;
    throw new TrainerError('ERR_BAD_CONFIG', what, { hint: 'give epochs, e.g. --patience 5 (0: off)' });
  }
  intIn(c.evalChunk, 1, MAX_BATCH_SIZE, '--eval-chunk', 'use e.g. --eval-chunk 500');
  intIn(c.checkpointEvery, 0, 1e9, '--checkpoint-every', 'use 0 for only the initial and final checkpoints');
  intIn(
    c.checkpointSeconds ?? 0,
    0,
    1e9,
    '--checkpoint-seconds',
    'use e.g. --checkpoint-seconds 600 (a requeued job loses at most that much), or 0 for step-based checkpoints only',
  );
  intIn(c.keepCheckpoints ?? 0, 0, 1e9, '--keep-checkpoints', 'use e.g. --keep-checkpoints 3, or 0 to keep all');
  intIn(c.saveGradients ?? 0, 0, 10_000, '--save-gradients', 'use e.g. --save-gradients 8 (0: off)');
  if (c.balance !== undefined && c.balance !== 'even' && c.balance !== 'speed') {
    throw new TrainerError('ERR_BAD_CONFIG', `--balance ${String(c.balance)} is not one of even, speed`, {
      hint: 'use --balance even or --balance speed',
    });
  }
  checkGroups(c);
  const near = c.evalNearTargets ?? [];
  if (!Array.isArray(near) || near.length > 8 || near.some((t) => !(t > 0 && t < 1))) {
    throw new TrainerError('ERR_BAD_CONFIG', `--eval-near-targets ${String(near)}: up to 8 accuracies in (0, 1)`, {
      hint: 'e.g. --eval-near-targets 0.55,0.6,0.65',
    });
  }
  if (!(c.stepTimeoutMs >= 100)) {
    throw new TrainerError('ERR_BAD_CONFIG', `--step-timeout ${c.stepTimeoutMs / 1000}s is too short`, {
      hint: 'use e.g. --step-timeout 120',
    });
  }
}

/** The group size, and enough groups in a batch for every worker asked for. */
function checkGroups(c: TrainConfig): void {
  if (c.groupSize !== 'auto') {
    const hint = 'use e.g. --group-size 8, auto, or 0 to turn the invariant reduction off';
    intIn(c.groupSize ?? 0, 0, MAX_BATCH_SIZE, '--group-size', hint);
  }
  const g = groupSizeOf(c);
  if (g === 0 && hasBatchNorm(modelSpecOf(c))) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `${c.model} has batch norm, whose batches are the groups: --group-size 0 leaves it none`,
      {
        hint: 'use --group-size auto (the default) or a number: each group is normalized on its own (ghost batch norm)',
      },
    );
  }
  const groups = Math.ceil(c.batchSize / g);
  if (g > 0 && groups < c.workers) {
    const most = Math.max(1, Math.floor(c.batchSize / c.workers));
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `--batch-size ${c.batchSize} is ${groups} group(s) of --group-size ${g}: too few for --workers ${c.workers}`,
      { hint: `each worker computes whole groups: use --group-size ${most} or less, or a larger batch` },
    );
  }
}

function derive(c: TrainConfig, p: number, train: number): Derived {
  const frame = 4 * p;
  return {
    paramCount: p,
    trainSamples: train,
    stepsPerEpoch: stepsPerEpoch(train, c.batchSize),
    totalSteps: totalSteps(c),
    perWorkerBatch: c.batchSize / c.workers,
    peakLr: scaledLr(scheduleOf(c)),
    bytesPerBroadcast: frame,
    bytesPerStep: 2 * c.workers * frame,
  };
}
