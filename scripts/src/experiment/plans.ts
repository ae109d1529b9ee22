// Experiment plans: the momentum-SGD comparison of the article we reproduce, and batch-size sweeps
// (batch x optimizer x momentum x lr scaling x warmup x schedule x learning rate x seed).

import {
  type MomentumForm,
  OPTIMIZER_KINDS,
  type OptimizerConfig,
  type OptimizerKind,
  type ScalingRule,
  type ScheduleKind,
  stepsPerEpoch,
  type TrainConfig,
  TrainerError,
  trainSplitSize,
  usesHeavyBall,
} from '@dtrain/common';
import type { PlannedRun } from './run-plan.js';

export const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
export const numbers = (s: string, flag: string): number[] =>
  list(s).map((x) => {
    const v = Number(x);
    if (!Number.isFinite(v))
      throw new TrainerError('ERR_BAD_CONFIG', `${flag}: "${x}" is not a number`, {
        hint: `give a comma-separated list of numbers, e.g. ${flag} 32,64,128`,
      });
    return v;
  });

/** A comma-separated list whose every entry must be one of `choices`. */
export function choiceList<C extends string>(s: string, choices: readonly C[], flag: string): C[] {
  const isChoice = (x: string): x is C => (choices as readonly string[]).includes(x);
  return list(s).map((x) => {
    if (!isChoice(x))
      throw new TrainerError('ERR_BAD_CONFIG', `${flag}: unknown "${x}"`, {
        hint: `use a comma-separated list of: ${choices.join(', ')}`,
      });
    return x;
  });
}

/** Most learning rates in one grid. */
export const MAX_LRS = 40;

/**
 * The learning-rate grid of a sweep: --lrs (a list), or --lr-range MIN,MAX,N (N values spaced
 * geometrically from MIN to MAX, both included), or the single --lr.
 */
export function lrGrid(lrs: string | undefined, range: string | undefined, lr: number): number[] {
  if (lrs !== undefined && range !== undefined)
    throw new TrainerError('ERR_BAD_CONFIG', '--lrs and --lr-range both given', {
      hint: 'give the grid one way: a list (--lrs 0.01,0.03,0.1) or a range (--lr-range 0.01,0.1,3)',
    });
  const positive = (values: number[], flag: string): number[] => {
    const bad = values.find((v) => !(v > 0 && v <= 1000));
    if (bad !== undefined)
      throw new TrainerError('ERR_BAD_CONFIG', `${flag}: learning rate ${bad} is not in (0, 1000]`, {
        hint: `e.g. ${flag} 0.01,0.03,0.1`,
      });
    if (values.length === 0 || values.length > MAX_LRS)
      throw new TrainerError('ERR_BAD_CONFIG', `${flag} gives ${values.length} learning rates`, {
        hint: `give 1..${MAX_LRS}`,
      });
    return [...new Set(values)].sort((a, b) => a - b);
  };
  if (lrs !== undefined) return positive(numbers(lrs, '--lrs'), '--lrs');
  if (range === undefined) return positive([lr], '--lr');
  const [min, max, n] = numbers(range, '--lr-range');
  if (
    numbers(range, '--lr-range').length !== 3 ||
    !(min! > 0) ||
    !(max! > min!) ||
    !Number.isInteger(n) ||
    n! < 2 ||
    n! > MAX_LRS
  ) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `--lr-range "${range}" is not MIN,MAX,N with 0 < MIN < MAX and N in 2..${MAX_LRS}`,
      { hint: 'e.g. --lr-range 0.003,0.3,5 (5 values, geometric)' },
    );
  }
  return positive(
    Array.from({ length: n! }, (_, i) => Number((min! * (max! / min!) ** (i / (n! - 1))).toPrecision(3))),
    '--lr-range',
  );
}

export const MOMENTUM_FORMS = ['keras', 'ema', 'pytorch'] as const;
export const SWEEP_OPTIMIZERS = OPTIMIZER_KINDS;
export const LR_SCALINGS = ['none', 'linear', 'sqrt'] as const;
export const SCHEDULES = ['constant', 'step', 'exponential', 'cosine'] as const;

