// What an optimizer is configured with, its refusals of nonsense, and the defaults each kind takes.
// Configs written before --optimizer have no `kind`: sgd, momentum or nesterov follow from momentum and
// nesterov as they always did.

import { TrainerError } from '../errors.js';

export const OPTIMIZER_KINDS = ['sgd', 'momentum', 'nesterov', 'adam', 'adamw', 'lars', 'lamb'] as const;
export type OptimizerKind = (typeof OPTIMIZER_KINDS)[number];
export type MomentumForm = 'pytorch' | 'ema' | 'keras';

export interface OptimizerConfig {
  /** Absent in configs written before --optimizer: sgd, momentum or nesterov from `momentum` and `nesterov`. */
  kind?: OptimizerKind;
  /** Heavy-ball momentum (sgd-family and lars; 0 for the others). */
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** L2 (added to the gradient) for sgd-family and adam; decoupled for adamw; the papers' λ for lars and lamb. */
  weightDecay: number;
  form: MomentumForm;
  /** adam, adamw, lamb: the moments' decay rates (default 0.9, 0.999) and the denominator's eps. */
  beta1?: number;
  beta2?: number;
  /** adam, adamw: 1e-8 (PyTorch); lamb: 1e-6 (the paper's experiments); absent: that default. */
  eps?: number;
  /** lars: the trust coefficient η of You et al. 2017 (default 0.001). */
  trustCoefficient?: number;
  /** 1-D tensors (biases, batch-norm scales and shifts): no weight decay and no trust ratio. Default: lars, lamb. */
  exclude1d?: boolean;
  /** Scale the mean gradient down to this global L2 norm when it is larger (0 or absent: off). */
  clipGradNorm?: number;
}

export function optimizerKind(c: OptimizerConfig): OptimizerKind {
  return c.kind ?? (c.momentum === 0 ? 'sgd' : c.nesterov ? 'nesterov' : 'momentum');
}

/** adam, adamw and lamb keep two moment buffers and read beta1, beta2 and eps. */
export function isAdaptive(kind: OptimizerKind): kind is 'adam' | 'adamw' | 'lamb' {
  return kind === 'adam' || kind === 'adamw' || kind === 'lamb';
}

/** momentum, nesterov and lars read the heavy-ball --momentum (a sweep's --momenta); the others have none. */
export function usesHeavyBall(kind: OptimizerKind): boolean {
  return kind === 'momentum' || kind === 'nesterov' || kind === 'lars';
}

/** The hyperparameters a kind reads, with their defaults filled in. */
export function hyperparameters(c: OptimizerConfig) {
  const kind = optimizerKind(c);
  return {
    kind,
    beta1: c.beta1 ?? 0.9,
    beta2: c.beta2 ?? 0.999,
    eps: c.eps ?? (kind === 'lamb' ? 1e-6 : 1e-8),
    trust: c.trustCoefficient ?? 0.001,
    exclude1d: c.exclude1d ?? (kind === 'lars' || kind === 'lamb'),
    clip: c.clipGradNorm ?? 0,
  };
}

export function effectiveDampening(c: OptimizerConfig): number {
  return c.form === 'ema' ? c.momentum : c.dampening;
}

const bad = (msg: string, hint: string): never => {
  throw new TrainerError('ERR_BAD_CONFIG', msg, { hint });
};

