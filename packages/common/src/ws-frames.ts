// The server side of WebSocket framing (RFC 6455 section 5), on bytes only: a reader that takes a connection's
// bytes as they arrive and puts each message's unmasked payload straight into a buffer the caller lends (no
// buffer per read or per frame of its own), and the headers of the frames a server sends. The coordinator's
// receive path (coordinator/src/ws-conn.ts) feeds it from one reused read buffer per connection.
// Every length is checked against the caller's limit before a byte of the payload is read.

import { createHash } from 'node:crypto';

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** Control frames carry at most this many payload bytes (RFC 6455 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Close codes for what the reader refuses. */
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_TOO_BIG = 1009;

/** A frame the reader refuses: the close code to answer with and why. */
export class WsProtocolError extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'WsProtocolError';
  }
}

/** What the reader needs from its connection. */
export interface WsReaderHooks {
  /** The largest message the connection accepts now, in bytes (checked at each frame's header). */
  limit(): number;
  /**
   * Room for a message of `bytes` (the whole message; a fragmented one asks for the limit), or null: the payload
   * is then kept in pieces as it arrives and joined at the end (memory grows only with the bytes sent, so a
   * peer that announces a large message and sends little of it holds little).
   */
  lend(bytes: number): Uint8Array | null;
  /** A whole data message: a view of the lent buffer. */
  message(data: Uint8Array, binary: boolean): void;
  /** A close, ping or pong frame: a view valid only during the call. */
  control(opcode: number, payload: Uint8Array): void;
}

type Phase = 'header' | 'payload';

/** Client-to-server frames in, messages out; throws WsProtocolError on the first frame it refuses. */
export class WsFrameReader {
  private phase: Phase = 'header';
  private readonly head = new Uint8Array(14);
  private headHave = 0;
  private opcode = 0;
  private fin = false;
  private readonly mask = new Uint8Array(4);
  private remaining = 0;
  private maskAt = 0;
  /** The message being put together (data frames): in lent room or in pieces, and how much of it is in. */
  private msg: Uint8Array | null = null;
  private pieces: Uint8Array[] | null = null;
  private msgBinary = false;
  private msgHave = 0;
  /** The most bytes the message may reach: its length, or the limit when it came fragmented. */
  private msgCap = 0;
  private readonly controlBuf = new Uint8Array(MAX_CONTROL_PAYLOAD);
  private controlHave = 0;

  constructor(private readonly hooks: WsReaderHooks) {}

  /** Take the next bytes of the stream (any split); dispatches every message they complete. */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.phase === 'header') at = this.readHeader(chunk, at);
      else at = this.readPayload(chunk, at);
    }
  }

  private readHeader(chunk: Uint8Array, at: number): number {
    while (at < chunk.length) {
      this.head[this.headHave++] = chunk[at++]!;
      const need = headerBytes(this.head, this.headHave);
      if (need !== null && this.headHave === need) {
        this.startFrame(need);
        if (this.remaining === 0) this.endFrame();
        return at;
      }
    }
    return at;
  }

  private startFrame(headBytes: number): void {
    const h = this.head;
    if ((h[0]! & 0x70) !== 0)
      throw new WsProtocolError(CLOSE_PROTOCOL_ERROR, 'reserved bits set (no extension was agreed)');
    if ((h[1]! & 0x80) === 0) throw new WsProtocolError(CLOSE_PROTOCOL_ERROR, 'a client frame must be masked');
    this.fin = (h[0]! & 0x80) !== 0;
    this.opcode = h[0]! & 0x0f;
    const length = payloadLength(h);
    this.mask.set(h.subarray(headBytes - 4, headBytes));
    this.headHave = 0;
    this.remaining = length;
    this.maskAt = 0;
    this.phase = 'payload';
    if (this.opcode >= OP_CLOSE) return this.startControl(length);
    this.startData(length);
  }

  private startControl(length: number): void {
    if (this.opcode > OP_PONG) throw new WsProtocolError(CLOSE_PROTOCOL_ERROR, `unknown opcode ${this.opcode}`);
    if (!this.fin) throw new WsProtocolError(CLOSE_PROTOCOL_ERROR, 'a control frame must not be fragmented');
    if (length > MAX_CONTROL_PAYLOAD)
      throw new WsProtocolError(CLOSE_PROTOCOL_ERROR, `control frame of ${length} bytes (at most 125)`);
    this.controlHave = 0;
  }

  private startData(length: number): void {
    if (this.opcode > OP_BINARY) throw new WsProtocolError(CLOSE_PROTOCOL_ERROR, `unknown opcode ${this.opcode}`);
    if (this.opcode === OP_CONTINUATION) {
      if (!this.msg && !this.pieces)
        throw new WsProtocolError(CLOSE_PROTOCOL_ERROR, 'a continuation frame with no message to continue');
      if (this.msgHave + length > this.msgCap)
        throw new WsProtocolError(
          CLOSE_TOO_BIG,
          `message of over ${this.msgHave + length} bytes (limit ${this.msgCap})`,
        );
      return;
    }
    if (this.msg || this.pieces)
      throw new WsProtocolError(CLOSE_PROTOCOL_ERROR, 'a new message before the last one ended');
    const limit = this.hooks.limit();
    if (length > limit) throw new WsProtocolError(CLOSE_TOO_BIG, `message of ${length} bytes (limit ${limit})`);
    this.msgCap = this.fin ? length : limit;
    this.msg = this.hooks.lend(this.msgCap);
    if (this.msg && this.msg.length < this.msgCap) throw new Error(`lent ${this.msg.length} bytes for ${this.msgCap}`);
    if (!this.msg) this.pieces = [];
    this.msgBinary = this.opcode === OP_BINARY;
    this.msgHave = 0;
  }

  private readPayload(chunk: Uint8Array, at: number): number {
    const n = Math.min(this.remaining, chunk.length - at);
    const control = this.opcode >= OP_CLOSE;
    const src = chunk.subarray(at, at + n);
    if (control) unmaskInto(this.controlBuf, this.controlHave, src, this.mask, this.maskAt);
    else if (this.msg) unmaskInto(this.msg, this.msgHave, src, this.mask, this.maskAt);
    else if (n > 0) {
      const piece = new Uint8Array(n);
      unmaskInto(piece, 0, src, this.mask, this.maskAt);
      this.pieces!.push(piece);
    }
    if (control) this.controlHave += n;
    else this.msgHave += n;
    this.maskAt = (this.maskAt + n) & 3;
    this.remaining -= n;
    at += n;
    if (this.remaining === 0) this.endFrame();
    return at;
  }

  private endFrame(): void {
    this.phase = 'header';
    if (this.opcode >= OP_CLOSE) return this.hooks.control(this.opcode, this.controlBuf.subarray(0, this.controlHave));
    if (!this.fin) return;
    const data = this.msg ? this.msg.subarray(0, this.msgHave) : joined(this.pieces!, this.msgHave);
    this.msg = null;
    this.pieces = null;
    this.hooks.message(data, this.msgBinary);
  }
}

