// Large frames in chunks (a worker's gradient, a relay's sum): a frame longer than CHUNK_BYTES travels as
// pieces of at most CHUNK_BYTES, each a frame of its own, so the receiver's WebSocket layer hands each piece
// over as a view of what the socket read (no fresh buffer and copy of the whole frame per message, which is
// what made a coordinator collect garbage), and the receiver copies the pieces into a buffer it reuses. The
// pieces of one frame arrive in order, one after another (nothing in between), and say where they belong:
//   [0]        0xC2 (msgpack never uses it; 0xC1 starts a tensor frame)
//   [1]        flags: 1 on the last piece
//   [2, 4)     zero
//   [4, 8)     the whole frame's bytes, u32 little-endian
//   [8, 12)    this piece's offset in it
//   [12, 16)   this piece's length; the piece's bytes follow
// Anything else (a gap, an overlap, another total, a piece past the end, a short header) is refused.

import { TrainerError } from './errors.js';

export const CHUNK_MAGIC = 0xc2;
export const CHUNK_HEADER_BYTES = 16;
/** Most bytes of one piece's frame, header included. */
export const CHUNK_BYTES = 64 * 1024;
const PIECE_BYTES = CHUNK_BYTES - CHUNK_HEADER_BYTES;

/** Whether `frame` must go in pieces. */
export function needsChunks(frame: Uint8Array): boolean {
  return frame.length > CHUNK_BYTES;
}

/** The pieces of `frame`, each a fresh buffer (header, then its bytes). */
export function chunkFrame(frame: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < frame.length; offset += PIECE_BYTES) {
    const len = Math.min(PIECE_BYTES, frame.length - offset);
    const piece = new Uint8Array(CHUNK_HEADER_BYTES + len);
    const view = new DataView(piece.buffer);
    piece[0] = CHUNK_MAGIC;
    piece[1] = offset + len === frame.length ? 1 : 0;
    view.setUint32(4, frame.length, true);
    view.setUint32(8, offset, true);
    view.setUint32(12, len, true);
    piece.set(frame.subarray(offset, offset + len), CHUNK_HEADER_BYTES);
    out.push(piece);
  }
  return out;
}

const bad = (why: string): never => {
  throw new TrainerError('ERR_BAD_FRAME', `chunked frame: ${why}`);
};

/**
 * One connection's frame being put together from its pieces. `take(bytes)` lends the buffer the whole frame
 * goes into (4-byte aligned, at least that long); the completed frame is a view of it at offset 0.
 */
export class ChunkAssembler {
  private buffer: Uint8Array | null = null;
  private total = 0;
  private filled = 0;

  /** @param maxBytes the largest whole frame this connection may send now */
  constructor(private readonly maxBytes: number) {}

  /** In the middle of a frame (a frame that is not a piece must not arrive now). */
  get busy(): boolean {
    return this.buffer !== null;
  }

  /** A piece in: null until its frame is whole, then the frame. */
  add(piece: Uint8Array, take: (bytes: number) => Uint8Array): Uint8Array | null {
    if (piece.length < CHUNK_HEADER_BYTES || piece[0] !== CHUNK_MAGIC) bad('a piece has no header');
    const view = new DataView(piece.buffer, piece.byteOffset, CHUNK_HEADER_BYTES);
    const [flags, total, offset, len] = [
      piece[1]!,
      view.getUint32(4, true),
      view.getUint32(8, true),
      view.getUint32(12, true),
    ];
    if (piece[2] !== 0 || piece[3] !== 0 || flags > 1) bad('unknown flags');
    if (len < 1 || len !== piece.length - CHUNK_HEADER_BYTES)
      bad(`a piece says ${len} bytes and carries ${piece.length - CHUNK_HEADER_BYTES}`);
    if (total <= CHUNK_BYTES - CHUNK_HEADER_BYTES || total > this.maxBytes)
      bad(`a frame of ${total} bytes (pieces only for frames over ${CHUNK_BYTES}, at most ${this.maxBytes} here)`);
    if (offset !== this.filled || (this.buffer !== null && total !== this.total))
      bad(`a piece at ${offset} of ${total} bytes where ${this.filled} of ${this.total || total} were expected`);
    if (offset + len > total || (flags === 1) !== (offset + len === total))
      bad('a piece past the end, or a last piece that is not');
    if (this.buffer === null) {
      const b = take(total);
      if (b.byteLength < total || b.byteOffset % 4 !== 0)
        throw new Error('the receive buffer lent is too small or unaligned');
      [this.buffer, this.total] = [b, total];
    }
    this.buffer.set(piece.subarray(CHUNK_HEADER_BYTES), offset);
    this.filled += len;
    if (this.filled < total) return null;
    const whole = this.buffer.subarray(0, total);
    [this.buffer, this.total, this.filled] = [null, 0, 0];
    return whole;
  }

  /** The buffer of an unfinished frame, given back (the connection closed mid-frame), or null. */
  abandon(): Uint8Array | null {
    const b = this.buffer;
    [this.buffer, this.total, this.filled] = [null, 0, 0];
    return b;
  }
}
