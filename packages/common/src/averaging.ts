// Gradient reduction: shard gradient SUMS added in shard-id order (not arrival order, so runs are
// reproducible), divided by the global batch size (Horovod-style averaging weighted by shard size).

import { TrainerError } from './errors.js';

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
}

/** Reduce shard results (any order in the array; summed by shardId) into `out` (reused buffer). */
export function reduceShards(results: readonly ShardResult[], out: Float32Array): Reduced {
  const sorted = [...results].sort((a, b) => a.shardId - b.shardId);
  let samples = 0;
  let lossSum = 0;
  let correct = 0;
  out.fill(0);
  for (const r of sorted) {
    if (r.grad.length !== out.length) {
      throw new TrainerError('ERR_SHAPE_MISMATCH', `shard ${r.shardId} gradient has ${r.grad.length} values, expected ${out.length}`);
    }
    const g = r.grad;
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + g[i]!;
    samples += r.count;
    lossSum += r.lossSum;
    correct += r.correct;
  }
  if (samples === 0) throw new TrainerError('ERR_NO_WORKERS', 'no samples to reduce');
  const inv = 1 / samples;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! * inv;
  return { meanGrad: out, meanLoss: lossSum / samples, accuracy: correct / samples, samples };
}
