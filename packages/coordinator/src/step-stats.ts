// What a step's record says about its shards and its workers' links, and the tally that collects it.

import { type GradientMsg, indicesDigest, type Shard } from '@dtrain/common';

/**
 * SHA-256 (first 16 hex digits) of the sample indices whose gradients were applied, in shard order, as
 * little-endian uint32: equal to the digest of the planned batch exactly when every planned sample was
 * used once.
 */
export function samplesDigest(shards: readonly Shard[], used: ReadonlySet<number>): string {
  const parts = shards.filter((s) => used.has(s.shardId)).map((s) => s.indices);
  const all = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return indicesDigest(all);
}

/** A worker's download and upload estimates from one round trip of `roundTripMs` (see StepRecord.links). */
export function linkTimes(roundTripMs: number, g: GradientMsg): { downloadMs: number; uploadMs: number } {
  const downloadMs = g.fetchMs ?? 0;
  return { downloadMs, uploadMs: Math.max(0, roundTripMs - g.computeMs - downloadMs) };
}

/** What a step learns from its accepted gradients, in arrival order: compute time and link estimates per worker, shards used. */
export class StepTally {
  readonly computeMs: Record<string, number> = {};
  readonly links: Record<string, { downloadMs: number; uploadMs: number }> = {};
  readonly used = new Set<number>();
  private readonly t0 = performance.now();

  accept(label: string, g: GradientMsg): void {
    this.used.add(g.shardId);
    this.computeMs[label] = (this.computeMs[label] ?? 0) + g.computeMs;
    this.links[label] = linkTimes(performance.now() - this.t0, g);
  }
}
