// The coordinator's side of --weight-wire bf16|int8 (weight-delta.ts): it keeps the view every worker holds
// and decides what each version publishes. A version goes whole (a flush, view := w by assignment) when it
// is the first, when it is evaluated, or when a checkpoint is written at it before it was published; any
// other goes as the delta Q(w - view), which the coordinator applies to its own view with the same function
// the workers run. A checkpoint written at a version already sent as a delta (the last-resort one of a
// crash, mid-step) is not a flush: its resume starts from w, not from the view the workers held.
// Sharded summation publishes a version slice by slice as each is applied (publishSlice): the same bits
// as the whole delta (slices start at int8 block edges), put together for whoever needs it whole (endSlices).

import {
  applyDelta,
  type DeltaKernel,
  encodeDelta,
  GRAD_BLOCK,
  type Slice,
  TrainerError,
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
  /** A version being published in slices: its whole delta so far, and the ranges of the view it changed. */
  private sliced: { msg: WeightsDeltaMsg; undo: { a: number; b: number }[] } | null = null;
  /** The view as it was before the slices of the version being published (reused, range by range). */
  private before: Float32Array | null = null;

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
    if (version === this.last.version) {
      // an evaluated version must be w itself: the loop decides that before the step (a version in slices is a delta)
      if (flush && this.last.delta) throw new Error(`version ${version} went out as a delta before its evaluation`);
      return this.last;
    }
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

  /**
   * Whether `version` may go out in slices: a delta (not fp32, not the first version, not a flush) without a
   * digest (the digest is of the whole view). The caller also keeps evaluated and checkpointed versions whole.
   */
  sliceable(version: number): boolean {
    return this.wire !== 'fp32' && this.view !== null && version !== this.flushAt && version % VIEW_DIGEST_EVERY !== 0;
  }

  /** Slice `index` (`s`) of `version`'s delta from the last version, applied to the view (see sliceable). */
  publishSlice(version: number, w: Float32Array, index: number, s: Slice): WeightsDeltaMsg & { slice: number } {
    const view = this.view!;
    this.sliced ??= { msg: this.wholeDelta(version, view.length), undo: [] };
    const [a, b] = [s.offset, s.offset + s.length];
    this.before ??= new Float32Array(view.length);
    this.before.set(view.subarray(a, b), a);
    this.sliced.undo.push({ a, b });
    const d = this.step(w.subarray(a, b), view.subarray(a, b), this.wire as 'bf16' | 'int8');
    if (!d) throw new TrainerError('ERR_DIVERGED', `the weight delta of version ${version} is not finite`);
    const { msg } = this.sliced;
    msg.data.set(d.data as never, a);
    if (d.scales) msg.scales!.set(d.scales, a / GRAD_BLOCK);
    return { ...msg, data: d.data, ...(d.scales ? { scales: d.scales } : {}), slice: index };
  }

  /** The step's end: its slices kept (endSlices) or undone (a fallback, a divergence). */
  settleSlices(kept: boolean): void {
    if (kept) this.endSlices();
    else this.undoSlices();
  }

  /** Every slice of the version is out: it is the last publication, whole for whoever needs it so. */
  endSlices(): void {
    if (this.sliced) this.last = { version: this.sliced.msg.version, weights: this.view!, delta: this.sliced.msg };
    this.sliced = null;
  }

  /** The step fell back to the star (or diverged): the view's slices go back to the last version. */
  undoSlices(): void {
    for (const { a, b } of this.sliced?.undo ?? []) this.view!.set(this.before!.subarray(a, b), a);
    this.sliced = null;
  }

  private wholeDelta(version: number, n: number): WeightsDeltaMsg {
    const base = this.last.version;
    if (this.wire === 'int8')
      return {
        kind: 'weightsDelta',
        version,
        base,
        wire: 'int8',
        data: new Int8Array(n),
        scales: new Float32Array(Math.ceil(n / GRAD_BLOCK)),
      };
    return { kind: 'weightsDelta', version, base, wire: 'bf16', data: new Uint16Array(n) };
  }

  /** The delta from `view` to `w`, applied to `view` (null, and `view` untouched, when it cannot be made). */
  private step(w: Float32Array, view: Float32Array, wire: 'bf16' | 'int8'): WeightDelta | null {
    if (wire === 'int8') return this.kernel.encodeApplyInt8(w, view);
    const d = encodeDelta(w, view, wire, this.kernel);
    if (d) applyDelta(view, d, this.kernel);
    return d;
  }
}
