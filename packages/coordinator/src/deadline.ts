// The adaptive shard deadline: a shard that takes longer than ADAPTIVE_DEADLINE_FACTOR times the recent
// median time per sample (times its samples), with a floor, is also given to another worker and its
// holder is demoted. Until enough shards were timed, the ceiling (--step-timeout) applies. So a silent or
// cut-off worker costs a step a few seconds, not minutes, and a slow one is noticed on its first miss.

import {
  ADAPTIVE_DEADLINE_FACTOR,
  ADAPTIVE_DEADLINE_FLOOR_MS,
  ADAPTIVE_DEADLINE_MIN_SAMPLES,
  median,
} from '@dtrain/common';

const WINDOW = 64;

export class AdaptiveDeadline {
  private readonly msPerSample: number[] = [];

  /** A shard of `count` samples took `ms` from its assignment to its accepted result. */
  observe(ms: number, count: number): void {
    if (!(ms > 0) || !(count > 0)) return;
    this.msPerSample.push(ms / count);
    if (this.msPerSample.length > WINDOW) this.msPerSample.shift();
  }

  /** The deadline for a task of `count` samples, at most `ceilingMs`. */
  forTask(count: number, ceilingMs: number): number {
    if (this.msPerSample.length < ADAPTIVE_DEADLINE_MIN_SAMPLES) return ceilingMs;
    const adaptive = ADAPTIVE_DEADLINE_FACTOR * median(this.msPerSample) * count;
    return Math.min(ceilingMs, Math.max(ADAPTIVE_DEADLINE_FLOOR_MS, adaptive));
  }
}