export function validateOptimizer(c: OptimizerConfig): void {
  if (c.kind !== undefined && !OPTIMIZER_KINDS.includes(c.kind))
    bad(`optimizer ${String(c.kind)} is not one of ${OPTIMIZER_KINDS.join(', ')}`, 'e.g. --optimizer adamw');
  if (!(c.momentum >= 0 && c.momentum < 1))
    bad(`momentum ${c.momentum} is outside [0, 1)`, 'use e.g. --momentum 0.9, or 0 for plain SGD');
  if (!(c.dampening >= 0 && c.dampening <= 1))
    bad(`dampening ${c.dampening} is outside [0, 1]`, 'use --dampening 0 (PyTorch default)');
  if (!(c.weightDecay >= 0) || !Number.isFinite(c.weightDecay))
    bad(`weight decay ${c.weightDecay} must be >= 0`, 'use e.g. --weight-decay 5e-4');
  validateKind(c);
  if (c.nesterov && (c.momentum === 0 || effectiveDampening(c) !== 0) && c.form !== 'keras') {
    bad(
      'nesterov needs momentum > 0 and dampening = 0 (as in PyTorch)',
      'set --momentum > 0 and --dampening 0, or drop --nesterov',
    );
  }
  const h = hyperparameters(c);
  if (!(h.beta1 >= 0 && h.beta1 < 1)) bad(`beta1 ${h.beta1} is outside [0, 1)`, 'use e.g. --beta1 0.9');
  if (!(h.beta2 >= 0 && h.beta2 < 1)) bad(`beta2 ${h.beta2} is outside [0, 1)`, 'use e.g. --beta2 0.999');
  if (!(h.eps > 0 && h.eps < 1)) bad(`eps ${h.eps} must be in (0, 1)`, 'use e.g. --eps 1e-8');
  if (!(h.trust > 0 && h.trust <= 1)) bad(`trust coefficient ${h.trust} must be in (0, 1]`, 'use e.g. 0.001');
  if (!(h.clip >= 0 && Number.isFinite(h.clip)))
    bad(`--clip-grad-norm ${h.clip} must be a norm >= 0`, 'use e.g. --clip-grad-norm 1 (0: off)');
}

/** A kind and the momentum settings must agree (e.g. sgd has none; nesterov is nesterov). */
function validateKind(c: OptimizerConfig): void {
  if (c.kind === undefined) return; // sgd, momentum or nesterov by inference: consistent by construction
  const kind = c.kind;
  if (kind === 'sgd' && (c.momentum !== 0 || c.nesterov))
    bad('--optimizer sgd has no momentum', 'use --optimizer momentum (or nesterov), or --momentum 0');
  if (usesHeavyBall(kind) && c.momentum === 0)
    bad(`--optimizer ${kind} needs --momentum > 0`, 'use e.g. --momentum 0.9, or --optimizer sgd');
  if (isAdaptive(kind) && c.momentum !== 0)
    bad(`--optimizer ${kind} has no heavy-ball momentum`, 'its first moment decays with --beta1; use --momentum 0');
  if (kind === 'momentum' && c.nesterov) bad('--optimizer momentum with --nesterov', 'use --optimizer nesterov');
  if (kind === 'nesterov' && !c.nesterov) bad('--optimizer nesterov without nesterov', 'drop --no-nesterov');
  if ((isAdaptive(kind) || kind === 'lars') && (c.nesterov || c.form !== 'pytorch' || c.dampening !== 0)) {
    bad(
      `--optimizer ${kind} takes no --nesterov, --momentum-form or --dampening`,
      'those shape SGD momentum; drop them',
    );
  }
}

/** The optimizer in words, as a run prints it before step 1: "adamw (betas 0.9/0.999, eps 1e-8), ...". */
export function describeOptimizer(c: OptimizerConfig): string {
  const h = hyperparameters(c);
  const sgdForm = `${c.form}${c.form === 'pytorch' ? `, dampening ${c.dampening}` : ''}`;
  const what = {
    sgd: 'plain SGD',
    momentum: `momentum ${c.momentum} (${sgdForm})`,
    nesterov: `momentum ${c.momentum} (${sgdForm}, nesterov)`,
    adam: `adam (betas ${h.beta1}/${h.beta2}, eps ${h.eps})`,
    adamw: `adamw (betas ${h.beta1}/${h.beta2}, eps ${h.eps})`,
    lamb: `lamb (betas ${h.beta1}/${h.beta2}, eps ${h.eps})`,
    lars: `lars (momentum ${c.momentum}, trust coefficient ${h.trust})`,
  }[h.kind];
  const decay = `weight decay ${c.weightDecay}${h.exclude1d && c.weightDecay > 0 ? ' (not on 1-D tensors)' : ''}`;
  return `${what}, ${decay}${h.clip > 0 ? `, gradients clipped to norm ${h.clip}` : ''}`;
}
