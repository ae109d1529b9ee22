// The coordinator's weights as one encoded frame per version, in a pooled buffer: encoded once after
// each step and sent to every worker (and to workers that join later) without a fresh 490 KB buffer
// each time. A buffer is reused only after ws has written out every send of it (FramePool holds).
// It also remembers which version each connection was last sent, so a version goes to a worker once.
// With --weight-wire bf16/int8 a version also comes as a delta (weight-delta.ts): a connection that holds
// the delta's base gets the delta; any other (a joiner, a reconnect, one that missed a version) gets the
// view whole in float32.

import {
  compressedFrameCapacity,
  encode,
  FramePool,
  type PooledFrame,
  tensorFrameCapacity,
  type WeightsDeltaMsg,
} from '@dtrain/common';

export interface WeightsFrame {
  bytes: Uint8Array;
  pooled: PooledFrame;
  version: number;
}

export type SendFrame<C> = (conn: C, bytes: Uint8Array, pooled: PooledFrame) => void;

/** What is published at a version: the weights (the view, under a compressed weight wire) and maybe a delta to them. */
export interface Published {
  version: number;
  weights: Float32Array;
  delta?: WeightsDeltaMsg;
}

export class WeightsFrames {
  private readonly pool: FramePool;
  private readonly deltaPool: FramePool;
  private current: WeightsFrame | null = null;
  private currentDelta: WeightsFrame | null = null;
  /** Connection id -> the version last sent to it. */
  private readonly sent = new Map<number, number>();

  constructor(paramCount: number) {
    this.pool = new FramePool(tensorFrameCapacity(paramCount));
    const most = Math.max(compressedFrameCapacity('bf16', paramCount), compressedFrameCapacity('int8', paramCount));
    this.deltaPool = new FramePool(most);
  }

  /** The frame of `weights` at `version`, encoded on first use of that version. */
  frame(version: number, weights: Float32Array): WeightsFrame {
    if (this.current?.version !== version) {
      this.current?.pooled.release();
      const pooled = this.pool.take();
      this.current = { bytes: encode({ kind: 'weights', version, data: weights }, pooled.buffer), pooled, version };
    }
    return this.current;
  }

  /** The frame of a delta, encoded on first use of its version. */
  private deltaFrame(d: WeightsDeltaMsg): WeightsFrame {
    if (this.currentDelta?.version !== d.version) {
      this.currentDelta?.pooled.release();
      const pooled = this.deltaPool.take();
      this.currentDelta = { bytes: encode(d, pooled.buffer), pooled, version: d.version };
    }
    return this.currentDelta;
  }

  /** Send `p.version` to each of `conns` that was not sent it yet: the delta to those at its base, else whole. */
  share<C extends { id: number }>(conns: readonly C[], p: Published, send: SendFrame<C>): void {
    for (const c of conns) {
      const had = this.sent.get(c.id);
      if (had === p.version) continue;
      const f = p.delta && had === p.delta.base ? this.deltaFrame(p.delta) : this.frame(p.version, p.weights);
      send(c, f.bytes, f.pooled);
      this.sent.set(c.id, p.version);
    }
  }

  /** Whether this connection was sent `version`. */
  has(connId: number, version: number): boolean {
    return this.sent.get(connId) === version;
  }

  /** `version` reached this connection another way (as slices through the mesh). */
  markSent(connId: number, version: number): void {
    this.sent.set(connId, version);
  }

  /** Nothing is known to have arrived anywhere: every connection gets the next version whole. */
  forgetAll(): void {
    this.sent.clear();
  }

  /** A connection closed: a later one with the same id starts from nothing. */
  forget(connId: number): void {
    this.sent.delete(connId);
  }
}
