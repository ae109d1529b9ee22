// A step's record: what it says about its shards and its workers' links, the tally that collects it, the record.

import { type GradientMsg, indicesDigest, type Shard } from '@dtrain/common';
import type { RoundOutcome } from './pool.js';
import { type StepMarks, type StepRecord, stepTimes } from './rundir.js';
import type { Arrival } from './trace.js';
import type { Applied } from './update.js';

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
  /** Every accepted result, for --trace (trace.ts). */
  readonly arrivals: Arrival[] = [];
  private readonly t0 = performance.now();

  accept(label: string, g: GradientMsg): void {
    const atMs = performance.now() - this.t0;
    this.used.add(g.shardId);
    this.computeMs[label] = (this.computeMs[label] ?? 0) + g.computeMs;
    this.links[label] = linkTimes(atMs, g);
    this.arrivals.push({ label, atMs, computeMs: g.computeMs, fetchMs: g.fetchMs ?? 0 });
  }
}

/** What one step measured, besides its reduced gradient: its shards, tally, workers, round and clock marks. */
export interface StepFacts {
  step: number;
  epoch: number;
  lr: number;
  shards: readonly Shard[];
  tally: StepTally;
  workers: number;
  outcome: RoundOutcome;
  marks: StepMarks;
  /** Bytes the pool received and sent during the step. */
  bytes: { in: number; out: number };
  /** The mesh epoch that summed it (sharded summation); absent or 0: the star. */
  mesh?: number;
}

/** The step's line in metrics.jsonl. */
export function stepRecord(f: StepFacts, { reduced, est, bSimple, preClipNorm }: Applied): StepRecord {
  return {
    type: 'step',
    step: f.step,
    epoch: f.epoch,
    loss: reduced.meanLoss,
    accuracy: reduced.accuracy,
    lr: f.lr,
    samples: reduced.samples,
    samplesDigest: samplesDigest(f.shards, f.tally.used),
    workers: f.workers,
    computeMs: f.tally.computeMs,
    links: f.tally.links,
    ...stepTimes(f.marks, f.outcome.decodeMs),
    bytesIn: f.bytes.in,
    bytesOut: f.bytes.out,
    reassigned: f.outcome.reassigned,
    gradNormSq: est?.gradNormSq ?? null,
    traceSigma: est?.traceSigma ?? null,
    bSimple,
    ...(preClipNorm !== null ? { gradNorm: preClipNorm } : {}),
    ...(f.mesh ? { mesh: f.mesh } : {}),
    time: Date.now(),
  };
}

/** Byte counters' growth from `before` to `now`. */
export function bytesSince(before: { in: number; out: number }, now: { in: number; out: number }) {
  return { in: now.in - before.in, out: now.out - before.out };
}
