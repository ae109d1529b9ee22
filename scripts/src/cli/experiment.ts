// `dtrain experiment momentum` and `dtrain sweep`: build a plan, run it on one pool (N local worker
// processes, or workers that connect from other machines), print a table, write reports. The list
// options (--momenta, --forms, ...) are parsed by experiment/plans.ts.

import { DATASET_NAMES, TrainerError } from '@dtrain/common';
import type { Argv } from 'yargs';
import {
  choiceList,
  LR_SCALINGS,
  lrGrid,
  MOMENTUM_FORMS,
  momentumPlan,
  numbers,
  SCHEDULES,
  SWEEP_OPTIMIZERS,
  type SweepAxes,
  sweepPlan,
  withEvalsPerEpoch,
} from '../experiment/plans.js';
import { type ExperimentPool, runExperiment } from '../experiment/run-experiment.js';
import {
  checkPort,
  checkSeconds,
  type OptionsOf,
  poolOptions,
  resolveToken,
  toTrainConfig,
} from '../options/options.js';
import { configKeysHere, givenHere } from '../options/run-request.js';
import { serverTls } from '../options/secrets.js';

function momentumOptions<T>(y: Argv<T>) {
  return poolOptions(y)
    .option('epochs', { type: 'number', default: 10, describe: 'epochs per run (the article: 10)' })
    .option('dataset', {
      type: 'string',
      default: 'cifar10' as const, // its choices come from the pool options (naming them again lists them twice)
      coerce: (name: string) => name as (typeof DATASET_NAMES)[number],
      describe: 'dataset (the article: CIFAR-10)',
    })
    .option('momenta', {
      type: 'string',
      default: '0.9',
      describe: 'comma-separated momentum values, e.g. 0.9,0.95,0.99',
    })
    .option('forms', {
      type: 'string',
      default: 'keras',
      describe: "comma-separated momentum forms: keras (the article's code), ema (the article's formula), pytorch",
    })
    .option('with-nesterov', { type: 'boolean', default: false, describe: 'also run a Nesterov variant of each' })
    .example('$0 experiment momentum --momenta 0.9,0.99 --epochs 10', 'plain SGD vs momentum 0.9 and 0.99 on CIFAR-10');
}

function sweepOptions<T>(y: Argv<T>) {
  return Object.keys(SWEEP_REPLACES)
    .reduce((h, one) => h.hide(one), poolOptions(y))
    .option('batch-sizes', { type: 'string', default: '32,64,128,256', describe: 'comma-separated GLOBAL batch sizes' })
    .option('optimizers', {
      type: 'string',
      default: 'sgd,momentum',
      describe:
        'comma-separated: sgd, momentum, nesterov, adam, adamw, lars, lamb (--momenta applies to momentum, nesterov, lars)',
    })
    .option('momenta', {
      type: 'string',
      default: '0.9',
      describe: 'comma-separated momentum values (momentum/nesterov runs)',
    })
    .option('lr-scalings', { type: 'string', default: 'none', describe: 'comma-separated: none, linear, sqrt' })
    .option('warmups', { type: 'string', default: '0', describe: 'comma-separated warmup steps' })
    .option('schedules', {
      type: 'string',
      default: 'constant',
      describe: 'comma-separated: constant, step, exponential, cosine',
    })
    .option('seeds', { type: 'string', default: '1', describe: 'comma-separated seeds (repeats)' })
    .option('lrs', {
      type: 'string',
      describe:
        'learning-rate grid, comma-separated (default: --lr alone); each batch size x optimizer reports its best',
      group: 'Optimization:',
    })
    .option('lr-range', {
      type: 'string',
      describe: 'learning-rate grid as MIN,MAX,N: N values spaced geometrically, e.g. 0.003,0.3,5',
      group: 'Optimization:',
    })
    .option('evals-per-epoch', {
      type: 'number',
      default: 0,
      describe:
        'evaluate about N times per epoch at every batch size (0: --eval-every); the resolution of steps to target',
      group: 'Run:',
    })
    .option('stop-at-target', {
      type: 'boolean',
      default: false,
      describe: 'end each run at its first evaluation at or above --target (steps to target need nothing after it)',
      group: 'Run:',
    })
    .example(
      '$0 sweep --batch-sizes 32,64,128,256 --optimizers sgd,momentum --lr-scalings linear --target 0.6',
      'steps to 60% by batch size',
    )
    .example(
      '$0 sweep --batch-sizes 16,64,256,1024 --lr-range 0.003,0.3,5 --seeds 1,2 --target 0.6 --stop-at-target',
      'Shallue et al.: the best learning rate per batch size',
    );
}

