// The optimizer the coordinator applies centrally, with its state: named buffers (the momentum velocity, or
// Adam's two moments) that a checkpoint stores as <name>.f32 and a resume hands back. Clipping by global
// norm, when configured, happens here, before the update.

import { TrainerError } from '../errors.js';
import type { Manifest } from '../model.js';
import { adaptiveStep } from './adaptive.js';
import { clipGlobalNorm } from './clip.js';
import { hyperparameters, isAdaptive, type OptimizerConfig, optimizerKind, validateOptimizer } from './config.js';
import { larsStep } from './lars.js';
import { type Segment, segmentsOf } from './segments.js';
import { sgdStep } from './sgd.js';

/** The state buffers a kind keeps (none for plain SGD). */
export function stateNames(c: OptimizerConfig): string[] {
  const kind = optimizerKind(c);
  return kind === 'sgd' ? [] : isAdaptive(kind) ? ['adam-m', 'adam-v'] : ['velocity'];
}

export class Optimizer {
  private readonly buffers: Record<string, Float32Array> = {};
  private readonly segments: Segment[];
  private readonly h: ReturnType<typeof hyperparameters>;
  /** Plain SGD keeps no velocity; sgdStep still takes a buffer of the right length (never read at μ = 0). */
  private unused: Float32Array | null = null;

  /** @param state resumed buffers by name (used in place); missing ones start at zero */
  constructor(
    readonly config: OptimizerConfig,
    manifest: Manifest,
    state: Record<string, Float32Array> = {},
  ) {
    validateOptimizer(config);
    this.h = hyperparameters(config);
    this.segments = segmentsOf(manifest);
    const n = this.segments.reduce((a, s) => a + s.length, 0);
    for (const name of stateNames(config)) {
      const b = state[name];
      if (b && b.length !== n)
        throw new TrainerError('ERR_SHAPE_MISMATCH', `optimizer state ${name} has ${b.length} values, the model ${n}`);
      this.buffers[name] = b ?? new Float32Array(n);
    }
  }

  /**
   * Update θ in place with the batch-mean gradient at learning rate `lr`; `t` is this update's 1-based
   * number (the run's step). `grad` is clipped in place when clipping is on; returns its norm before that
   * (null when clipping is off). `gradNormSq`: Σ grad² if the caller has it (else computed when needed).
   */
  step(t: number, lr: number, theta: Float32Array, grad: Float32Array, gradNormSq?: number): number | null {
    const norm = this.h.clip > 0 ? clipGlobalNorm(grad, this.h.clip, gradNormSq) : null;
    const { kind, exclude1d } = this.h;
    const c = this.config;
    if (kind === 'lars') {
      const p = { momentum: c.momentum, weightDecay: c.weightDecay, trust: this.h.trust, exclude1d };
      larsStep(p, lr, theta, grad, this.buffers['velocity']!, this.segments);
    } else if (isAdaptive(kind)) {
      const p = { ...this.h, kind, weightDecay: c.weightDecay };
      adaptiveStep(p, t, lr, theta, grad, { m: this.buffers['adam-m']!, v: this.buffers['adam-v']! }, this.segments);
    } else this.sgd(lr, theta, grad);
    return norm;
  }

  /**
   * Whether an update is element by element (no norm over a tensor or the vector: not LARS or LAMB, no
   * clipping), so a range of θ can be updated alone with the bits of the whole update (stepRange).
   */
  get elementwise(): boolean {
    return this.h.clip === 0 && this.h.kind !== 'lars' && this.h.kind !== 'lamb';
  }

  /** step() on θ[from, to) alone (elementwise optimizers only): the same bits there as the whole update's. */
  stepRange(t: number, lr: number, theta: Float32Array, grad: Float32Array, from: number, to: number): void {
    if (!this.elementwise)
      throw new TrainerError('ERR_BAD_CONFIG', `${this.h.kind} with clipping or trust ratios updates whole tensors`);
    const parts = this.segments.flatMap((s) => {
      const [a, b] = [Math.max(from, s.offset), Math.min(to, s.offset + s.length)];
      return a < b ? [{ ...s, offset: a, length: b - a }] : [];
    });
    const c = this.config;
    if (isAdaptive(this.h.kind)) {
      const p = { ...this.h, kind: this.h.kind as 'adam' | 'adamw', weightDecay: c.weightDecay };
      return adaptiveStep(p, t, lr, theta, grad, { m: this.buffers['adam-m']!, v: this.buffers['adam-v']! }, parts);
    }
    const velocity = this.buffers['velocity'] ?? (this.unused ??= new Float32Array(theta.length));
    const oneRun = !this.h.exclude1d || c.weightDecay === 0;
    for (const s of oneRun ? [{ offset: from, length: to - from, vector: false }] : parts) {
      const [a, b] = [s.offset, s.offset + s.length];
      const cs = s.vector ? { ...c, weightDecay: 0 } : c;
      sgdStep(cs, lr, theta.subarray(a, b), grad.subarray(a, b), velocity.subarray(a, b));
    }
  }

  /** sgd, momentum, nesterov: one pass, or one per tensor when 1-D tensors skip the decay. */
  private sgd(lr: number, theta: Float32Array, grad: Float32Array): void {
    const velocity = this.buffers['velocity'] ?? (this.unused ??= new Float32Array(theta.length));
    if (!this.h.exclude1d || this.config.weightDecay === 0) return sgdStep(this.config, lr, theta, grad, velocity);
    for (const s of this.segments) {
      const [a, b] = [s.offset, s.offset + s.length];
      const c = s.vector ? { ...this.config, weightDecay: 0 } : this.config;
      sgdStep(c, lr, theta.subarray(a, b), grad.subarray(a, b), velocity.subarray(a, b));
    }
  }

  /** What a checkpoint keeps to resume exactly, by name (empty for plain SGD). */
  state(): Record<string, Float32Array> {
    return this.buffers;
  }
}
