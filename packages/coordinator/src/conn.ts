// One worker's connection as the server sees it (state, proof, session, byte counts), and how a frame
// from it is read: opened (session), size-checked for its state, put together from pieces (a large
// gradient, into a lent receive buffer), decoded and validated.

import { randomBytes } from 'node:crypto';
import {
  CHUNK_MAGIC,
  ChunkAssembler,
  decode,
  type HelloMsg,
  maxWorkerFrameBytes,
  type ParseContext,
  parseWorkerMsg,
  type ReceiveBuffers,
  type SessionCipher,
  TrainerError,
  type WorkerMsg,
} from '@dtrain/common';
import type { WebSocket } from 'ws';

export type ConnState = 'challenged' | 'waiting' | 'welcomed' | 'ready' | 'closed';

export interface WorkerConn {
  id: number;
  ws: WebSocket;
  state: ConnState;
  nonce: string;
  hello: HelloMsg | null;
  lastPong: number;
  bytesIn: number;
  bytesOut: number;
  /** Label for logs and metrics: name@host#id. */
  label: string;
  /** With a token: seals every frame after the worker's proof (session.ts). */
  session: SessionCipher | null;
  /** Was ready for some run (its late results may still arrive after the next welcome). */
  served: boolean;
  /** Sealed frames that arrived (checked against the worker's pings: missingFrames). */
  sealedIn: number;
  /** A frame arriving in pieces (chunks.ts), or null. */
  chunks: ChunkAssembler | null;
}

const RESULT_KINDS: ReadonlySet<unknown> = new Set(['gradient', 'evalResult', 'diverged']);

/** A decoded frame that claims to be a result (checked no further: it is dropped). */
function isResult(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && RESULT_KINDS.has((raw as { kind?: unknown }).kind);
}

/** A connection that was just accepted: challenged with a fresh nonce. */
export function newConn(id: number, ws: WebSocket, address: string): WorkerConn {
  const nonce = randomBytes(24).toString('hex');
  const counts = { lastPong: Date.now(), bytesIn: 0, bytesOut: 0, sealedIn: 0 };
  return {
    id,
    ws,
    state: 'challenged',
    nonce,
    hello: null,
    label: `#${id}@${address}`,
    session: null,
    served: false,
    chunks: null,
    ...counts,
  };
}

/** What a frame is checked against: the pool's largest model, the current run's bounds; where pieces are put together. */
export interface FrameBounds {
  maxParams: number;
  ctx: ParseContext;
  log: (line: string) => void;
  buffers: ReceiveBuffers;
}

/** A frame read: its message and, for a gradient put together from pieces, how to give its buffer back. */
export interface Received {
  msg: WorkerMsg;
  release: (() => void) | null;
}

/**
 * Open (session), size-check, put together (pieces of a large frame, only from a ready worker), decode and
 * validate a frame; null while pieces are still coming, and for a late result of the previous run.
 */
export function readFrame(conn: WorkerConn, data: Buffer, isBinary: boolean, b: FrameBounds): Received | null {
  if (!isBinary) throw new TrainerError('ERR_BAD_FRAME', 'text frames are not part of the protocol');
  const frame = conn.session ? conn.session.open(data) : data;
  // A worker welcomed to the next run may still deliver results of the last one: stale, not hostile.
  const between = conn.state === 'welcomed' && conn.served;
  const limit = maxWorkerFrameBytes(conn.state === 'ready' || between, between ? b.maxParams : b.ctx.paramCount);
  let whole: Uint8Array = frame;
  let release: (() => void) | null = null;
  if (frame.length > 0 && frame[0] === CHUNK_MAGIC) {
    if (conn.state !== 'ready' && !between)
      throw new TrainerError('ERR_UNEXPECTED_MESSAGE', 'a frame in pieces before the worker is ready');
    if (!conn.chunks?.busy) conn.chunks = new ChunkAssembler(limit);
    const done = conn.chunks.add(frame, (n) => b.buffers.take(n));
    if (!done) return null;
    [whole, release] = [done, b.buffers.lease(done)];
  } else if (conn.chunks?.busy) {
    throw new TrainerError('ERR_BAD_FRAME', 'a frame arrived in the middle of a frame in pieces');
  }
  try {
    const raw = decode(whole, limit);
    if (between && isResult(raw)) {
      b.log(`worker ${conn.label}: a result of the previous run arrived after the next run's welcome; dropped`);
      release?.();
      return null;
    }
    const msg = parseWorkerMsg(raw, b.ctx);
    if (msg.kind === 'gradient') return { msg, release };
    release?.();
    return { msg, release: null };
  } catch (e) {
    release?.();
    throw e;
  }
}
