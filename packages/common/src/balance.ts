// Speed-proportional sharding (--balance speed). In a synchronous step every worker waits for the
// slowest, so on uneven hardware (mixed GPUs, a busy host, or a VM whose two vCPUs run at different
// speeds while both are busy: measured 55 vs 84 ms per batch here) an even split wastes the fast
// workers' time. The coordinator feeds each worker's reported compute time per shard in here and cuts
// the next batch in proportion to the smoothed speeds. The gradient is the same sum over the same
// planned samples whatever the split, up to float rounding, so runs stay comparable but are no
// longer bit-for-bit reproducible (the split depends on timing): hence opt-in.

import { type Shard, splitShards } from './sharding.js';

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
  if (numShards !== ids.length) return splitShards(batch, numShards);
  const bySpeed = speeds ? speeds.weights(ids) : null;
  const bySlots = slots && ids.some((id) => slots(id) !== 1) ? ids.map(slots) : null;
  return splitShards(batch, numShards, bySpeed ?? bySlots ?? undefined);
}
