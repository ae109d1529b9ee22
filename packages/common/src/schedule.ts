// Learning-rate schedules (constant, step, exponential, cosine) with linear warmup, and batch-size scaling
// rules (Goyal et al. 2017 linear; Krizhevsky 2014 / Hoffer et al. 2017 square root).

import { TrainerError } from './errors.js';

export type ScheduleKind = 'constant' | 'step' | 'exponential' | 'cosine';
export type ScalingRule = 'none' | 'linear' | 'sqrt';

export interface ScheduleConfig {
  lr: number;
  schedule: ScheduleKind;
  /** step: multiply by gamma every decaySteps; exponential: lr * gamma^(t / decaySteps). */
  decaySteps: number;
  gamma: number;
  /** cosine: floor of the decay. */
  minLr: number;
  warmupSteps: number;
  scaling: ScalingRule;
  baseBatchSize: number;
  batchSize: number;
  /** Total training steps (cosine decays to minLr at this step). */
  totalSteps: number;
}

/** The peak learning rate after the batch-size scaling rule. */
export function scaledLr(c: ScheduleConfig): number {
  const ratio = c.batchSize / c.baseBatchSize;
  switch (c.scaling) {
    case 'none':
      return c.lr;
    case 'linear':
      return c.lr * ratio;
    case 'sqrt':
      return c.lr * Math.sqrt(ratio);
  }
}

/** Learning rate used for step `t` (0-based). */
export function learningRate(c: ScheduleConfig, t: number): number {
  const peak = scaledLr(c);
  const warm = c.warmupSteps;
  const warmFactor = warm > 0 && t < warm ? (t + 1) / warm : 1;
  const u = Math.max(0, t - warm);
  let lr: number;
  switch (c.schedule) {
    case 'constant':
      lr = peak;
      break;
    case 'step':
      lr = peak * Math.pow(c.gamma, Math.floor(u / c.decaySteps));
      break;
    case 'exponential':
      lr = peak * Math.pow(c.gamma, u / c.decaySteps);
      break;
    case 'cosine': {
      const span = Math.max(1, c.totalSteps - warm);
      const p = Math.min(1, u / span);
      lr = c.minLr + 0.5 * (peak - c.minLr) * (1 + Math.cos(Math.PI * p));
      break;
    }
  }
  return lr * warmFactor;
}

export function validateSchedule(c: ScheduleConfig): void {
  const bad = (msg: string, hint: string): never => {
    throw new TrainerError('ERR_BAD_CONFIG', msg, { hint });
  };
  if (!(c.lr > 0) || !Number.isFinite(c.lr))
    bad(`learning rate ${c.lr} must be a positive number`, 'use e.g. --lr 0.01');
  if (!(c.decaySteps >= 1)) bad(`--lr-decay-steps ${c.decaySteps} must be >= 1`, 'use e.g. --lr-decay-steps 1000');
  if (!(c.gamma > 0 && c.gamma <= 1)) bad(`--lr-gamma ${c.gamma} must be in (0, 1]`, 'use e.g. --lr-gamma 0.1');
  if (!(c.minLr >= 0 && c.minLr <= scaledLr(c)))
    bad(`--lr-min ${c.minLr} must be in [0, peak lr ${scaledLr(c)}]`, 'use --lr-min 0');
  if (!(c.warmupSteps >= 0) || !Number.isInteger(c.warmupSteps))
    bad(`--warmup-steps ${c.warmupSteps} must be a whole number >= 0`, 'use e.g. --warmup-steps 100');
  if (!(c.baseBatchSize >= 1))
    bad(`--base-batch-size ${c.baseBatchSize} must be >= 1`, 'use e.g. --base-batch-size 64');
}
