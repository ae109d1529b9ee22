// Reusable frame buffers for the per-step tensor frames (weights out of the coordinator, gradients out of
// a worker). A fresh 490 KB buffer per frame costs page faults and garbage-collector work on the critical
// path of every step; a pooled one is reused once nothing reads it any more. Pure bookkeeping: the
// socket layer holds a frame for each send and releases it when the send has been written out.

/** One buffer; `holds` counts its owner (while writing it) plus every send not yet written out. */
export class PooledFrame {
  holds = 0;
  constructor(readonly buffer: Uint8Array) {}

  hold(): void {
    this.holds++;
  }

  release(): void {
    if (this.holds <= 0) throw new Error('frame released more often than held');
    this.holds--;
  }

  /** Hold the buffer while `send` writes it out; `send` calls `done` once when it has (or has failed). */
  sendWith(send: (done: () => void) => void): void {
    this.hold();
    try {
      send(() => this.release());
    } catch (e) {
      this.release();
      throw e;
    }
  }
}

export class FramePool {
  private readonly frames: PooledFrame[] = [];

  /**
   * @param capacity bytes of each buffer
   * @param max buffers kept for reuse; when all are held (a slow or dead socket still has one queued),
   *   take() hands out an extra buffer that is simply dropped afterwards
   */
  constructor(
    readonly capacity: number,
    private readonly max = 4,
  ) {}

  /** A buffer nobody holds, held once by the caller (release it when done with it). */
  take(): PooledFrame {
    let f = this.frames.find((x) => x.holds === 0);
    if (!f) {
      f = new PooledFrame(new Uint8Array(this.capacity));
      if (this.frames.length < this.max) this.frames.push(f);
    }
    f.hold();
    return f;
  }

  /** Buffers kept for reuse (for tests and diagnostics). */
  get size(): number {
    return this.frames.length;
  }
}
