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
 * Estimates from one step's shards (sample count and sum of squares of each shard's gradient SUM) and
 * |mean gradient|^2; null with fewer than two shards.
 */
export function noiseEstimate(
  shards: readonly { count: number; sumSq: number }[],
  meanNormSq: number,
): NoiseEstimate | null {
  if (shards.length < 2 || shards.some((s) => !(s.count > 0))) return null;
  const big = shards.reduce((acc, s) => acc + s.count, 0);
  const b = shards.length / shards.reduce((acc, s) => acc + 1 / s.count, 0);
  const small = shards.reduce((acc, s) => acc + s.sumSq / (s.count * s.count), 0) / shards.length;
  return {
    gradNormSq: (big * meanNormSq - b * small) / (big - b),
    traceSigma: (small - meanNormSq) / (1 / b - 1 / big),
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
