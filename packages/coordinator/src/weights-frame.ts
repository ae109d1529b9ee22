// The coordinator's weights as one encoded frame per version, in a pooled buffer: encoded once after
// each step and sent to every worker (and to workers that join later) without a fresh 490 KB buffer
// each time. A buffer is reused only after ws has written out every send of it (FramePool holds).
// It also remembers which version each connection was last sent, so a version goes to a worker once.

import { encode, FramePool, type PooledFrame, tensorFrameCapacity } from '@dtrain/common';

export interface WeightsFrame {
  bytes: Uint8Array;
  pooled: PooledFrame;
  version: number;
}

export type SendFrame<C> = (conn: C, bytes: Uint8Array, pooled: PooledFrame) => void;

export class WeightsFrames {
  private readonly pool: FramePool;
  private current: WeightsFrame | null = null;
  /** Connection id -> the version last sent to it. */
  private readonly sent = new Map<number, number>();

  constructor(paramCount: number) {
    this.pool = new FramePool(tensorFrameCapacity(paramCount));
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

  /** Send `version` to each of `conns` that was not sent it yet (a new connection: always). */
  share<C extends { id: number }>(
    conns: readonly C[],
    version: number,
    weights: Float32Array,
    send: SendFrame<C>,
  ): void {
    for (const c of conns) {
      if (this.sent.get(c.id) === version) continue;
      const f = this.frame(version, weights);
      send(c, f.bytes, f.pooled);
      this.sent.set(c.id, version);
    }
  }

  /** A connection closed: a later one with the same id starts from nothing. */
  forget(connId: number): void {
    this.sent.delete(connId);
  }
}
