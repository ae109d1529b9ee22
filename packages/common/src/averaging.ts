// Gradient reduction: shard gradient SUMS added in shard-id order (not arrival order, so runs are
// reproducible), divided by the global batch size (Horovod-style averaging weighted by shard size).
// The reduction runs as the shards arrive: shards that are next in id order are folded into the sum at
// once (while other workers still compute), and each shard's sum of squares for the noise-scale
// estimate is taken on arrival; only the last shard's add, the division and |mean|^2 (one fused pass)
// stay on the critical path between the last gradient and the broadcast. The values are exactly those
// of adding all shards in id order after the fact.

import { TrainerError } from './errors.js';
import { type SmallBatches, shardSmallBatches } from './noise-scale.js';

export interface ShardResult {
  shardId: number;
  count: number;
  lossSum: number;
  correct: number;
  grad: Float32Array;
}

export interface Reduced {
  meanGrad: Float32Array;
  meanLoss: number;
  accuracy: number;
  samples: number;
  /** |meanGrad|^2 */
  meanNormSq: number;
  /** Every value of meanGrad is finite (taken in the same pass: no second pass over the mean). */
  finite: boolean;
  /** The step's small-batch gradients for the noise-scale estimate (shards, or groups). */
  small: SmallBatches;
}

/** A step's reduction: results go in as they arrive, finish() once all of them are in. */
export interface Reducer {
  add(r: ShardResult): void;
  readonly complete: boolean;
  finish(): Reduced;
}

/**
 * The mean is finite exactly when both are: Σ v² over float32 values is finite in float64 unless one of them
 * is ±Infinity or NaN, and `tail` (Σ v * 0 over the values outside the norm) is 0 unless one of them is.
 */
export function finiteNorm(normSq: number, tail: number): boolean {
  return Number.isFinite(normSq) && tail === 0;
}

export function sumSquares(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return s;
}

/** One step's reduction; feed shards as they arrive, then finish() once all of them are in. */
export class ShardReducer implements Reducer {
  private readonly pending = new Map<number, ShardResult>();
  private readonly stats: { count: number; sumSq: number; lossSum: number }[] = [];
  private next = 0;
  private correct = 0;
  private samples = 0;

  /**
   * @param out the running sum and then the mean (a reused buffer)
   * @param trainable the gradient's values before the running statistics (the norms are theirs)
   */
  constructor(
    private readonly out: Float32Array,
    private readonly shardCount: number,
    private readonly trainable = out.length,
  ) {}

  add(r: ShardResult): void {
    if (r.grad.length !== this.out.length) {
      throw new TrainerError(
        'ERR_SHAPE_MISMATCH',
        `shard ${r.shardId} gradient has ${r.grad.length} values, expected ${this.out.length}`,
      );
    }
    if (
      !Number.isInteger(r.shardId) ||
      r.shardId < 0 ||
      r.shardId >= this.shardCount ||
      r.shardId < this.next ||
      this.pending.has(r.shardId)
    ) {
      throw new TrainerError('ERR_DUPLICATE_GRADIENT', `shard ${r.shardId} is not expected in this reduction`);
    }
    this.stats[r.shardId] = {
      count: r.count,
      // the noise scale needs two shards or more (noiseEstimate): one shard's norm is not read, so not taken
      sumSq: this.shardCount > 1 ? sumSquares(r.grad.subarray(0, this.trainable)) : 0,
      lossSum: r.lossSum,
    };
    this.correct += r.correct;
    this.samples += r.count;
    this.pending.set(r.shardId, r);
    // fold every shard that is next in id order, except the very last one (finish() fuses it)
    for (let s = this.pending.get(this.next); s && this.next < this.shardCount - 1; s = this.pending.get(this.next)) {
      if (this.next === 0) this.out.set(s.grad);
      else for (let i = 0, o = this.out, g = s.grad; i < o.length; i++) o[i] = o[i]! + g[i]!;
      this.pending.delete(this.next++);
    }
  }

  get complete(): boolean {
    return this.pending.size + this.next === this.shardCount;
  }

  /** Add the last shard, divide by the sample count and take |mean|^2, in one pass. */
  finish(): Reduced {
    const last = this.pending.get(this.shardCount - 1);
    if (!this.complete || !last)
      throw new TrainerError(
        'ERR_NO_WORKERS',
        `reduction finished with ${this.pending.size + this.next} of ${this.shardCount} shards`,
      );
    if (this.samples === 0) throw new TrainerError('ERR_NO_WORKERS', 'no samples to reduce');
    const inv = 1 / this.samples;
    const o = this.out;
    const g = last.grad;
    const t = this.trainable;
    let normSq = 0;
    let tail = 0;
    if (this.shardCount === 1) {
      for (let i = 0; i < t; i++) {
        const v = (0 + g[i]!) * inv;
        o[i] = v;
        normSq += Math.fround(v) * Math.fround(v);
      }
      for (let i = t; i < o.length; i++) {
        o[i] = (0 + g[i]!) * inv;
        tail += o[i]! * 0; // the stored float32 value
      }
    } else {
      for (let i = 0; i < t; i++) {
        const v = Math.fround(o[i]! + g[i]!) * inv;
        o[i] = v;
        normSq += Math.fround(v) * Math.fround(v);
      }
      for (let i = t; i < o.length; i++) {
        o[i] = Math.fround(o[i]! + g[i]!) * inv;
        tail += o[i]! * 0; // the stored float32 value
      }
    }
    return {
      meanGrad: o,
      meanLoss: this.stats.reduce((a, s) => a + s.lossSum, 0) / this.samples, // in shard order
      accuracy: this.correct / this.samples,
      samples: this.samples,
      meanNormSq: normSq,
      finite: finiteNorm(normSq, tail),
      small: shardSmallBatches(this.stats),
    };
  }
}
