// WebSocket spoken by hand over raw TCP, for the frame-level fuzzer and the admission tests: an upgrade
// request (or a broken one) from any loopback address, frames built byte by byte (any length form, mask,
// opcode, RSV bits, FIN), frames read back, and a sealed handshake done by hand.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  answerChallenge,
  decode,
  encode,
  MAX_HANDSHAKE_BYTES,
  parseCoordinatorMsg,
  type SessionCipher,
  type WelcomeMsg,
} from '@dtrain/common';

export const OP = { cont: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array;
  fin?: boolean;
  /** RSV1..3 as bits 0b100, 0b010, 0b001. */
  rsv?: number;
  /** Clients must mask, servers must not: a hostile peer does the other. */
  mask?: boolean;
  /** Length form: 7-bit, 16-bit or 64-bit; `declared` may differ from the payload sent. */
  form?: 7 | 16 | 64;
  declared?: bigint;
}

/** One frame's bytes exactly as specified (nothing checked: that is the point). */
export function wsFrame(f: FrameSpec): Buffer {
  const payload = Buffer.from(f.payload ?? new Uint8Array(0));
  const declared = f.declared ?? BigInt(payload.length);
  const form = f.form ?? (declared < 126n ? 7 : declared < 65536n ? 16 : 64);
  const maskBit = (f.mask ?? true) ? 0x80 : 0;
  const head = Buffer.from([((f.fin ?? true) ? 0x80 : 0) | (((f.rsv ?? 0) & 7) << 4) | (f.opcode & 0xf), 0]);
  let ext = Buffer.alloc(0);
  if (form === 7) head[1] = maskBit | Number(declared & 0x7fn);
  else if (form === 16) {
    head[1] = maskBit | 126;
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(declared & 0xffffn));
  } else {
    head[1] = maskBit | 127;
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(declared & 0xffffffffffffffffn);
  }
  if (!maskBit) return Buffer.concat([head, ext, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i & 3]!));
  return Buffer.concat([head, ext, key, masked]);
}

/** A valid close frame's payload: code and reason. */
export function closePayload(code: number, reason: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.alloc(2 + reason.length);
  b.writeUInt16BE(code & 0xffff);
  b.set(reason, 2);
  return b;
}

export interface ReadFrame {
  opcode: number;
  payload: Buffer;
}

/** Unmasked frames from a server (or masked ones from a client), parsed as they arrive. */
export class FrameReader {
  private buf = Buffer.alloc(0);
  readonly frames: ReadFrame[] = [];

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (let f = this.take(); f; f = this.take()) this.frames.push(f);
  }

  private take(): ReadFrame | null {
    const b = this.buf;
    if (b.length < 2) return null;
    let len = b[1]! & 0x7f;
    let at = 2;
    if (len === 126) {
      if (b.length < 4) return null;
      len = b.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (b.length < 10) return null;
      len = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    const masked = (b[1]! & 0x80) !== 0;
    const key = masked ? b.subarray(at, at + 4) : null;
    at += masked ? 4 : 0;
    if (b.length < at + len) return null;
    const payload = Buffer.from(b.subarray(at, at + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!;
    this.buf = b.subarray(at + len);
    return { opcode: b[0]! & 0xf, payload };
  }
}

/** A well-formed upgrade request for `path` (the broken ones start from it). */
export function upgradeRequest(extra: Record<string, string> = {}, key = randomBytes(16).toString('base64')): string {
  const headers: Record<string, string> = {
    Host: 'x',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
  return `GET / HTTP/1.1\r\n${Object.entries(headers)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** The Sec-WebSocket-Accept a server owes a request's key. */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
}

export interface RawConn {
  sock: Socket;
  /** The HTTP status of the answer (101 for an upgrade; 0 if the server closed first). */
  status: number;
  reader: FrameReader;
  /** Resolves when the TCP connection is fully closed. */
  closed: Promise<void>;
}

/** Open a TCP connection from `localAddress`, send `request` (plus `head`, in the same write) and read the answer's headers. */
export function dialRaw(
  port: number,
  o: { localAddress?: string; request?: string; head?: Buffer; waitMs?: number } = {},
): Promise<RawConn> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1', ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    const reader = new FrameReader();
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    let header = Buffer.alloc(0);
    let status = -1;
    const done = (s: number): void => {
      if (status !== -1) return;
      status = s;
      clearTimeout(timer);
      resolve({ sock, status: s, reader, closed });
    };
    const timer = setTimeout(() => done(0), o.waitMs ?? 3000);
    sock.on('error', () => undefined);
    sock.once('close', () => done(0));
    sock.once('connect', () =>
      sock.write(
        o.head ? Buffer.concat([Buffer.from(o.request ?? upgradeRequest()), o.head]) : (o.request ?? upgradeRequest()),
      ),
    );
    sock.on('data', (d: Buffer) => {
      if (status !== -1) return reader.push(d);
      header = Buffer.concat([header, d]);
      const end = header.indexOf('\r\n\r\n');
      if (end < 0) return;
      reader.push(header.subarray(end + 4));
      done(Number(/^HTTP\/1\.1 (\d{3})/.exec(header.subarray(0, end).toString('latin1'))?.[1] ?? 0));
    });
  });
}

/** The next frame on a raw connection (null if none came within `ms`). */
export async function nextFrame(c: RawConn, ms = 2000): Promise<ReadFrame | null> {
  const t0 = Date.now();
  while (c.reader.frames.length === 0) {
    if (Date.now() - t0 > ms || c.sock.destroyed) return null;
    await new Promise((r) => setTimeout(r, 5));
  }
  return c.reader.frames.shift()!;
}

/** The handshake by hand on an upgraded raw connection: read the challenge, send a hello proving `token`, open the sealed welcome. */
export async function handshake(
  c: RawConn,
  token: string | undefined,
): Promise<{ session: SessionCipher | null; welcome: WelcomeMsg } | null> {
  const first = await nextFrame(c);
  if (!first) return null;
  const challenge = parseCoordinatorMsg(decode(first.payload, MAX_HANDSHAKE_BYTES), {
    paramCount: 0,
    trainSize: 0,
    evalSize: 0,
  });
  if (challenge.kind !== 'challenge') return null;
  const { hello, session } = answerChallenge(challenge, token, {
    name: 'raw',
    host: 'raw',
    pid: 1,
    backend: 'none',
    backendReason: 'fuzz',
  });
  c.sock.write(wsFrame({ opcode: OP.binary, payload: encode(hello) }));
  const w = await nextFrame(c);
  if (!w || w.opcode !== OP.binary) return null;
  const msg = parseCoordinatorMsg(decode(session ? session.open(w.payload) : w.payload, 1 << 24), {
    paramCount: 1 << 24,
    trainSize: 1 << 30,
    evalSize: 1 << 30,
  });
  return msg.kind === 'welcome' ? { session, welcome: msg } : null;
}
