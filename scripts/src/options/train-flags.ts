// The training flags, one table: each row is the yargs option (type, default, help), where its value goes
// in the TrainConfig (`path`; `only` for one dataset; `to` converts) and its role on --resume:
//  - meaning: what the run computes; a different value on --resume is refused, naming it;
//  - applied: extends or steers the run (more --epochs); taken on --resume;
//  - operational: how the run is operated (common's OPERATIONAL_KEYS); taken on --resume and by sweeps;
//  - workers: the request's worker counts, always taken;
//  - process: where and how this process serves the run; not part of the config.
// trainOptions (yargs), toTrainConfig and the resume rules are all generated from it.

import { DATASET_NAMES, STEP_TIMEOUT_MS } from '@dtrain/common';
import type { Options } from 'yargs';
import type { ConfigPath } from './config-path.js';
import { OBSERVE_FLAGS } from './observe-flags.js';
import { OPTIMIZER_FLAGS } from './optimizer-flags.js';

const DATA = 'Model and data:';
const OPTIM = 'Optimization:';
const RUN = 'Run:';

export type FlagRole = 'meaning' | 'applied' | 'operational' | 'workers' | 'process';

export interface FlagRow extends Options {
  role: FlagRole;
  /** Where the value goes in the config (several places for the seed); absent for process flags. */
  path?: ConfigPath | readonly ConfigPath[];
  /** Only for these datasets (their specs have no such field otherwise). */
  only?: readonly string[];
  /** The config value from the flag's (undefined: the key is left out). */
  to?: (value: any, args: { workers: number; optimizer?: string | undefined; optimizers?: unknown }) => unknown;
}

