// Command-line options for training runs (yargs), each with help text and default, and their mapping
// onto a TrainConfig; validation itself lives in @dtrain/common (validateConfig).

import { DATASET_NAMES, STEP_TIMEOUT_MS, type TrainConfig, TrainerError } from '@dtrain/common';
import { BACKEND_CHOICES, SCHED_POLICIES } from '@dtrain/worker';
import type { Argv } from 'yargs';
import { serverTlsOptions, tokenOption } from './secrets.js';

export function trainOptions<T>(y: Argv<T>) {
  return y
    .option('model', {
      type: 'string',
      default: 'reference-cnn',
      describe:
        'model from the zoo: reference-cnn (122,570 params), tiny-cnn (18,234), mlp-1m, mlp-11m (MLPs of 1M and 11M params, for scale benchmarks)',
      group: 'Model and data:',
    })
    .option('dataset', {
      type: 'string',
      default: 'synthetic' as const,
      choices: DATASET_NAMES,
      describe: 'synthetic (embedded, CIFAR-10-shaped, generated from --seed) or cifar10 (fetched on first use)',
      group: 'Model and data:',
    })
    .option('data-dir', {
      type: 'string',
      describe:
        'cifar10: directory with the six binary files (default: the cache, $XDG_CACHE_HOME/dtrain/cifar10 or ~/.cache/dtrain/cifar10)',
      group: 'Model and data:',
    })
    .option('limit-train', {
      type: 'number',
      default: 0,
      describe: 'cifar10: use the first N training images (0: all 50,000)',
      group: 'Model and data:',
    })
    .option('limit-test', {
      type: 'number',
      default: 0,
      describe: 'cifar10: use the first N test images (0: all 10,000)',
      group: 'Model and data:',
    })
    .option('normalize', {
      type: 'boolean',
      default: false,
      describe: 'standardize each channel with the training mean/std (default: divide by 255 only)',
      group: 'Model and data:',
    })
    .option('augment', {
      type: 'boolean',
      default: false,
      describe:
        'random crop (4-pixel zero padding) + horizontal flip of training images, keyed on (seed, epoch, sample)',
      group: 'Model and data:',
    })
    .option('train-size', {
      type: 'number',
      default: 10000,
      describe: 'synthetic: training images (before the validation split)',
      group: 'Model and data:',
    })
    .option('test-size', {
      type: 'number',
      default: 2000,
      describe: 'synthetic: test images',
      group: 'Model and data:',
    })
    .option('val-fraction', {
      type: 'number',
      default: 0.2,
      describe: 'fraction of the training images held out for validation (the last ones, as Keras validation_split)',
      group: 'Model and data:',
    })
    .option('seed', {
      type: 'number',
      default: 1,
      describe: 'seed for initial weights, sample order and the embedded dataset',
      group: 'Model and data:',
    })
    .option('batch-size', {
      type: 'number',
      default: 64,
      describe: 'GLOBAL batch size per step, split across workers',
      group: 'Optimization:',
    })
    .option('epochs', { type: 'number', default: 4, describe: 'epochs to train', group: 'Optimization:' })
    .option('max-steps', {
      type: 'number',
      default: 0,
      describe: 'stop after this many steps in total (0: train for --epochs)',
      group: 'Optimization:',
    })
    .option('lr', {
      type: 'number',
      default: 0.01,
      describe: 'learning rate (peak, before warmup and decay; at --base-batch-size when scaling)',
      group: 'Optimization:',
    })
    .option('momentum', {
      type: 'number',
      default: 0.9,
      describe: 'momentum mu (0: plain SGD)',
      group: 'Optimization:',
    })
    .option('momentum-form', {
      type: 'string',
      default: 'pytorch' as const,
      choices: ['pytorch', 'ema', 'keras'] as const,
      describe: 'pytorch: v=mu*v+(1-dampening)*g, w-=lr*v; ema: dampening=mu (v=b*v+(1-b)*g); keras: v=mu*v-lr*g, w+=v',
      group: 'Optimization:',
    })
    .option('dampening', {
      type: 'number',
      default: 0,
      describe: 'PyTorch dampening (pytorch form only)',
      group: 'Optimization:',
    })
    .option('nesterov', { type: 'boolean', default: false, describe: 'Nesterov momentum', group: 'Optimization:' })
    .option('weight-decay', {
      type: 'number',
      default: 0,
      describe: 'L2 weight decay added to the gradient',
      group: 'Optimization:',
    })
    .option('lr-schedule', {
      type: 'string',
      default: 'constant' as const,
      choices: ['constant', 'step', 'exponential', 'cosine'] as const,
      describe: 'learning-rate schedule after warmup',
      group: 'Optimization:',
    })
    .option('lr-decay-steps', {
      type: 'number',
      default: 1000,
      describe: 'step: multiply by --lr-gamma every N steps; exponential: lr*gamma^(t/N)',
      group: 'Optimization:',
    })
    .option('lr-gamma', {
      type: 'number',
      default: 0.1,
      describe: 'decay factor for step and exponential schedules',
      group: 'Optimization:',
    })
    .option('lr-min', { type: 'number', default: 0, describe: 'cosine schedule floor', group: 'Optimization:' })
    .option('warmup-steps', { type: 'number', default: 0, describe: 'linear warmup steps', group: 'Optimization:' })
    .option('lr-scaling', {
      type: 'string',
      default: 'none' as const,
      choices: ['none', 'linear', 'sqrt'] as const,
      describe: 'scale lr with batch size relative to --base-batch-size',
      group: 'Optimization:',
    })
    .option('base-batch-size', {
      type: 'number',
      default: 64,
      describe: 'reference batch size for --lr-scaling',
      group: 'Optimization:',
    })
    .option('workers', { type: 'number', default: 2, describe: 'workers to wait for before step 1', group: 'Run:' })
    .option('min-workers', {
      type: 'number',
      describe: 'keep training while at least this many workers are alive (default: --workers)',
      group: 'Run:',
    })
    .option('eval-every', {
      type: 'number',
      default: 0,
      describe: 'evaluate every N steps (0: at the end of each epoch)',
      group: 'Run:',
    })
    .option('eval-chunk', { type: 'number', default: 500, describe: 'samples per evaluation shard', group: 'Run:' })
    .option('checkpoint-every', {
      type: 'number',
      default: 0,
      describe: 'write a checkpoint every N steps (0: only the initial and final ones)',
      group: 'Run:',
    })
    .option('checkpoint-seconds', {
      type: 'number',
      default: 0,
      describe:
        'also write a checkpoint when this many seconds passed since the last one (0: off); for preemptible or requeued jobs',
      group: 'Run:',
    })
    .option('patience', {
      type: 'number',
      default: 0,
      describe:
        'end a run (status stalled) once this many epochs pass without a new best validation loss or accuracy (0: off); in grids, runs that collapse to chance stop instead of training to their cap',
      group: 'Run:',
    })
    .option('keep-checkpoints', {
      type: 'number',
      default: 0,
      describe: 'keep only the newest N checkpoints (0: all)',
      group: 'Run:',
    })
    .option('grad-wire', {
      type: 'string',
      default: 'fp32' as const,
      choices: ['fp32', 'bf16', 'fp16', 'int8'] as const,
      describe:
        'how workers send gradients: fp32, bf16/fp16 (2 bytes), int8 (1 byte, a scale per 4096 values); rounding error is fed back into the next gradient; weights stay fp32',
      group: 'Run:',
    })
    .option('balance', {
      type: 'string',
      default: 'even' as const,
      choices: ['even', 'speed'] as const,
      describe:
        "cut each batch evenly (bit-reproducible) or in proportion to each worker's measured speed (uneven GPUs or hosts)",
      group: 'Run:',
    })
    .option('step-timeout', {
      type: 'number',
      default: STEP_TIMEOUT_MS / 1000,
      describe: 'seconds before an unfinished shard is given to another worker',
      group: 'Run:',
    })
    .option('wait-timeout', {
      type: 'number',
      default: 600,
      describe: 'seconds to wait for enough workers before giving up (a checkpoint is kept)',
      group: 'Run:',
    })
    .option('out', { type: 'string', describe: 'run directory (default: runs/<timestamp>)', group: 'Run:' })
    .option('overwrite', {
      type: 'boolean',
      default: false,
      describe: 'replace an earlier run in --out instead of refusing',
      group: 'Run:',
    })
    .option('resume', {
      type: 'string',
      describe:
        'continue from a run directory or checkpoint directory (its config is used); auto: continue --out if it holds a checkpoint, else start fresh (requeued jobs, restarted pods)',
      group: 'Run:',
    });
}

