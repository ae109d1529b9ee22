// The coordinator's side of --weight-wire bf16|int8 (weight-delta.ts): it keeps the view every worker holds
// and decides what each version publishes. A version goes whole (a flush, view := w by assignment) when it
// is the first, when it is evaluated, or when a checkpoint is written at it before it was published; any
// other goes as the delta Q(w - view), which the coordinator applies to its own view with the same function
// the workers run. A checkpoint written at a version already sent as a delta (the last-resort one of a
// crash, mid-step) is not a flush: its resume starts from w, not from the view the workers held.

import {
  applyDelta,
  type DeltaKernel,
  encodeDelta,
  VIEW_DIGEST_EVERY,
  viewDigest,
  type WeightDelta,
  type WeightsDeltaMsg,
  type WeightWire,
} from '@dtrain/common';
import { deltaKernel } from '@dtrain/worker/quantize';

export interface Publication {
  /** What goes whole to a worker that does not hold the delta's base: w, or the view. */
  weights: Float32Array;
  delta?: WeightsDeltaMsg;
}

export class WeightView {
  private view: Float32Array | null = null;
  private last: Publication & { version: number } = { version: -1, weights: new Float32Array(0) };
  private flushAt = -1;

  constructor(
    private readonly wire: WeightWire,
    private readonly kernel: DeltaKernel = deltaKernel(),
  ) {}

  /** Version `version` is checkpointed: publish it whole (a no-op once it went out, see above). */
  flush(version: number): void {
    this.flushAt = version;
  }

  /** What publishes `version` of the weights `w` (again the same for a version already published). */
  publish(version: number, w: Float32Array, flush = false): Publication {
    if (this.wire === 'fp32') return { weights: w };
    if (version === this.last.version) return this.last;
    const base = this.last.version;
    const delta = this.view && !flush && version !== this.flushAt ? this.step(w, this.view, this.wire) : null;
    if (!this.view || !delta) {
      this.view ??= new Float32Array(w.length);
      this.view.set(w);
      this.last = { version, weights: this.view };
      return this.last;
    }
    const digest = version % VIEW_DIGEST_EVERY === 0 ? { digest: viewDigest(this.view) } : {};
    this.last = { version, weights: this.view, delta: { kind: 'weightsDelta', version, base, ...delta, ...digest } };
    return this.last;
  }

  /** The delta from `view` to `w`, applied to `view` (null, and `view` untouched, when it cannot be made). */
  private step(w: Float32Array, view: Float32Array, wire: 'bf16' | 'int8'): WeightDelta | null {
    if (wire === 'int8') return this.kernel.encodeApplyInt8(w, view);
    const d = encodeDelta(w, view, wire, this.kernel);
    if (d) applyDelta(view, d, this.kernel);
    return d;
  }
}