function joined(pieces: Uint8Array[], length: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Header length once enough of it is in (2, +2 or +8 for the length, +4 for the mask), or null. */
function headerBytes(h: Uint8Array, have: number): number | null {
  if (have < 2) return null;
  const len7 = h[1]! & 0x7f;
  const masked = (h[1]! & 0x80) !== 0 ? 4 : 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + masked;
}

/** The payload length a complete header declares; over 2^53 is refused (no limit comes near it). */
function payloadLength(h: Uint8Array): number {
  const len7 = h[1]! & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return (h[2]! << 8) | h[3]!;
  const high = ((h[2]! << 24) | (h[3]! << 16) | (h[4]! << 8) | h[5]!) >>> 0;
  if (high > 0x1fffff) throw new WsProtocolError(CLOSE_TOO_BIG, 'a 64-bit payload length beyond 2^53');
  return high * 2 ** 32 + (((h[6]! << 24) | (h[7]! << 16) | (h[8]! << 8) | h[9]!) >>> 0);
}

/**
 * dst[at..at+src.length) = src XOR mask, the mask starting at byte `phase` of its 4: copied, then unmasked in
 * place four bytes at a time where dst is 4-aligned (the mask word built in the platform's byte order).
 */
export function unmaskInto(dst: Uint8Array, at: number, src: Uint8Array, mask: Uint8Array, phase: number): void {
  dst.set(src, at);
  if ((mask[0]! | mask[1]! | mask[2]! | mask[3]!) === 0) return; // an all-zero mask (our workers send one): a copy
  const end = at + src.length;
  let i = at;
  let k = phase;
  for (; i < end && (dst.byteOffset + i) % 4 !== 0; i++, k = (k + 1) & 3) dst[i] = dst[i]! ^ mask[k]!;
  const words = Math.floor((end - i) / 4);
  if (words > 0) {
    const m = new Uint8Array(4);
    for (let j = 0; j < 4; j++) m[j] = mask[(k + j) & 3]!;
    const word = new Uint32Array(m.buffer)[0]!;
    const view = new Uint32Array(dst.buffer, dst.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] = view[w]! ^ word;
    i += 4 * words;
  }
  for (; i < end; i++, k = (k + 1) & 3) dst[i] = dst[i]! ^ mask[k]!;
}

/** The header of a server frame (final, unmasked) carrying `length` bytes. */
export function serverFrameHeader(opcode: number, length: number): Uint8Array {
  if (length < 126) return Uint8Array.of(0x80 | opcode, length);
  if (length < 0x10000) return Uint8Array.of(0x80 | opcode, 126, length >> 8, length & 0xff);
  const h = new Uint8Array(10);
  h[0] = 0x80 | opcode;
  h[1] = 127;
  const high = Math.floor(length / 2 ** 32);
  const low = length >>> 0;
  new DataView(h.buffer).setUint32(2, high);
  new DataView(h.buffer).setUint32(6, low);
  return h;
}

/** Close codes a peer may send (RFC 6455 7.4): 1000-1003, 1007-1014, and 3000-4999 for libraries and applications. */
export function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a request's key; null if the key is not base64 of 16 bytes (RFC 6455 4.2.1). */
export function acceptKey(key: string | undefined): string | null {
  if (!key || !/^[A-Za-z0-9+/]{22}==$/.test(key)) return null;
  return createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
}
