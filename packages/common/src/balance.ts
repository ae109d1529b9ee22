// Speed-proportional sharding (--balance speed). In a synchronous step every worker waits for the
// slowest, so on uneven hardware (mixed GPUs, a busy host, or a VM whose two vCPUs run at different
// speeds while both are busy: measured 55 vs 84 ms per batch here) an even split wastes the fast
// workers' time. The coordinator feeds each worker's reported compute time per shard in here and cuts
// the next batch in proportion to the smoothed speeds. The gradient is the same sum over the same
// planned samples whatever the split, up to float rounding, so runs stay comparable but are no
// longer bit-for-bit reproducible (the split depends on timing): hence opt-in.

import { groupCount, treeCover } from './group-tree.js';
import { type Shard, shardSizes, splitShards } from './sharding.js';

/** Smoothed per-worker compute time per sample, turned into shard weights. */
export class SpeedTracker {
  private readonly msPerSample = new Map<number, number>();

  /**
   * @param alpha weight of the newest measurement (the slow vCPU of our VMs moves between workers every
   *   10-60 steps, so the estimate must follow within a step or two)
   * @param maxSkew no worker gets more than this many times the share of another
   */
  constructor(
    private readonly alpha = 0.5,
    private readonly maxSkew = 4,
  ) {}

  observe(worker: number, computeMs: number, count: number): void {
    if (!(computeMs > 0) || !(count > 0)) return;
    const x = computeMs / count;
    const old = this.msPerSample.get(worker);
    this.msPerSample.set(worker, old === undefined ? x : old + this.alpha * (x - old));
  }

  forget(worker: number): void {
    this.msPerSample.delete(worker);
  }

  /** Relative speeds of `workers` (in shard order), or null while any of them has no measurement. */
  weights(workers: readonly number[]): number[] | null {
    const speeds: number[] = [];
    for (const w of workers) {
      const ms = this.msPerSample.get(w);
      if (ms === undefined) return null;
      speeds.push(1 / ms);
    }
    const floor = Math.max(...speeds) / this.maxSkew;
    return speeds.map((s) => Math.max(s, floor));
  }
}

/**
 * Cut a batch over the live workers: shard i goes to the i-th lowest worker id (the order in which a
 * Round assigns tasks). In proportion to `slots` (the workers behind each connection: a relay of k local
 * workers takes k shares; deterministic, so a fixed topology stays bit-reproducible), or by speed once
 * every live worker has been measured.
 */
export function cutBatch(
  batch: Uint32Array,
  workerIds: readonly number[],
  speeds: SpeedTracker | null,
  slots?: (id: number) => number,
): Shard[] {
  const ids = [...workerIds].sort((a, b) => a - b);
  const numShards = Math.max(1, Math.min(ids.length, batch.length));
  return splitShards(batch, numShards, numShards === ids.length ? cutWeights(ids, speeds, slots) : undefined);
}

/** Shares of the sorted workers `ids`: by speed once all were measured, else by slots, else even (undefined). */
function cutWeights(ids: readonly number[], speeds: SpeedTracker | null, slots?: (id: number) => number) {
  const bySpeed = speeds ? speeds.weights(ids) : null;
  const bySlots = slots && ids.some((id) => slots(id) !== 1) ? ids.map(slots) : null;
  return bySpeed ?? bySlots ?? undefined;
}

/**
 * Cut a batch for the worker-count-invariant reduction (group-tree.ts): its groups of `groupSize` in
 * contiguous ranges, one per worker (in proportion, as cutBatch), each range as the tree nodes that cover
 * it; a shard per node, `owner` the rank of the worker that gets it. More workers than groups: some idle.
 */
export function cutGroups(
  batch: Uint32Array,
  groupSize: number,
  workerIds: readonly number[],
  speeds: SpeedTracker | null,
  slots?: (id: number) => number,
): Shard[] {
  const ids = [...workerIds].sort((a, b) => a - b);
  const n = groupCount(batch.length, groupSize);
  const k = Math.max(1, Math.min(ids.length, n));
  const sizes = shardSizes(n, (k === ids.length ? cutWeights(ids, speeds, slots) : undefined) ?? new Array(k).fill(1));
  return sizes
    .flatMap((size, owner) => {
      const lo = sizes.slice(0, owner).reduce((a, s) => a + s, 0);
      return treeCover(n, lo, lo + size).map(([a, b]) => ({ owner, node: { lo: a, hi: b } }));
    })
    .map(({ owner, node }, shardId) => ({
      shardId,
      owner,
      node,
      indices: batch.subarray(node.lo * groupSize, Math.min(node.hi * groupSize, batch.length)),
    }));
}