/** Named keys only: drops the index signature yargs adds, and `_` and `$0`. */
type NamedOptions<T> = {
  [K in keyof T as string extends K ? never : number extends K ? never : K extends '_' | '$0' ? never : K]: T[K];
};

/** The options a builder defines, as yargs parses them (types inferred, camelCase and kebab-case keys). */
export type OptionsOf<B extends (y: Argv<object>) => Argv<unknown>> = NamedOptions<Awaited<ReturnType<B>['argv']>>;

/** What toTrainConfig reads: the training options, from the command line or built by a benchmark. */
export type TrainInput = OptionsOf<typeof trainOptions<object>>;

export function toTrainConfig(a: TrainInput): TrainConfig {
  return {
    model: a.model,
    dataset:
      a.dataset === 'cifar10'
        ? {
            name: 'cifar10',
            limitTrain: a.limitTrain,
            limitTest: a.limitTest,
            seed: a.seed,
            valFraction: a.valFraction,
            normalize: a.normalize,
            augment: a.augment,
          }
        : {
            name: 'synthetic',
            trainSize: a.trainSize,
            testSize: a.testSize,
            seed: a.seed,
            valFraction: a.valFraction,
            normalize: a.normalize,
            augment: a.augment,
          },
    seed: a.seed,
    batchSize: a.batchSize,
    epochs: a.epochs,
    maxSteps: a.maxSteps,
    lr: a.lr,
    schedule: a.lrSchedule,
    decaySteps: a.lrDecaySteps,
    gamma: a.lrGamma,
    minLr: a.lrMin,
    warmupSteps: a.warmupSteps,
    scaling: a.lrScaling,
    baseBatchSize: a.baseBatchSize,
    optimizer: {
      momentum: a.momentum,
      dampening: a.dampening,
      nesterov: a.nesterov,
      weightDecay: a.weightDecay,
      form: a.momentumForm,
    },
    workers: a.workers,
    minWorkers: a.minWorkers ?? a.workers,
    evalEvery: a.evalEvery,
    evalChunk: a.evalChunk,
    checkpointEvery: a.checkpointEvery,
    keepCheckpoints: a.keepCheckpoints,
    checkpointSeconds: a.checkpointSeconds,
    stepTimeoutMs: a.stepTimeout * 1000,
    balance: a.balance,
    ...(a.gradWire !== 'fp32' ? { gradWire: a.gradWire } : {}),
    ...(a.patience !== 0 ? { patienceEpochs: a.patience } : {}), // NaN (--patience abc) goes on to be refused
  };
}

