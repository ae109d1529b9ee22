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

  /** Reduce, check and apply step `step`'s gradient at learning rate `lr`; throws ERR_DIVERGED. */
  apply(step: number, lr: number, outcome: RoundOutcome, reducer: Reducer): Applied {
    if (outcome.diverged) {
      const d = outcome.diverged;
      throw divergedError(step, lr, `worker ${d.worker}'s ${d.what} for shard ${d.shardId} is not finite`);
    }
    if (outcome.failed) throw computeFailure(`step ${step}`, outcome.failed);
    const reduced = reducer.finish();
    if (!reduced.finite) throw divergedError(step, lr, 'the mean gradient is not finite');
    const est = noiseEstimate(reduced.small, reduced.samples, reduced.meanNormSq);
    const bSimple = est ? this.noise.update(est) : null;
    this.onMeanGradient?.(step, reduced.meanGrad);
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
}
