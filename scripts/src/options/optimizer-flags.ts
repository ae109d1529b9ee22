// The optimizer's rows of the training-flag table (train-flags.ts). --optimizer picks the update; the
// settings of the other kinds are left out of the config (so a run's config says only what it uses):
// sgd, adam, adamw and lamb have no heavy-ball --momentum, only adam-family reads --beta1/--beta2/--eps.

import { isAdaptive, OPTIMIZER_KINDS, usesHeavyBall } from '@dtrain/common';
import type { FlagRow } from './train-flags.js';

const OPTIM = 'Optimization:';
const ADAPTIVE: string[] = OPTIMIZER_KINDS.filter(isAdaptive);
const MOMENTUM_FREE: string[] = OPTIMIZER_KINDS.filter((k) => !usesHeavyBall(k));
/** A value kept only where the chosen optimizer (or one a sweep's --optimizers lists) reads it. */
const onlyFor =
  (kinds: string[]) =>
  <T>(v: T, a: { optimizer?: string | undefined; optimizers?: unknown }): T | undefined => {
    const chosen = [a.optimizer, ...(typeof a.optimizers === 'string' ? a.optimizers.split(',') : [])];
    return chosen.some((k) => k !== undefined && kinds.includes(k.trim())) ? v : undefined;
  };

export const OPTIMIZER_FLAGS = {
  optimizer: {
    type: 'string',
    choices: OPTIMIZER_KINDS,
    describe:
      'the update: sgd, momentum, nesterov (torch.optim.SGD), adam, adamw (PyTorch), lars (You et al. 2017), ' +
      'lamb (You et al. 2019); default: momentum, or sgd with --momentum 0 (docs/optimizers.md)',
    group: OPTIM,
    path: 'optimizer.kind',
    role: 'meaning',
  },
  momentum: {
    type: 'number',
    default: 0.9,
    describe: 'momentum mu (0: plain SGD); also LARS; unused by sgd, adam, adamw and lamb',
    group: OPTIM,
    path: 'optimizer.momentum',
    role: 'meaning',
    to: (v: number, a: { optimizer?: string | undefined }) =>
      a.optimizer !== undefined && MOMENTUM_FREE.includes(a.optimizer) ? 0 : v,
  },
  'momentum-form': {
    type: 'string',
    default: 'pytorch' as const,
    choices: ['pytorch', 'ema', 'keras'] as const,
    describe: 'pytorch: v=mu*v+(1-dampening)*g, w-=lr*v; ema: dampening=mu (v=b*v+(1-b)*g); keras: v=mu*v-lr*g, w+=v',
    group: OPTIM,
    path: 'optimizer.form',
    role: 'meaning',
  },
  dampening: {
    type: 'number',
    default: 0,
    describe: 'PyTorch dampening (pytorch form only)',
    group: OPTIM,
    path: 'optimizer.dampening',
    role: 'meaning',
  },
  nesterov: {
    type: 'boolean',
    default: false,
    describe: 'Nesterov momentum (what --optimizer nesterov sets)',
    group: OPTIM,
    path: 'optimizer.nesterov',
    role: 'meaning',
    to: (v: boolean, a: { optimizer?: string | undefined }) => v || a.optimizer === 'nesterov',
  },
  'weight-decay': {
    type: 'number',
    default: 0,
    describe: 'weight decay: L2 added to the gradient (sgd-family, adam), decoupled (adamw), the papers λ (lars, lamb)',
    group: OPTIM,
    path: 'optimizer.weightDecay',
    role: 'meaning',
  },
  beta1: {
    type: 'number',
    default: 0.9,
    describe: 'adam, adamw, lamb: decay of the first moment',
    group: OPTIM,
    path: 'optimizer.beta1',
    role: 'meaning',
    to: onlyFor(ADAPTIVE),
  },
  beta2: {
    type: 'number',
    default: 0.999,
    describe: 'adam, adamw, lamb: decay of the second moment',
    group: OPTIM,
    path: 'optimizer.beta2',
    role: 'meaning',
    to: onlyFor(ADAPTIVE),
  },
  eps: {
    type: 'number',
    describe: 'adam, adamw, lamb: added to the denominator (default 1e-8; lamb 1e-6)',
    group: OPTIM,
    path: 'optimizer.eps',
    role: 'meaning',
    to: onlyFor(ADAPTIVE),
  },
  'trust-coefficient': {
    type: 'number',
    default: 0.001,
    describe: 'lars: the trust coefficient eta of the layer-wise rate',
    group: OPTIM,
    path: 'optimizer.trustCoefficient',
    role: 'meaning',
    to: onlyFor(['lars']),
  },
  'exclude-1d': {
    type: 'boolean',
    describe:
      'biases and batch-norm parameters (1-D tensors) get no weight decay and no trust ratio (default: lars, lamb)',
    group: OPTIM,
    path: 'optimizer.exclude1d',
    role: 'meaning',
  },
  'clip-grad-norm': {
    type: 'number',
    default: 0,
    describe: 'scale the mean gradient down to this global L2 norm when it is larger, before the update (0: off)',
    group: OPTIM,
    path: 'optimizer.clipGradNorm',
    role: 'meaning',
    to: (v: number) => (v !== 0 ? v : undefined),
  },
} as const satisfies Record<string, FlagRow>;
