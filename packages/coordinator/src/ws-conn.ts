// The coordinator's own server-side WebSocket (RFC 6455), in place of ws' on the receive path: every read of
// a plain TCP or Unix connection lands in one buffer kept for it (the accepted handle re-wrapped in a Socket
// with `onread`, which Node otherwise offers only to sockets a process dials), and each message's payload is
// unmasked straight into a buffer lent by the connection's ReceivePool. Node's buffer per read and ws' copy
// per frame were most of the coordinator's garbage (bench floor: 0.31-0.54 vs 0.08-0.14 ns per byte).
// TLS connections read through their TLSSocket ('data' events) into the same frame reader.
// The API is the part of ws' WebSocket the server uses: send, ping, close, terminate and its events.

import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  acceptKey,
  MAX_CONTROL_PAYLOAD,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  type ReceivePool,
  serverFrameHeader,
  validCloseCode,
  WsFrameReader,
  WsProtocolError,
} from '@dtrain/common';

/** How long a close we sent waits for the peer's close before the socket is destroyed. */
const CLOSE_TIMEOUT_MS = 10_000;
/** Bytes of each connection's read buffer. */
const READ_BUFFER_BYTES = 256 * 1024;

export interface ServerWebSocketEvents {
  message: [Buffer, boolean];
  ping: [Buffer];
  pong: [Buffer];
  close: [number, Buffer];
  error: [Error];
}

type State = 'open' | 'closing' | 'closed';

export class ServerWebSocket extends EventEmitter<ServerWebSocketEvents> {
  private state: State = 'open';
  private readonly reader: WsFrameReader;
  private peerClose: { code: number; reason: Buffer } | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  /** Bytes read before start(), in order (null once started). */
  private held: Buffer[] | null = [];
  /** The largest message this connection accepts now (the server sets it by handshake state). */
  limit: () => number;

  private constructor(
    private readonly socket: Socket,
    pool: ReceivePool,
    limit: () => number,
  ) {
    super();
    this.limit = limit;
    this.reader = new WsFrameReader({
      limit: () => this.limit(),
      lend: (bytes) => pool.lend(bytes),
      message: (data, binary) => this.emit('message', asBuffer(data), binary),
      control: (op, payload) => this.onControl(op, payload),
    });
    socket.setNoDelay(true);
    socket.on('error', (e) => this.emit('error', e));
    socket.on('close', () => this.closed());
  }

