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

/**
 * Buffers that frames received in pieces are put together in (chunks.ts): lent to a connection for one frame,
 * given back by whoever reads the frame last (a reducer, once it has added the gradient in), and lent again.
 * A buffer never given back is simply collected; one given back while still read would be a bug, so each
 * lease gives back once.
 */
export class ReceiveBuffers {
  private readonly free: Uint8Array[] = [];

  /** @param maxFree buffers kept for reuse */
  constructor(private readonly maxFree = 16) {}

  /** A buffer of at least `bytes` (4-byte aligned, at offset 0 of its own memory). */
  take(bytes: number): Uint8Array {
    const i = this.free.findIndex((b) => b.byteLength >= bytes);
    return i >= 0 ? this.free.splice(i, 1)[0]! : new Uint8Array(bytes);
  }

  /** Whoever holds a view of `buffer`'s memory gives it back with the function returned (at most once). */
  lease(view: Uint8Array): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      if (this.free.length < this.maxFree) this.free.push(new Uint8Array(view.buffer, 0, view.buffer.byteLength));
    };
  }

  /** Buffers waiting to be lent (for tests and diagnostics). */
  get size(): number {
    return this.free.length;
  }
}
