// Experiment plans: the momentum-SGD comparison of the article we reproduce, and batch-size sweeps
// (batch x optimizer x momentum x lr scaling x warmup x schedule x seed).

import { TrainerError, type MomentumForm, type ScalingRule, type ScheduleKind, type TrainConfig } from '@dtrain/common';
import type { PlannedRun } from './run-plan.js';

export const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);
export const numbers = (s: string, flag: string): number[] => list(s).map((x) => {
  const v = Number(x);
  if (!Number.isFinite(v)) throw new TrainerError('ERR_BAD_CONFIG', `${flag}: "${x}" is not a number`, { hint: `give a comma-separated list of numbers, e.g. ${flag} 32,64,128` });
  return v;
});

/** A comma-separated list whose every entry must be one of `choices`. */
export function choiceList<C extends string>(s: string, choices: readonly C[], flag: string): C[] {
  const isChoice = (x: string): x is C => (choices as readonly string[]).includes(x);
  return list(s).map((x) => {
    if (!isChoice(x)) throw new TrainerError('ERR_BAD_CONFIG', `${flag}: unknown "${x}"`, { hint: `use a comma-separated list of: ${choices.join(', ')}` });
    return x;
  });
}

export const MOMENTUM_FORMS = ['keras', 'ema', 'pytorch'] as const;
export const SWEEP_OPTIMIZERS = ['sgd', 'momentum', 'nesterov'] as const;
export const LR_SCALINGS = ['none', 'linear', 'sqrt'] as const;
export const SCHEDULES = ['constant', 'step', 'exponential', 'cosine'] as const;

/** Plain SGD, then momentum runs for every (form, mu), Nesterov variants if asked. */
export function momentumPlan(base: TrainConfig, momenta: number[], forms: MomentumForm[], nesterov: boolean): PlannedRun[] {
  const runs: PlannedRun[] = [{
    name: 'sgd', labels: { optimizer: 'sgd', momentum: 0, form: '-' },
    config: { ...base, optimizer: { ...base.optimizer, momentum: 0, dampening: 0, nesterov: false, form: 'pytorch' } },
  }];
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
  seeds: number[];
}

export function sweepPlan(base: TrainConfig, ax: SweepAxes): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const seen = new Set<string>();
  for (const batch of ax.batchSizes) for (const opt of ax.optimizers) for (const mu of opt === 'sgd' ? [0] : ax.momenta) {
    for (const scaling of ax.scalings) for (const warmup of ax.warmups) for (const schedule of ax.schedules) for (const seed of ax.seeds) {
      const name = `b${batch}-${opt}${opt === 'sgd' ? '' : mu}-${scaling}-w${warmup}-${schedule}-s${seed}`;
      if (seen.has(name)) continue;
      seen.add(name);
      runs.push({
        name, labels: { batchSize: batch, optimizer: opt, momentum: mu, scaling, warmup, schedule, seed },
        config: {
          ...base, batchSize: batch, seed, scaling, warmupSteps: warmup, schedule,
          optimizer: { ...base.optimizer, momentum: mu, nesterov: opt === 'nesterov', dampening: 0 },
        },
      });
    }
  }
  return runs;
}