  /**
   * Answer an upgrade request: a valid one gets 101 and its connection, reading as above; anything else gets
   * 400 and the socket is destroyed (null). Nothing is read until start(): the caller first listens for its
   * 'error' and messages. `head` and anything already read are the first bytes read.
   */
  static upgrade(req: IncomingMessage, socket: Socket, head: Buffer, pool: ReceivePool, limit: () => number) {
    const accept = validUpgrade(req);
    if (!accept) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n', () => socket.destroy());
      setTimeout(() => socket.destroy(), CLOSE_TIMEOUT_MS).unref(); // a peer that does not read the answer
      return null;
    }
    if (socket.destroyed) return null; // gone before its answer
    socket.setTimeout(0);
    const first = [head, ...drain(socket)].filter((b) => b.length > 0);
    let ws: ServerWebSocket | null = null;
    // TLS, or a Node whose sockets do not expose their handle: 'data' events (a buffer per read, as under ws)
    const rewrapped =
      socket instanceof TLSSocket ? null : readIntoOneBuffer(socket, READ_BUFFER_BYTES, (bytes) => ws?.read(bytes));
    const s = rewrapped ?? socket;
    ws = new ServerWebSocket(s, pool, limit);
    ws.held = first;
    s.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    if (!rewrapped) socket.on('data', (chunk: Buffer) => ws?.read(chunk));
    return ws;
  }

  /** Read: the bytes held since the upgrade first, then each read as it comes. */
  start(): void {
    const held = this.held;
    this.held = null;
    for (const b of held ?? []) this.read(b);
  }

  /** Send one binary message; `done` is called once it is written out (or failed). */
  send(data: Uint8Array, done?: (err?: Error) => void): void {
    if (this.state !== 'open') {
      if (done) process.nextTick(done, new Error('the WebSocket is not open'));
      return;
    }
    this.socket.cork();
    this.socket.write(serverFrameHeader(OP_BINARY, data.length));
    this.socket.write(data, done ? (e) => done(e ?? undefined) : undefined);
    this.socket.uncork();
  }

  ping(data: Uint8Array = new Uint8Array(0)): void {
    if (this.state === 'open') this.control(OP_PING, data.subarray(0, MAX_CONTROL_PAYLOAD));
  }

  /** Start the closing handshake: our close frame now, the socket ends at the peer's (or after a timeout). */
  close(code: number, reason: string): void {
    if (this.state !== 'open') return;
    const why = Buffer.from(reason, 'utf8').subarray(0, MAX_CONTROL_PAYLOAD - 2);
    const payload = Buffer.alloc(2 + why.length);
    payload.writeUInt16BE(code, 0);
    why.copy(payload, 2);
    this.control(OP_CLOSE, payload);
    this.state = 'closing';
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS);
    this.closeTimer.unref();
  }

  /** Drop the connection at once. */
  terminate(): void {
    this.socket.destroy();
  }

  private read(bytes: Uint8Array): void {
    if (this.held) return void this.held.push(Buffer.from(bytes)); // a copy: the read buffer is reused
    if (this.state === 'closed' || this.peerClose) return;
    try {
      this.reader.push(bytes);
    } catch (e) {
      if (!(e instanceof WsProtocolError)) throw e;
      this.emit('error', e);
      this.close(e.closeCode, e.message);
      this.peerClose = { code: 1006, reason: Buffer.alloc(0) };
      this.socket.destroy();
    }
  }

  private onControl(op: number, payload: Uint8Array): void {
    if (op === OP_PING) {
      if (this.state === 'open') this.control(OP_PONG, payload);
      this.emit('ping', Buffer.from(payload));
    } else if (op === OP_PONG) this.emit('pong', Buffer.from(payload));
    else this.onPeerClose(payload);
  }

  private onPeerClose(payload: Uint8Array): void {
    if (payload.length === 1) throw new WsProtocolError(1002, 'a close frame of one byte');
    const code = payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005;
    if (code !== 1005 && !validCloseCode(code))
      throw new WsProtocolError(1002, `close code ${code} is not one a peer may send`);
    this.peerClose = { code, reason: Buffer.from(payload.subarray(2)) };
    if (this.state === 'open') this.control(OP_CLOSE, payload.subarray(0, 2));
    this.state = 'closing';
    this.socket.end();
  }

  private control(op: number, payload: Uint8Array): void {
    this.socket.cork();
    this.socket.write(serverFrameHeader(op, payload.length));
    if (payload.length > 0) this.socket.write(Buffer.from(payload));
    this.socket.uncork();
  }

  private closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.closeTimer) clearTimeout(this.closeTimer);
    const { code, reason } = this.peerClose ?? { code: 1006, reason: Buffer.alloc(0) };
    this.emit('close', code, reason);
  }
}

/** The Sec-WebSocket-Accept of a valid upgrade request (GET, websocket, version 13, a 16-byte key), else null. */
function validUpgrade(req: IncomingMessage): string | null {
  if (req.method !== 'GET') return null;
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return null;
  if (req.headers['sec-websocket-version'] !== '13') return null;
  return acceptKey(req.headers['sec-websocket-key']);
}

/** What the socket has read past the request and not yet handed on. */
function drain(socket: Socket): Buffer[] {
  const out: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null)
    out.push(chunk);
  return out;
}

/**
 * The socket's handle in a new Socket that reads into one buffer of `bytes` (`onread`, which Node documents only
 * for sockets a process dials): `onRead` gets a view of each read, valid during the call. The old Socket lets go
 * of the handle and is destroyed, so its server's count of connections stays true. Null, and the socket left as
 * it was, where it exposes no stream handle (Node's private `_handle`).
 */
export function readIntoOneBuffer(socket: Socket, bytes: number, onRead: (data: Uint8Array) => void): Socket | null {
  const holder = socket as unknown as { _handle?: { readStart?: unknown } | null };
  const handle = holder._handle;
  if (typeof handle?.readStart !== 'function') return null;
  holder._handle = null;
  socket.destroy();
  const buffer = Buffer.allocUnsafe(bytes);
  const options = { handle, onread: { buffer, callback: (n: number) => void onRead(buffer.subarray(0, n)) } };
  return new Socket(options as ConstructorParameters<typeof Socket>[0]);
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.length);
}