export const TRAIN_FLAGS = {
  model: {
    type: 'string',
    default: 'reference-cnn',
    describe:
      'model from the zoo: reference-cnn (122,570 params), tiny-cnn (18,234), resnet8, resnet20, resnet56 (CIFAR ResNets ' +
      'with batch norm), resnet18 (11M), mlp-1m, mlp-11m (MLPs for scale benchmarks); or a tfjs LayersModel file (path/model.json)',
    group: DATA,
    path: 'model',
    role: 'meaning',
  },
  dataset: {
    type: 'string',
    default: 'synthetic',
    describe:
      `the images, one of ${DATASET_NAMES.join(', ')}: generated ones embedded in dtrain (CIFAR-10-shaped, from ` +
      '--seed); CIFAR-10 or CIFAR-100 (fine labels; fetched on first use); or your own, one subfolder of PNG/JPEG ' +
      'files per class (resized to 32x32)',
    group: DATA,
    path: 'dataset.name',
    role: 'meaning',
  },
  'data-dir': {
    type: 'string',
    describe:
      'cifar10: directory with the six binary files (default: the cache, $XDG_CACHE_HOME/dtrain/cifar10 or ~/.cache/dtrain/cifar10)',
    group: DATA,
    role: 'process',
  },
  'test-fraction': {
    type: 'number',
    default: 0.2,
    describe: 'folder: the part of the images held out as the test split (a fixed draw by --seed)',
    group: DATA,
    path: 'dataset.testFraction',
    role: 'meaning',
    only: ['folder'],
  },
  'limit-train': {
    type: 'number',
    default: 0,
    describe: 'cifar10, cifar100: use the first N training images (0: all 50,000)',
    group: DATA,
    path: 'dataset.limitTrain',
    role: 'meaning',
    only: ['cifar10', 'cifar100'],
  },
  'limit-test': {
    type: 'number',
    default: 0,
    describe: 'cifar10, cifar100: use the first N test images (0: all 10,000)',
    group: DATA,
    path: 'dataset.limitTest',
    role: 'meaning',
    only: ['cifar10', 'cifar100'],
  },
  normalize: {
    type: 'boolean',
    default: false,
    describe: 'standardize each channel with the training mean/std (default: divide by 255 only)',
    group: DATA,
    path: 'dataset.normalize',
    role: 'meaning',
  },
  augment: {
    type: 'boolean',
    default: false,
    describe: 'random crop (4-pixel zero padding) + horizontal flip of training images, keyed on (seed, epoch, sample)',
    group: DATA,
    path: 'dataset.augment',
    role: 'meaning',
  },
  'train-size': {
    type: 'number',
    default: 10000,
    describe: 'synthetic: training images (before the validation split)',
    group: DATA,
    path: 'dataset.trainSize',
    role: 'meaning',
    only: ['synthetic'],
  },
  'test-size': {
    type: 'number',
    default: 2000,
    describe: 'synthetic: test images',
    group: DATA,
    path: 'dataset.testSize',
    role: 'meaning',
    only: ['synthetic'],
  },
  'val-fraction': {
    type: 'number',
    default: 0.2,
    describe: 'fraction of the training images held out for validation (the last ones, as Keras validation_split)',
    group: DATA,
    path: 'dataset.valFraction',
    role: 'meaning',
  },
  seed: {
    type: 'number',
    default: 1,
    describe: 'seed for initial weights, sample order and the embedded dataset',
    group: DATA,
    path: ['dataset.seed', 'seed'],
    role: 'meaning',
  },
  'batch-size': {
    type: 'number',
    default: 64,
    describe: 'GLOBAL batch size per step, split across workers',
    group: OPTIM,
    path: 'batchSize',
    role: 'meaning',
  },
  epochs: { type: 'number', default: 4, describe: 'epochs to train', group: OPTIM, path: 'epochs', role: 'applied' },
  'max-steps': {
    type: 'number',
    default: 0,
    describe: 'stop after this many steps in total (0: train for --epochs)',
    group: OPTIM,
    path: 'maxSteps',
    role: 'applied',
  },
  lr: {
    type: 'number',
    default: 0.01,
    describe: 'learning rate (peak, before warmup and decay; at --base-batch-size when scaling)',
    group: OPTIM,
    path: 'lr',
    role: 'meaning',
  },
  ...OPTIMIZER_FLAGS,
  'lr-schedule': {
    type: 'string',
    default: 'constant' as const,
    choices: ['constant', 'step', 'exponential', 'cosine'] as const,
    describe: 'learning-rate schedule after warmup',
    group: OPTIM,
    path: 'schedule',
    role: 'meaning',
  },
  'lr-decay-steps': {
    type: 'number',
    default: 1000,
    describe: 'step: multiply by --lr-gamma every N steps; exponential: lr*gamma^(t/N)',
    group: OPTIM,
    path: 'decaySteps',
    role: 'meaning',
  },
  'lr-gamma': {
    type: 'number',
    default: 0.1,
    describe: 'decay factor for step and exponential schedules',
    group: OPTIM,
    path: 'gamma',
    role: 'meaning',
  },
  'lr-min': {
    type: 'number',
    default: 0,
    describe: 'cosine schedule floor',
    group: OPTIM,
    path: 'minLr',
    role: 'meaning',
  },
  'warmup-steps': {
    type: 'number',
    default: 0,
    describe: 'linear warmup steps',
    group: OPTIM,
    path: 'warmupSteps',
    role: 'meaning',
  },
  'lr-scaling': {
    type: 'string',
    default: 'none' as const,
    choices: ['none', 'linear', 'sqrt'] as const,
    describe: 'scale lr with batch size relative to --base-batch-size',
    group: OPTIM,
    path: 'scaling',
    role: 'meaning',
  },
  'base-batch-size': {
    type: 'number',
    default: 64,
    describe: 'reference batch size for --lr-scaling',
    group: OPTIM,
    path: 'baseBatchSize',
    role: 'meaning',
  },
  workers: {
    type: 'number',
    default: 2,
    describe: 'workers to wait for before step 1',
    group: RUN,
    path: 'workers',
    role: 'workers',
  },
  'min-workers': {
    type: 'number',
    describe: 'keep training while at least this many workers are alive (default: --workers)',
    group: RUN,
    path: 'minWorkers',
    role: 'workers',
    to: (v: number | undefined, a: { workers: number }) => v ?? a.workers,
  },
  'eval-every': {
    type: 'number',
    default: 0,
    describe: 'evaluate every N steps (0: at the end of each epoch)',
    group: RUN,
    path: 'evalEvery',
    role: 'applied',
  },
  'eval-chunk': {
    type: 'number',
    default: 500,
    describe: 'samples per evaluation shard',
    group: RUN,
    path: 'evalChunk',
    role: 'operational',
  },
  'checkpoint-every': {
    type: 'number',
    default: 0,
    describe: 'write a checkpoint every N steps (0: only the initial and final ones)',
    group: RUN,
    path: 'checkpointEvery',
    role: 'operational',
  },
  'checkpoint-seconds': {
    type: 'number',
    default: 0,
    describe:
      'also write a checkpoint after the first step that starts once this many seconds passed since the last one (0: off); ' +
      'for preemptible or requeued jobs',
    group: RUN,
    path: 'checkpointSeconds',
    role: 'operational',
  },
  // NaN (--patience abc) is kept, and refused by validateConfig
  patience: {
    type: 'number',
    default: 0,
    describe:
      'end a run (status stalled) once this many epochs pass without a new best validation loss or ' +
      'accuracy (0: off); in grids, runs that collapse to chance stop instead of training to their cap',
    group: RUN,
    path: 'patienceEpochs',
    role: 'operational',
    to: (v: number) => (v !== 0 ? v : undefined),
  },
  'keep-checkpoints': {
    type: 'number',
    default: 0,
    describe: 'keep only the newest N checkpoints (0: all)',
    group: RUN,
    path: 'keepCheckpoints',
    role: 'operational',
  },
  'save-gradients': {
    type: 'number',
    default: 0,
    describe:
      'write the mean gradient each of the first N steps applied to <out>/gradients/step-N.f32 ' +
      '(for float64 reference checks, bench/reference/; 0: off)',
    group: RUN,
    path: 'saveGradients',
    role: 'operational',
    to: (v: number) => (v !== 0 ? v : undefined),
  },
  'grad-wire': {
    type: 'string',
    default: 'fp32' as const,
    choices: ['fp32', 'bf16', 'fp16', 'int8'] as const,
    describe:
      'how workers send gradients: fp32, bf16/fp16 (2 bytes), int8 (1 byte, a scale per ' +
      '4096 values); rounding error is fed back into the next gradient (--weight-wire: the weights)',
    group: RUN,
    path: 'gradWire',
    role: 'meaning',
    to: (v: string) => (v !== 'fp32' ? v : undefined),
  },
  'weight-wire': {
    type: 'string',
    default: 'fp32' as const,
    choices: ['fp32', 'bf16', 'int8'] as const,
    describe:
      'how the coordinator sends weights: fp32, or bf16/int8 deltas from the copy every process holds (EF21-P: ' +
      'the rounding is made up in the next delta); evaluated and checkpointed versions go as fp32, so ' +
      'evaluations, checkpoints and resumes see the exact weights',
    group: RUN,
    path: 'weightWire',
    role: 'meaning',
    to: (v: string) => (v !== 'fp32' ? v : undefined),
  },
  balance: {
    type: 'string',
    default: 'even' as const,
    choices: ['even', 'speed'] as const,
    describe:
      "cut each batch evenly or in proportion to each worker's measured speed (uneven GPUs or hosts); " +
      'with --group-size the cut does not change the bits',
    group: RUN,
    path: 'balance',
    role: 'applied',
  },
  'group-size': {
    type: 'string',
    default: 'auto',
    describe:
      "samples per group of the worker-count-invariant reduction: each group's gradient is computed on its own and " +
      'the groups are summed along one fixed tree, so weights and metrics are bitwise the same on any number of ' +
      'workers, relays or reassignments, and on a resume elsewhere; auto: the batch / 8 rounded down to a power of 2 ' +
      '(up to 8 workers); 0: off (one pass per shard, shards summed in shard order). For models with batch norm the ' +
      'groups are its batches (ghost batch norm; --bn-group is the same option)',
    alias: 'bn-group',
    group: OPTIM,
    path: 'groupSize',
    role: 'meaning',
    coerce: (v: unknown) => (v === 'auto' ? 'auto' : /^\d+$/.test(String(v)) ? Number(v) : v), // anything else: refused by validation
    to: (v: number | 'auto') => (v !== 0 ? v : undefined),
  },
  'step-timeout': {
    type: 'number',
    default: STEP_TIMEOUT_MS / 1000,
    describe: 'seconds before an unfinished shard is given to another worker',
    group: RUN,
    path: 'stepTimeoutMs',
    role: 'operational',
    to: (s: number) => s * 1000,
  },
  'wait-timeout': {
    type: 'number',
    default: 600,
    describe: 'seconds to wait for enough workers before giving up (a checkpoint is kept)',
    group: RUN,
    role: 'process',
  },
  out: { type: 'string', describe: 'run directory (default: runs/<timestamp>)', group: RUN, role: 'process' },
  overwrite: {
    type: 'boolean',
    default: false,
    describe: 'replace an earlier run in --out instead of refusing',
    group: RUN,
    role: 'process',
  },
  resume: {
    type: 'string',
    describe:
      'continue from a run directory or checkpoint directory (its config is used); auto: ' +
      'continue --out if it holds a checkpoint, else start fresh (requeued jobs, restarted pods)',
    group: RUN,
    role: 'process',
  },
  ...OBSERVE_FLAGS,
} as const satisfies Record<string, FlagRow>;
