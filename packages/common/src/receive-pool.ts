// Buffers for the large messages a connection receives (gradients, sums, slices), lent one per message and
// reused instead of a fresh buffer per frame (the coordinator's garbage). A message's tensors are views of its
// buffer, held by the round that reads them (a reducer joins them as their siblings arrive; a run reduces and
// updates before its next round begins), so a buffer comes back only once two more rounds have begun: two
// calls of `nextRound()` (the server makes them as its pool starts each round). Messages under the threshold
// are not lent (null: the reader keeps them as they arrive). At most `maxLent` buffers are out at once, and all
// pools of a server together hold at most their shared budget of bytes; past either a message is not lent
// either, so a peer that sends more than a round's worth costs garbage, not a buffer read while in use, and one
// that announces large messages without sending them holds no room for them.
// With `poison`, a buffer is filled with 0xff when it comes back (NaN as float32): a reader that kept a view
// too long then reads NaN, which the tests' bitwise checks catch.

/** Where the pool starts lending, and its bounds. */
export interface ReceivePoolOptions {
  /** Messages of at least this many bytes are lent from the pool. */
  threshold: number;
  /** Most buffers out at once. */
  maxLent: number;
  /** Most idle buffers kept. */
  maxFree: number;
  /** Fill returned buffers with 0xff (tests). */
  poison: boolean;
  /** Bytes all the pools sharing it may still allocate (shared, decremented as they do). */
  budget: { bytes: number };
}

/** Room is rounded up to this, so messages of slightly different lengths share buffers. */
const ROUND_BYTES = 64 * 1024;

export class ReceivePool {
  private readonly free: Uint8Array[] = [];
  private readonly lent: { buffer: Uint8Array; round: number }[] = [];
  private round = 0;
  /** Buffers allocated for the pool, and messages not lent past its bounds (tests and benches). */
  allocated = 0;
  overflow = 0;

  constructor(private readonly o: ReceivePoolOptions) {}

  /** Room for a message of `bytes` (at least that long), or null (not lent: see above). */
  lend(bytes: number): Uint8Array | null {
    if (bytes < this.o.threshold) return null;
    this.reclaim();
    const i = this.free.findIndex((b) => b.length >= bytes);
    let buffer: Uint8Array;
    const room = Math.ceil(bytes / ROUND_BYTES) * ROUND_BYTES;
    if (i >= 0) buffer = this.free.splice(i, 1)[0]!;
    else if (this.lent.length >= this.o.maxLent || this.o.budget.bytes < room) {
      this.overflow++;
      return null;
    } else {
      buffer = new Uint8Array(room);
      this.o.budget.bytes -= room;
      this.allocated++;
    }
    this.lent.push({ buffer, round: this.round });
    return buffer;
  }

  /** A round begins: buffers lent before the previous round began may be reused. */
  nextRound(): void {
    this.round++;
  }

  /** The connection is gone: its buffers' bytes go back to the budget (they are garbage once unread). */
  release(): void {
    for (const b of [...this.free, ...this.lent.map((l) => l.buffer)]) this.o.budget.bytes += b.length;
    this.free.length = 0;
    this.lent.length = 0;
  }

  /** Buffers out now. */
  get out(): number {
    return this.lent.length;
  }

  private reclaim(): void {
    while (this.lent.length > 0 && this.lent[0]!.round + 2 <= this.round) {
      const { buffer } = this.lent.shift()!;
      if (this.o.poison) buffer.fill(0xff);
      if (this.free.length < this.o.maxFree) this.free.push(buffer);
      else this.o.budget.bytes += buffer.length;
    }
  }
}
