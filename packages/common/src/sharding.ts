// Batch planning and sharding: the sample order is a pure function of (seed, epoch), never of the
// worker count; each global batch is cut into contiguous shards whose sizes differ by at most one, or
// (--balance speed) are proportional to the workers' measured speeds.

import { TrainerError } from './errors.js';
import { hashInts, permutation } from './rng.js';

export interface Shard {
  shardId: number;
  /** Sample indices of this shard, in batch order. */
  indices: Uint32Array;
  /** The worker-count-invariant cut (balance.ts cutGroups): the rank of the worker it goes to, and its tree node. */
  owner?: number;
  node?: { lo: number; hi: number };
}

/** The permutation of training samples for one epoch. */
export function epochOrder(trainSize: number, seed: number, epoch: number): Uint32Array {
  return permutation(trainSize, hashInts(seed, 0xe90c, epoch));
}

/** Whole batches per epoch (the last partial batch is dropped, so every step has exactly B samples). */
export function stepsPerEpoch(trainSize: number, batchSize: number): number {
  return Math.floor(trainSize / batchSize);
}

/** The B sample indices of batch `position` (0-based) within an epoch's order. */
export function planBatch(order: Uint32Array, position: number, batchSize: number): Uint32Array {
  const start = position * batchSize;
  if (start + batchSize > order.length) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `batch ${position} of size ${batchSize} runs past the epoch (${order.length} samples)`,
    );
  }
  return order.slice(start, start + batchSize);
}

/**
 * Sizes of `weights.length` shards of n samples proportional to `weights` (largest remainder, ties to
 * the lower index), each at least 1.
 */
export function shardSizes(n: number, weights: readonly number[]): number[] {
  const k = weights.length;
  if (k < 1 || k > n || !weights.every((w) => Number.isFinite(w) && w > 0)) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `cannot cut a batch of ${n} into ${k} shards with weights ${weights.join(', ')}`,
      {
        hint: 'the global batch must be at least the number of workers',
      },
    );
  }
  const total = weights.reduce((a, w) => a + w, 0);
  const exact = weights.map((w) => (n * w) / total);
  const sizes = exact.map((x) => Math.max(1, Math.floor(x)));
  let left = n - sizes.reduce((a, s) => a + s, 0);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let j = 0; left > 0; j = (j + 1) % k, left--) sizes[byRemainder[j]!.i]!++;
  while (left < 0) {
    const i = sizes.indexOf(Math.max(...sizes));
    sizes[i]!--;
    left++;
  }
  return sizes;
}

/**
 * Cut a batch into `numShards` contiguous shards, ids 0..numShards-1: sizes differing by at most one, or
 * proportional to `weights` (one per shard) when given.
 */
export function splitShards(batch: Uint32Array, numShards: number, weights?: readonly number[]): Shard[] {
  if (
    !Number.isInteger(numShards) ||
    numShards < 1 ||
    numShards > batch.length ||
    (weights && weights.length !== numShards)
  ) {
    throw new TrainerError('ERR_BAD_CONFIG', `cannot cut a batch of ${batch.length} into ${numShards} shards`, {
      hint: 'the global batch must be at least the number of workers',
    });
  }
  const sizes = shardSizes(batch.length, weights ?? new Array<number>(numShards).fill(1));
  const shards: Shard[] = [];
  let start = 0;
  sizes.forEach((size, s) => {
    shards.push({ shardId: s, indices: batch.subarray(start, start + size) });
    start += size;
  });
  return shards;
}

/** Cut `n` evaluation samples (indices 0..n-1) into chunks of at most `chunk`. */
export function evalChunks(n: number, chunk: number): Shard[] {
  const shards: Shard[] = [];
  for (let start = 0, id = 0; start < n; start += chunk, id++) {
    const size = Math.min(chunk, n - start);
    const indices = new Uint32Array(size);
    for (let i = 0; i < size; i++) indices[i] = start + i;
    shards.push({ shardId: id, indices });
  }
  return shards;
}
