// The coordinator's weights as one encoded frame per version, in a pooled buffer: encoded once after
// each step and sent to every worker (and to workers that join later) without a fresh 490 KB buffer
// each time. A buffer is reused only after ws has written out every send of it (FramePool holds).

import { encode, FramePool, tensorFrameCapacity, type PooledFrame } from '@dtrain/common';

export interface WeightsFrame {
  bytes: Uint8Array;
  pooled: PooledFrame;
  version: number;
}

export class WeightsFrames {
  private readonly pool: FramePool;
  private current: WeightsFrame | null = null;

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
}