/** Training options plus the token: what every command that serves a run takes. */
export function serveOptions<T>(y: Argv<T>) {
  return tokenOption(trainOptions(y));
}

export { resolveToken, tokenOption } from './secrets.js';

/** --host/--port for a coordinator or pool that listens. */
export function listenOptions<T>(y: Argv<T>, what: string) {
  return serverTlsOptions(y)
    .option('host', {
      type: 'string',
      default: '127.0.0.1',
      describe: `${what} address (0.0.0.0 for workers on other machines)`,
      group: 'Network:',
    })
    .option('port', { type: 'number', default: 7070, describe: 'TCP port (0: any free port)', group: 'Network:' });
}

/** $DTRAIN_TOKEN and $DTRAIN_TOKEN_FILE, accepted (and unused) by commands that serve no run. */
export function ignoredTokenOptions<T>(y: Argv<T>) {
  return y.option('token', { type: 'string', hidden: true }).option('token-file', { type: 'string', hidden: true });
}

/** A TCP port: a whole number in 0..65535 (0: any free port). */
export function checkPort(port: number, flag = '--port'): number {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      Number.isNaN(port) ? `${flag} is not a number` : `${flag} ${port} is not a TCP port`,
      { hint: `use a whole number in 0..65535, e.g. ${flag} 7070 (0: any free port)` },
    );
  }
  return port;
}

