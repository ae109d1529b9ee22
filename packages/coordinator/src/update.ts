// The central update of one step: the reduced gradient is checked, measured (gradient noise scale) and
// applied by the optimizer; nothing of a step that diverged is applied, and weights that stopped being
// finite are marked spoiled (never broadcast nor checkpointed).

import {
  allFinite,
  divergedError,
  isRunningStat,
  type Manifest,
  NoiseScaleTracker,
  noiseEstimate,
  Optimizer,
  type OptimizerConfig,
  type Reduced,
  type Reducer,
  type Slice,
  trainableCount,
  updateRunningStats,
} from '@dtrain/common';
import { computeFailure, type RoundOutcome } from './pool.js';

export interface Applied {
  reduced: Reduced;
  est: ReturnType<typeof noiseEstimate>;
  bSimple: number | null;
  /** The mean gradient's global norm before clipping (null: no clipping). */
  preClipNorm: number | null;
}

export class CentralUpdate {
  readonly optimizer: Optimizer;
  readonly weights: Float32Array;
  /** Values the optimizer trains; the rest are batch-norm running statistics (updateRunningStats). */
  readonly trainable: number;
  /** The reducer's output buffer, reused every step. */
  readonly meanGrad: Float32Array;
  /** The weights stopped being finite (divergence): the last good checkpoint on disk is the run's. */
  spoiled = false;
  private readonly noise = new NoiseScaleTracker();
  /** The ranges of the current sharded step applied so far (applySlice); their values before, in `before`. */
  private undo: { a: number; b: number }[] = [];
  /** Reused copies of the weights and the optimizer state, written range by range (no garbage per step). */
  private before: { weights: Float32Array; state: Record<string, Float32Array> } | null = null;

  constructor(
    config: OptimizerConfig,
    manifest: Manifest,
    start: { weights: Float32Array; optimizerState: Record<string, Float32Array> },
    /** Sees each step's checked mean gradient before the optimizer (and its clipping) uses it. */
    private readonly onMeanGradient?: (step: number, grad: Float32Array) => void,
  ) {
    this.weights = start.weights;
    this.trainable = trainableCount(manifest);
    this.optimizer = new Optimizer(
      config,
      manifest.filter((p) => !isRunningStat(p.name)),
      start.optimizerState,
    );
    this.meanGrad = new Float32Array(start.weights.length);
  }

  /**
   * Reduce, check and apply step `step`'s gradient at learning rate `lr`; throws ERR_DIVERGED. With
   * `unchecked` (its inputs' values were not checked on arrival), a mean that is not finite applies nothing
   * and gives 'recheck': the step runs again with every value checked, which tells a bad input from divergence.
   */
  apply(step: number, lr: number, outcome: RoundOutcome, reducer: Reducer, unchecked = false): Applied | 'recheck' {
    completed(step, lr, outcome);
    const reduced = reducer.finish();
    if (!reduced.finite && unchecked) return 'recheck';
    if (!reduced.finite) throw divergedError(step, lr, 'the mean gradient is not finite');
    const { est, bSimple } = this.measure(step, reduced);
    const t = this.trainable;
    const [theta, grad] = [this.weights.subarray(0, t), reduced.meanGrad.subarray(0, t)];
    const preClipNorm = this.optimizer.step(step, lr, theta, grad, reduced.meanNormSq);
    updateRunningStats(this.weights.subarray(t), reduced.meanGrad.subarray(t));
    if (!allFinite(this.weights)) {
      this.spoiled = true;
      throw divergedError(step, lr, 'the updated weights are not finite');
    }
    return { reduced, est, bSimple, preClipNorm };
  }

  /** Sharded summation: whether each slice can be applied as it arrives (an elementwise optimizer). */
  get sliceable(): boolean {
    return this.optimizer.elementwise;
  }

  /**
   * Apply one slice whose mean is in meanGrad before the others arrive: checked, kept for an undo, updated
   * (the bits of the whole update there); throws ERR_DIVERGED with every applied slice undone.
   */
  applySlice(step: number, lr: number, s: Slice): void {
    const [a, b, t] = [s.offset, s.offset + s.length, this.trainable];
    if (!allFinite(this.meanGrad.subarray(a, b))) {
      this.undoSlices();
      throw divergedError(step, lr, 'the mean gradient is not finite');
    }
    const state = this.optimizer.state();
    this.before ??= {
      weights: new Float32Array(this.weights.length),
      state: Object.fromEntries(Object.entries(state).map(([k, v]) => [k, new Float32Array(v.length)])),
    };
    this.before.weights.set(this.weights.subarray(a, b), a);
    for (const [k, v] of Object.entries(state)) if (a < v.length) this.before.state[k]!.set(v.subarray(a, b), a);
    this.undo.push({ a, b });
    if (a < t)
      this.optimizer.stepRange(step, lr, this.weights.subarray(0, t), this.meanGrad.subarray(0, t), a, Math.min(b, t));
    if (b > t) updateRunningStats(this.weights.subarray(Math.max(a, t), b), this.meanGrad.subarray(Math.max(a, t), b));
    if (!allFinite(this.weights.subarray(a, b))) {
      this.undoSlices();
      throw divergedError(step, lr, 'the updated weights are not finite');
    }
  }

  /** The slices applied so far go back to what they were (the step fell back to the star, or diverged). */
  undoSlices(): void {
    const state = this.optimizer.state();
    for (const { a, b } of this.undo.splice(0)) {
      this.weights.set(this.before!.weights.subarray(a, b), a);
      for (const [k, v] of Object.entries(state)) if (a < v.length) v.set(this.before!.state[k]!.subarray(a, b), a);
    }
  }

  /** A sharded step whose slices were applied as they came: its records (norms, noise scale); throws as apply(). */
  finishSlices(step: number, lr: number, outcome: RoundOutcome, reducer: Reducer): Applied {
    if (outcome.diverged || outcome.failed) this.undoSlices();
    completed(step, lr, outcome);
    this.undo = [];
    const reduced = reducer.finish();
    return { reduced, ...this.measure(step, reduced), preClipNorm: null };
  }

  /**
   * A step's round settled (null: it was stopped): finished slice by slice where its slices were applied as they
   * came, else applied whole (`unchecked`: its values were not checked on arrival; see apply).
   */
  settle(
    step: number,
    lr: number,
    r: { outcome: RoundOutcome | null; attempt: { reducer: Reducer }; appliedOnArrival: boolean },
    unchecked: boolean,
  ): Applied | 'recheck' | null {
    if (!r.outcome) return null; // stopped
    if (r.appliedOnArrival) return this.finishSlices(step, lr, r.outcome, r.attempt.reducer);
    return this.apply(step, lr, r.outcome, r.attempt.reducer, unchecked);
  }

  /** A checked mean gradient's noise-scale estimate, and the --save-gradients hook. */
  private measure(step: number, reduced: Reduced): Pick<Applied, 'est' | 'bSimple'> {
    const est = noiseEstimate(reduced.small, reduced.samples, reduced.meanNormSq);
    const bSimple = est ? this.noise.update(est) : null;
    this.onMeanGradient?.(step, reduced.meanGrad);
    return { est, bSimple };
  }
}

/** A round that ended unfinished (a worker's divergence, a task no worker could compute) ends the run. */
function completed(step: number, lr: number, outcome: RoundOutcome): void {
  if (outcome.diverged) {
    const d = outcome.diverged;
    throw divergedError(step, lr, `worker ${d.worker}'s ${d.what} for shard ${d.shardId} is not finite`);
  }
  if (outcome.failed) throw computeFailure(`step ${step}`, outcome.failed);
}
