// One worker's connection as the server sees it (state, proof, session, byte counts), and how a frame
// from it is read: opened (session), size-checked for its state, decoded and validated.

import { randomBytes } from 'node:crypto';
import {
  decode,
  type HelloMsg,
  maxWorkerFrameBytes,
  type ParseContext,
  parseWorkerMsg,
  ReceivePool,
  type SessionCipher,
  TrainerError,
  type WorkerMsg,
} from '@dtrain/common';
import type { ServerWebSocket } from './ws-conn.js';

export type ConnState = 'challenged' | 'waiting' | 'welcomed' | 'ready' | 'closed';

export interface WorkerConn {
  id: number;
  ws: ServerWebSocket;
  /** Lends its large frames (reused two rounds later). */
  received: ReceivePool;
  state: ConnState;
  nonce: string;
  hello: HelloMsg | null;
  lastPong: number;
  bytesIn: number;
  bytesOut: number;
  /** Label for logs and metrics: name@host#id. */
  label: string;
  /** The address its connection came from (a host server's mesh is reached there). */
  address: string;
  /** With a token: seals every frame after the worker's proof (session.ts). */
  session: SessionCipher | null;
  /** Was ready for some run (its late results may still arrive after the next welcome). */
  served: boolean;
  /** Sealed frames that arrived (checked against the worker's pings: missingFrames). */
  sealedIn: number;
}

const RESULT_KINDS: ReadonlySet<unknown> = new Set(['gradient', 'evalResult', 'diverged']);

/** A decoded frame that claims to be a result (checked no further: it is dropped). */
function isResult(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && RESULT_KINDS.has((raw as { kind?: unknown }).kind);
}

/** A connection that was just accepted: challenged with a fresh nonce. */
export function newConn(id: number, ws: ServerWebSocket, address: string, received: ReceivePool): WorkerConn {
  const nonce = randomBytes(24).toString('hex');
  const counts = { lastPong: Date.now(), bytesIn: 0, bytesOut: 0, sealedIn: 0 };
  return {
    id,
    ws,
    received,
    state: 'challenged',
    nonce,
    hello: null,
    label: `#${id}@${address}`,
    address,
    session: null,
    served: false,
    ...counts,
  };
}

/** What a frame is checked against: the pool's largest model, the current run's bounds. */
export interface FrameBounds {
  maxParams: number;
  ctx: ParseContext;
  log: (line: string) => void;
}

/** Open (session), size-check, decode and validate a frame; null for a late result of the previous run. */
export function readFrame(conn: WorkerConn, data: Buffer, isBinary: boolean, b: FrameBounds): WorkerMsg | null {
  if (!isBinary) throw new TrainerError('ERR_BAD_FRAME', 'text frames are not part of the protocol');
  const frame = conn.session ? conn.session.open(data, true) : data;
  // A worker welcomed to the next run may still deliver results of the last one: stale, not hostile.
  const between = conn.state === 'welcomed' && conn.served;
  const limit = maxWorkerFrameBytes(conn.state === 'ready' || between, between ? b.maxParams : b.ctx.paramCount);
  const raw = decode(frame, limit);
  if (between && isResult(raw)) {
    b.log(`worker ${conn.label}: a result of the previous run arrived after the next run's welcome; dropped`);
    return null;
  }
  return parseWorkerMsg(raw, { ...b.ctx, room: (values) => lentFloats(conn.received, values) });
}

/** Room for a compressed gradient's float32 values, lent like the frame it came in (held as long: the round's). */
function lentFloats(pool: ReceivePool, values: number): Float32Array | null {
  const b = pool.lend(values * 4);
  return b && new Float32Array(b.buffer, b.byteOffset, values);
}

/** Received frames of at least this many bytes are lent from the connection's pool. */
const RECEIVE_POOL_THRESHOLD = 64 * 1024;
/** Room for a sealed frame's tag and nonce over the frame limits readFrame applies to the opened frame. */
const SEAL_ROOM_BYTES = 1024;
/** A connection before its welcome sends handshake frames only. */
export const HANDSHAKE_WIRE_BYTES = maxWorkerFrameBytes(false, 0) + SEAL_ROOM_BYTES;
/** Tests set POISON_DTRAIN_RECEIVED=1: a reused receive buffer is filled with NaN first (a reader that held one too long fails). */
const POISON_RECEIVED = process.env['POISON_DTRAIN_RECEIVED'] === '1';

/** The largest frame a connection may send now, checked at each frame's header (readFrame checks the opened frame exactly). */
export function wireLimit(conn: WorkerConn, maxParams: number): number {
  const run = conn.state === 'ready' || conn.state === 'welcomed';
  return maxWorkerFrameBytes(run, maxParams) + SEAL_ROOM_BYTES;
}

/** A new connection's receive pool (`pooled` false: nothing lent), drawing on the server's shared budget. */
export function receivePool(pooled: boolean, budget: { bytes: number }): ReceivePool {
  const threshold = pooled ? RECEIVE_POOL_THRESHOLD : Number.POSITIVE_INFINITY;
  return new ReceivePool({ threshold, maxLent: 8, maxFree: 2, poison: POISON_RECEIVED, budget });
}

/** The heartbeat: a connection silent past `deadline` ms is terminated, every other one pinged. */
export function pingOrTerminate(conns: Iterable<WorkerConn>, deadline: number, log: (line: string) => void): void {
  const now = Date.now();
  for (const c of conns) {
    if (c.state === 'closed') continue;
    if (now - c.lastPong > deadline) {
      log(`worker ${c.label}: ERR_PONG_TIMEOUT: no pong for ${now - c.lastPong} ms; terminating`);
      c.ws.terminate();
      continue;
    }
    c.ws.ping();
  }
}