/** A duration in seconds from a flag: a finite number >= 0. */
export function checkSeconds(seconds: number, flag: string): number {
  if (!Number.isFinite(seconds) || seconds < 0) {
    const what = Number.isNaN(seconds) ? `${flag} is not a number` : `${flag} ${seconds} is not a duration`;
    throw new TrainerError('ERR_BAD_CONFIG', what, { hint: `give seconds >= 0, e.g. ${flag} 600` });
  }
  return seconds;
}

/** A coordinator's address from a flag: ws:// or wss://, a host, a port in 1..65535 if given. */
export function checkConnect(url: string, flag = '--connect'): string {
  const hint = { hint: 'use e.g. ws://10.0.0.1:7070 (wss:// for TLS; [::1] for IPv6)' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TrainerError('ERR_BAD_CONFIG', `${flag} "${url}" is not a valid address (host or port malformed)`, hint);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new TrainerError('ERR_BAD_CONFIG', `${flag} "${url}" is not a ws:// or wss:// address`, hint);
  }
  if (!parsed.hostname) throw new TrainerError('ERR_BAD_CONFIG', `${flag} "${url}" names no host`, hint);
  if (parsed.port === '0')
    throw new TrainerError('ERR_BAD_CONFIG', `${flag} "${url}": port 0 is not a port to connect to`, hint);
  return url;
}

export function backendOption<T>(y: Argv<T>, who: string) {
  return y.option('backend', {
    type: 'string',
    default: 'auto' as const,
    choices: BACKEND_CHOICES,
    describe: `tfjs backend for ${who}: auto = tensorflow (native, GPU if present) if it loads, else wasm, else cpu; wasm runs dtrain's kernels with fused multiply-adds where the engine can, wasm-simd without`,
    group: 'Network:',
  });
}

export function schedOption<T>(y: Argv<T>, who: string) {
  return y.option('sched', {
    type: 'string',
    default: 'batch' as const,
    choices: SCHED_POLICIES,
    describe: `${who} Linux CPU policy: batch = SCHED_BATCH via chrt (a woken worker does not preempt a coordinator on the same cores), normal = leave as is`,
    group: 'Network:',
  });
}

/** The options of a pool that serves many runs (experiments and sweeps). */
export function poolOptions<T>(y: Argv<T>) {
  return schedOption(backendOption(listenOptions(serveOptions(y), 'pool'), 'local workers'), "local workers'")
    .option('local', {
      type: 'number',
      default: 2,
      describe: 'local worker processes to start (0: wait for workers to connect)',
      group: 'Network:',
    })
    .option('target', {
      type: 'number',
      default: 0.5,
      describe: 'target validation accuracy for steps/epochs/examples to target',
      group: 'Run:',
    })
    .option('dry-run', {
      type: 'boolean',
      default: false,
      describe: 'print the runs, their steps and an estimated time (from a short speed probe), then stop',
      group: 'Run:',
    });
}
