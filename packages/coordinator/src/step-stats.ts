// What a step's record says about its shards and its workers' links.

import { indicesDigest, type GradientMsg, type Shard } from '@dtrain/common';

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

