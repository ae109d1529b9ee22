// Batch planning and sharding: the sample order is a pure function of (seed, epoch), never of the
// worker count; each global batch is cut into contiguous shards whose sizes differ by at most one.

import { TrainerError } from './errors.js';
import { hashInts, permutation } from './rng.js';

export interface Shard {
  shardId: number;
  /** Sample indices of this shard, in batch order. */
  indices: Uint32Array;
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
    throw new TrainerError('ERR_BAD_CONFIG', `batch ${position} of size ${batchSize} runs past the epoch (${order.length} samples)`);
  }
  return order.slice(start, start + batchSize);
}

/** Cut a batch into `numShards` contiguous shards, sizes differing by at most one, ids 0..numShards-1. */
export function splitShards(batch: Uint32Array, numShards: number): Shard[] {
  if (!Number.isInteger(numShards) || numShards < 1 || numShards > batch.length) {
    throw new TrainerError('ERR_BAD_CONFIG', `cannot cut a batch of ${batch.length} into ${numShards} shards`, {
      hint: 'the global batch must be at least the number of workers',
    });
  }
  const base = Math.floor(batch.length / numShards);
  const extra = batch.length % numShards;
  const shards: Shard[] = [];
  let start = 0;
  for (let s = 0; s < numShards; s++) {
    const size = base + (s < extra ? 1 : 0);
    shards.push({ shardId: s, indices: batch.subarray(start, start + size) });
    start += size;
  }
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