/** One run's options that a sweep's grid replaces: hidden from its help, refused when given (with the list to use). */
export const SWEEP_REPLACES: Record<string, string> = {
  'batch-size': 'batch-sizes',
  optimizer: 'optimizers',
  momentum: 'momenta',
  'lr-scaling': 'lr-scalings',
  'warmup-steps': 'warmups',
  'lr-schedule': 'schedules',
  seed: 'seeds',
};

/** Refuse a single-run option given to a sweep on its command line or in its --config file (a DTRAIN_* variable is ignored). */
export function refuseReplaced(argv: readonly string[], configKeys: readonly string[]): void {
  for (const [one, list] of Object.entries(SWEEP_REPLACES)) {
    if (argv.some((x) => x === `--${one}` || x.startsWith(`--${one}=`)) || configKeys.includes(one)) {
      throw new TrainerError('ERR_BAD_CONFIG', `a sweep takes --${list} (a list): --${one} is for one run`, {
        hint: `e.g. --${list} ${one === 'seed' ? '1,2,3' : 'A,B'}; a single value is a list of one`,
      });
    }
  }
}

export type PoolArgs = OptionsOf<typeof poolOptions<object>>;

export function momentumCommand(y: Argv): Argv {
  return y.command(
    'experiment momentum',
    'reproduce the momentum-SGD comparison: plain SGD vs momentum runs on one pool, a table and a report',
    momentumOptions,
    async (a) => {
      const plan = momentumPlan(
        toTrainConfig(withLocalWorkers(a)),
        numbers(a.momenta, '--momenta'),
        choiceList(a.forms, MOMENTUM_FORMS, '--forms'),
        a.withNesterov,
      );
      await runExperiment('momentum', plan, experimentPool(a));
    },
  );
}

export function sweepCommand(y: Argv): Argv {
  return y.command(
    'sweep',
    'grid over batch size x optimizer x momentum x lr scaling x warmup x schedule x seed on one pool; steps to target, reports',
    sweepOptions,
    async (a) => {
      refuseReplaced(process.argv.slice(2), configKeysHere());
      const axes: SweepAxes = {
        batchSizes: numbers(a.batchSizes, '--batch-sizes'),
        optimizers: choiceList(a.optimizers, SWEEP_OPTIMIZERS, '--optimizers'),
        momenta: numbers(a.momenta, '--momenta'),
        scalings: choiceList(a.lrScalings, LR_SCALINGS, '--lr-scalings'),
        warmups: numbers(a.warmups, '--warmups'),
        schedules: choiceList(a.schedules, SCHEDULES, '--schedules'),
        seeds: numbers(a.seeds, '--seeds'),
        lrs: lrGrid(a.lrs, a.lrRange, a.lr),
      };
      // Stopping at the target: periodic evaluations on validation only, the test split once at the end.
      const config = toTrainConfig(withLocalWorkers(a));
      const base = {
        ...config,
        evalNearTargets: config.evalNearTargets ?? [a.target], // the crossing resolved to 2% of its steps
        ...(a.stopAtTarget ? { stopAtValAccuracy: a.target, testEvery: 'end' as const } : {}),
      };
      const plan = withEvalsPerEpoch(sweepPlan(base, axes), a.evalsPerEpoch);
      await runExperiment('sweep', plan, experimentPool(a));
    },
  );
}

/** With --local N and no --workers given, each run waits for those N workers (not the default 2). */
function withLocalWorkers<T extends { local: number; workers: number; minWorkers?: number | undefined }>(a: T): T {
  const given = givenHere();
  if (a.local < 1 || given.has('workers')) return a;
  return { ...a, workers: a.local, ...(given.has('min-workers') ? {} : { minWorkers: undefined }) };
}

/** The pool options, checked. */
function experimentPool(
  a: PoolArgs & {
    dataset: string;
    trace?: string | undefined;
    dashboardPort?: number | undefined;
    dashboardHost?: string | undefined;
  },
): ExperimentPool {
  return {
    ...a,
    port: checkPort(a.port),
    token: resolveToken(a.token, a.tokenFile),
    tls: serverTls(a),
    waitTimeoutMs: checkSeconds(a.waitTimeout, '--wait-timeout') * 1000,
    ...(a.trace ? { traceDir: a.trace } : {}),
    ...(a.dashboardPort !== undefined
      ? { dashboard: { host: a.dashboardHost ?? '127.0.0.1', port: checkPort(a.dashboardPort, '--dashboard-port') } }
      : {}),
  };
}