/** Plain SGD, then momentum runs for every (form, mu), Nesterov variants if asked. */
export function momentumPlan(
  base: TrainConfig,
  momenta: number[],
  forms: MomentumForm[],
  nesterov: boolean,
): PlannedRun[] {
  const runs: PlannedRun[] = [
    {
      name: 'sgd',
      labels: { optimizer: 'sgd', momentum: 0, form: '-' },
      config: {
        ...base,
        optimizer: { ...base.optimizer, momentum: 0, dampening: 0, nesterov: false, form: 'pytorch' },
      },
    },
  ];
  for (const form of forms) {
    for (const mu of momenta) {
      for (const nest of nesterov ? [false, true] : [false]) {
        runs.push({
          name: `momentum-${form}-${mu}${nest ? '-nesterov' : ''}`,
          labels: { optimizer: nest ? 'nesterov' : 'momentum', momentum: mu, form },
          config: { ...base, optimizer: { ...base.optimizer, momentum: mu, dampening: 0, nesterov: nest, form } },
        });
      }
    }
  }
  return runs;
}

export interface SweepAxes {
  batchSizes: number[];
  optimizers: (typeof SWEEP_OPTIMIZERS)[number][];
  momenta: number[];
  scalings: ScalingRule[];
  warmups: number[];
  schedules: ScheduleKind[];
  /** The learning-rate grid (peak lr, before scaling). */
  lrs: number[];
  seeds: number[];
}

export function sweepPlan(base: TrainConfig, ax: SweepAxes): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const seen = new Set<string>();
  for (const batch of ax.batchSizes)
    for (const opt of ax.optimizers)
      for (const mu of usesHeavyBall(opt) ? ax.momenta : [0]) {
        for (const scaling of ax.scalings)
          for (const warmup of ax.warmups)
            for (const schedule of ax.schedules)
              for (const lr of ax.lrs)
                for (const seed of ax.seeds) {
                  const name = `b${batch}-${opt}${usesHeavyBall(opt) ? mu : ''}-${scaling}-w${warmup}-${schedule}-lr${lr}-s${seed}`;
                  if (seen.has(name)) continue;
                  seen.add(name);
                  runs.push({
                    name,
                    labels: { batchSize: batch, optimizer: opt, momentum: mu, scaling, warmup, schedule, lr, seed },
                    config: {
                      ...base,
                      batchSize: batch,
                      seed,
                      scaling,
                      warmupSteps: warmup,
                      schedule,
                      lr,
                      optimizer: sweptOptimizer(base.optimizer, opt, mu),
                    },
                  });
                }
      }
  return runs;
}

/**
 * The optimizer of one sweep run. sgd, momentum and nesterov keep the kind implicit, as configs did before
 * --optimizer (so sweeps started then continue as the same runs); the other kinds name it.
 */
function sweptOptimizer(base: OptimizerConfig, kind: OptimizerKind, mu: number): OptimizerConfig {
  const { kind: _, beta1, beta2, eps, trustCoefficient, ...shared } = base;
  const sgdLike = { ...shared, momentum: mu, nesterov: kind === 'nesterov', dampening: 0 };
  if (kind === 'sgd' || kind === 'momentum' || kind === 'nesterov') return sgdLike;
  const own = kind === 'lars' ? { trustCoefficient } : { beta1, beta2, eps };
  const set = Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined));
  return { ...sgdLike, ...set, kind, nesterov: false, form: 'pytorch' };
}

/** Evaluate about `n` times per epoch whatever the batch size (a steps-to-target resolution of 1/n epoch). */
export function withEvalsPerEpoch(plan: PlannedRun[], n: number): PlannedRun[] {
  if (!Number.isInteger(n) || n < 0 || n > 100)
    throw new TrainerError('ERR_BAD_CONFIG', `--evals-per-epoch ${n} must be a whole number in 0..100`, {
      hint: 'e.g. --evals-per-epoch 4 (0: use --eval-every)',
    });
  if (n === 0) return plan;
  return plan.map((r) => ({
    ...r,
    config: {
      ...r.config,
      evalEvery: Math.max(1, Math.floor(stepsPerEpoch(trainSplitSize(r.config.dataset), r.config.batchSize) / n)),
    },
  }));
}
