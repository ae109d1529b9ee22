// Gradient noise scale from the shards of one step (McCandlish et al. 2018, "An Empirical Model of
// Large-Batch Training", Appendix A). With gradients at a small batch (each shard: b samples, mean
// g_b) and at the big batch (the step: B samples, mean G_B), unbiased estimates are
//   |G|^2  ~ (B |G_B|^2 - b |g_b|^2) / (B - b)
//   tr(S)  ~ (|g_b|^2 - |G_B|^2) / (1/b - 1/B)
// where |g_b|^2 is averaged over the shards. Shards of unequal sizes b_i (uneven batches, --balance
// speed) use the harmonic mean b = k / sum(1/b_i): E|g_bi|^2 = |G|^2 + tr(S)/b_i, so the shard average
// has expectation |G|^2 + tr(S)/b and the same formulas stay unbiased. B_simple = tr(S) / |G|^2, with both estimates smoothed by
// an exponential moving average before the ratio is taken (the individual estimates are very noisy).

export interface NoiseEstimate {
  /** Estimate of |G|^2 (true gradient norm squared). */
  gradNormSq: number;
  /** Estimate of tr(Sigma) (per-example gradient covariance trace). */
  traceSigma: number;
}

/**
 * A step's small-batch gradients, summed: how many there are (k), the sum of 1/b_i over their sample
 * counts, and the sum of |g_i|^2 over their MEAN gradients. Shards give one each (legacy reduction); in
 * the worker-count-invariant reduction every group of the batch gives one (b_i = the group size).
 */
export interface SmallBatches {
  k: number;
  invCountSum: number;
  meanSqSum: number;
}

/** The small batches of one step's shards (sample count and sum of squares of each shard's gradient SUM), in order. */
export function shardSmallBatches(shards: readonly { count: number; sumSq: number }[]): SmallBatches {
  return {
    k: shards.length,
    invCountSum: shards.reduce((acc, s) => acc + 1 / s.count, 0),
    meanSqSum: shards.reduce((acc, s) => acc + s.sumSq / (s.count * s.count), 0),
  };
}

/** Estimates from one step's small batches and |mean gradient|^2 over its B samples; null with fewer than two. */
export function noiseEstimate(small: SmallBatches, samples: number, meanNormSq: number): NoiseEstimate | null {
  if (small.k < 2 || !(small.invCountSum > 0)) return null;
  const big = samples;
  const b = small.k / small.invCountSum;
  const avg = small.meanSqSum / small.k;
  return {
    gradNormSq: (big * meanNormSq - b * avg) / (big - b),
    traceSigma: (avg - meanNormSq) / (1 / b - 1 / big),
  };
}

/** EMA-smoothed B_simple = tr(S) / |G|^2. */
export class NoiseScaleTracker {
  private g = 0;
  private s = 0;

  constructor(private readonly decay = 0.95) {}

  /** Fold in one step's estimate; returns the smoothed B_simple (null until |G|^2 is positive). */
  update(e: NoiseEstimate): number | null {
    this.g = this.decay * this.g + (1 - this.decay) * e.gradNormSq;
    this.s = this.decay * this.s + (1 - this.decay) * e.traceSigma;
    return this.g > 0 ? this.s / this.g : null;
  }
}
