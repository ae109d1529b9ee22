// The coordinator's WebSocket boundary: handshake (challenge -> hello [HMAC] -> welcome -> ready), size
// limits, validation of every frame, liveness by ping/pong with terminate(), and byte accounting.
// A bad frame closes that one connection with a code and reason; it never stops the run. A worker that
// proved itself before any run is set waits (state 'waiting') and is welcomed by the next setRun.

import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import {
  type CoordinatorMsg,
  closeCodeFor,
  closeWith,
  closeWords,
  encode,
  frameCount,
  HANDSHAKE_TIMEOUT_MS,
  HEARTBEAT_INTERVAL_MS,
  type HelloMsg,
  isTrainerError,
  LineLimiter,
  MAX_NOTE_CHARS,
  missingFrames,
  type ParseContext,
  PONG_DEADLINE_MS,
  type PooledFrame,
  PROTOCOL_VERSION,
  printable,
  RECEIVE_POOL_BYTES,
  type ReadyMsg,
  ReceivePool,
  TrainerError,
  type WorkerMsg,
} from '@dtrain/common';
import { deltaKernel } from '@dtrain/worker/quantize';
import { Admission, DEFAULT_ADMISSION } from './admission.js';
import {
  type ConnState,
  HANDSHAKE_WIRE_BYTES,
  newConn,
  pingOrTerminate,
  readFrame,
  receivePool,
  type WorkerConn,
  wireLimit,
} from './conn.js';
import { acceptHello, checkReady, handshakeDeadlines } from './handshake.js';
import { createHttpServer, openListenerWarning } from './http.js';
import type { RunWelcome, ServerEvents, ServerOptions } from './server-types.js';
import { ServerWebSocket } from './ws-conn.js';

export type { ConnState, WorkerConn } from './conn.js';
export type { ServerTls } from './http.js';
export type { RunWelcome, ServerEvents, ServerOptions } from './server-types.js';

export class CoordinatorServer extends EventEmitter<ServerEvents> {
  private http: Server | null = null;
  /** Every upgraded connection, refused and closing ones too. */
  private readonly clients = new Set<ServerWebSocket>();
  /** The bytes all connections' receive pools may still take. */
  private readonly receiveBudget = { bytes: RECEIVE_POOL_BYTES };
  /** Every TCP connection, upgraded or not, so that close() leaves none behind. */
  private readonly sockets = new Set<Socket>();
  private readonly admission: Admission<WorkerConn>;
  private readonly conns = new Map<number, WorkerConn>();
  private nextId = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  bytesIn = 0;
  bytesOut = 0;
  port = 0;
  private readonly maxParams: number;
  private welcome: RunWelcome | null = null;
  private ctx: ParseContext;
  /** Lines a peer can cause (refusals, socket errors) are rate-limited per kind. */
  private readonly lines = new LineLimiter();

  constructor(private readonly opts: ServerOptions) {
    super();
    this.maxParams = opts.maxParams;
    this.admission = new Admission(opts.admission ?? DEFAULT_ADMISSION);
    this.ctx = { paramCount: opts.maxParams, trainSize: 0, evalSize: 0 };
  }

  /**
   * Set the run (experiments and sweeps run back to back on one server): every connected worker that
   * proved itself gets the new welcome and must answer `ready` again; later arrivals get it at their hello.
   */
  setRun(welcome: RunWelcome, ctx: ParseContext): void {
    if (ctx.paramCount > this.maxParams) {
      throw new TrainerError(
        'ERR_BAD_CONFIG',
        `a run with ${ctx.paramCount} parameters cannot reuse a pool sized for ${this.maxParams}`,
        {
          hint: 'run models of different sizes in separate pools, largest first',
        },
      );
    }
    this.welcome = welcome;
    this.ctx = { ...ctx, int8: deltaKernel() };
    for (const c of this.conns.values()) {
      if (c.state === 'ready' || c.state === 'welcomed' || c.state === 'waiting') this.sendWelcome(c, welcome);
    }
  }

  /** Every received value is checked at the boundary from now on (a step's sum was not finite: see deferFinite). */
  checkEveryValue(): void {
    this.ctx = { ...this.ctx, deferFinite: false };
  }

  get valuesDeferred(): boolean {
    return !!this.ctx.deferFinite;
  }

  /**
   * Listen; resolves with the bound port (useful with port 0). The HTTP layer cuts off upgrade requests
   * whose headers are not complete within UPGRADE_HEADERS_TIMEOUT_MS (slowloris).
   */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const http = createHttpServer(this.opts.tls, this.sockets, this.opts.log);
      this.http = http;
      http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
      const where = this.opts.socketPath ?? `${this.opts.host}:${this.opts.port}`;
      http.once('error', (e) =>
        reject(
          new TrainerError('ERR_BAD_CONFIG', `cannot listen on ${where}: ${e.message}`, {
            hint: 'choose another --port (or 0 for any free port) or stop the process using it',
          }),
        ),
      );
      const listening = (): void => {
        const addr = http.address();
        this.port = typeof addr === 'object' && addr ? addr.port : 0; // 0: a Unix socket
        const closed = !!this.opts.token || !!this.opts.tls?.clientCa;
        const warning = this.opts.socketPath ? null : openListenerWarning(this.opts.host, this.port, closed);
        if (warning) this.opts.log(warning);
        resolve(this.port);
      };
      if (this.opts.socketPath) http.listen(this.opts.socketPath, listening);
      else http.listen(this.opts.port, this.opts.host, listening);
      const every = this.opts.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
      this.heartbeat = setInterval(() => this.checkLiveness(), every);
      this.heartbeat.unref();
    });
  }

  /**
   * A WebSocket upgrade: answered by ServerWebSocket (reads into reused buffers), then accepted. First, before
   * any branch: the connection reports protocol errors (bad lengths, opcodes, masks) at any time, also while we
   * refuse or close it, and an 'error' without a listener would kill the process.
   */
  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const address = socket.remoteAddress ?? (this.opts.socketPath ? 'local' : 'unknown');
    const received = receivePool(this.opts.pooledReceive ?? true, this.receiveBudget);
    const ws = ServerWebSocket.upgrade(req, socket, head, received, () => HANDSHAKE_WIRE_BYTES);
    if (!ws) return this.peerLine('refused', `refused a connection from ${address}: not a WebSocket upgrade`);
    ws.on('error', (e) => this.peerLine('socket-error', `connection from ${address}: socket error: ${e.message}`));
    this.clients.add(ws);
    ws.on('close', () => {
      this.clients.delete(ws);
      received.release();
    });
    this.accept(ws, address, received);
    ws.start();
  }

  /** A round begins: each connection's frames lent two rounds ago may be reused (ReceivePool). */
  nextRound(): void {
    for (const c of this.conns.values()) c.received.nextRound();
  }

  /** Connections that have not proved themselves, and those that have. */
  get admitted(): { pending: number; proved: number } {
    return this.admission.counts;
  }

  readyWorkers(): WorkerConn[] {
    return [...this.conns.values()].filter((c) => c.state === 'ready');
  }

  /** Send one frame; a pooled frame is held until ws has written it out (then its buffer may be reused). */
  send(conn: WorkerConn, frame: Uint8Array, pooled?: PooledFrame): void {
    if (conn.state === 'closed') return;
    const out = conn.session ? conn.session.seal(frame) : frame; // a sealed copy frees the pooled buffer at once
    if (pooled && out === frame) pooled.sendWith((done) => conn.ws.send(frame, done));
    else conn.ws.send(out);
    conn.bytesOut += out.length;
    this.bytesOut += out.length;
    if (conn.session) conn.ws.ping(frameCount(conn.session.sealed));
  }

  /** A worker's ping says how many frames it sealed: fewer arrived means one was dropped on the way. */
  private checkCount(conn: WorkerConn, count: Buffer): void {
    const missing = conn.session ? missingFrames(count, conn.sealedIn) : 0;
    if (missing === 0) return;
    this.reject(
      conn,
      new TrainerError(
        'ERR_AUTH_FAILED',
        `${missing} sealed frame(s) from this worker were lost on the way (dropped on the path?)`,
      ),
    );
  }

  sendMsg(conn: WorkerConn, msg: CoordinatorMsg): void {
    this.send(conn, encode(msg));
  }

  /** Close one connection with an error's close code and reason. */
  reject(conn: WorkerConn, err: TrainerError): void {
    if (conn.state === 'closed') return;
    this.opts.log(`worker ${conn.label}: ${err.code}: ${err.message}`);
    try {
      this.sendMsg(conn, { kind: 'reject', code: err.code, message: err.describe() });
    } catch {
      /* socket already gone */
    }
    closeWith(conn.ws, closeCodeFor(err.code), err.code);
  }

  shutdownAll(reason: string): void {
    for (const c of this.conns.values()) {
      if (c.state === 'closed') continue;
      try {
        this.sendMsg(c, { kind: 'shutdown', reason });
      } catch {
        /* ignore */
      }
      closeWith(c.ws, 1000, 'run finished');
    }
  }

  /** Close every connection, idle and half-open ones included: no socket outlives the server. */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    // Every upgraded socket, refused and closing ones too: a peer that never answers our close frame would
    // hold the shutdown for the close timeout.
    for (const ws of this.clients) ws.terminate();
    for (const socket of this.sockets) socket.destroy();
    const http = this.http;
    if (!http) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((r) => http.close(() => r()));
  }

  /** A line a peer caused: rate-limited per kind, so a flood cannot fill the log. */
  private peerLine(kind: string, line: string): void {
    const out = this.lines.pass(kind, line, performance.now());
    if (out !== null) this.opts.log(out);
  }

  private accept(ws: ServerWebSocket, address: string, received: ReceivePool): void {
    const conn = newConn(this.nextId++, ws, address, received);
    ws.limit = () => wireLimit(conn, this.maxParams);
    const arrival = this.admission.arrive(conn, address);
    if (!arrival.admit) {
      this.refuseAtDoor(ws, arrival.code, arrival.why);
      return;
    }
    if (arrival.evict)
      this.reject(
        arrival.evict,
        new TrainerError('ERR_TOO_MANY_CONNECTIONS', 'closed to make room: too many unfinished handshakes'),
      );
    this.conns.set(conn.id, conn);
    const handshakeMs = this.opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    const stopDeadlines = handshakeDeadlines(conn, handshakeMs, (err) => this.reject(conn, err));
    ws.on('pong', () => (conn.lastPong = Date.now()));
    ws.on('ping', (count: Buffer) => this.checkCount(conn, count));
    ws.on('close', (code, reason) => {
      stopDeadlines();
      const wasReady = conn.state === 'ready';
      conn.state = 'closed';
      this.conns.delete(conn.id);
      this.admission.left(conn);
      if (wasReady) this.emit('lost', conn, closeWords(code, printable(reason.toString())));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(conn, data, isBinary));
    this.sendMsg(conn, { kind: 'challenge', protocol: PROTOCOL_VERSION, nonce: conn.nonce, auth: !!this.opts.token });
  }

  /** One frame from a worker: read it (or drop it as stale), then dispatch by kind; a bad one closes that connection. */
  private onFrame(conn: WorkerConn, data: Buffer, isBinary: boolean): void {
    const t0 = performance.now();
    if (conn.session) conn.sealedIn++;
    if (conn.state !== 'challenged') {
      // a stranger's bytes are not the run's
      conn.bytesIn += data.length;
      this.bytesIn += data.length;
    }
    try {
      const msg = readFrame(conn, data, isBinary, { maxParams: this.maxParams, ctx: this.ctx, log: this.opts.log });
      if (msg) this.dispatch(conn, msg, t0);
    } catch (e) {
      const err = isTrainerError(e) ? e : new TrainerError('ERR_BAD_FRAME', String((e as Error)?.message ?? e));
      this.reject(conn, err);
    }
  }

  private dispatch(conn: WorkerConn, msg: WorkerMsg, t0: number): void {
    switch (msg.kind) {
      case 'hello':
        this.expect(conn, 'challenged', msg.kind);
        return this.onHello(conn, msg);
      case 'ready':
        this.expect(conn, 'welcomed', msg.kind);
        return this.onReady(conn, msg);
      case 'gradient':
        this.expect(conn, 'ready', msg.kind);
        return void this.emit('gradient', conn, msg, performance.now() - t0);
      case 'evalResult':
        this.expect(conn, 'ready', msg.kind);
        return void this.emit('evalResult', conn, msg);
      case 'diverged':
        this.expect(conn, 'ready', msg.kind);
        return void this.emit('diverged', conn, msg);
      case 'fail': // only from a worker that proved itself; its words are escaped and rate-limited
        if (conn.state === 'challenged')
          throw new TrainerError('ERR_UNEXPECTED_MESSAGE', '"fail" before the handshake');
        this.peerLine('worker-fail', `worker ${printable(conn.label)} reported ${msg.code}: ${printable(msg.message)}`);
        if (conn.state === 'ready') this.emit('failed', conn, msg);
        return closeWith(conn.ws, 1000, 'worker failed');
      case 'meshReady':
      case 'part':
      case 'slice':
        this.expect(conn, 'ready', msg.kind);
        return void this.emit('mesh', conn, msg);
      case 'note': // a relay naming its late or lost local worker; escaped and rate-limited
        this.expect(conn, 'ready', msg.kind);
        return this.peerLine('relay-note', `${printable(conn.label)}: ${printable(msg.text, MAX_NOTE_CHARS)}`);
      default: {
        const never: never = msg;
        throw new TrainerError('ERR_UNKNOWN_KIND', `unhandled ${(never as { kind: string }).kind}`);
      }
    }
  }

  /** The worker built the run's model and data: both fingerprints must be the run's. */
  private onReady(conn: WorkerConn, msg: ReadyMsg): void {
    checkReady(msg, this.welcome!);
    conn.state = 'ready';
    conn.served = true;
    this.emit('ready', conn);
  }

  /** Refuse a connection before it is registered: say why in a reject message and the close code, then close. */
  private refuseAtDoor(ws: ServerWebSocket, code: 'ERR_TOO_MANY_WORKERS', why: string): void {
    this.peerLine('refused', `refused a connection: ${code}: ${why}`);
    try {
      ws.send(encode({ kind: 'reject', code, message: `${why}; retrying later may succeed` }));
    } catch {
      /* already gone */
    }
    closeWith(ws, 1013, code);
  }

  private expect(conn: WorkerConn, state: ConnState, kind: string): void {
    if (conn.state !== state) {
      throw new TrainerError('ERR_UNEXPECTED_MESSAGE', `"${kind}" is not allowed in state ${conn.state}`);
    }
  }

  private onHello(conn: WorkerConn, hello: HelloMsg): void {
    conn.session = acceptHello(hello, conn.nonce, this.opts.token);
    conn.hello = hello;
    conn.label = printable(`${hello.name}@${hello.host}#${conn.id}`, 200);
    this.admission.proven(conn);
    conn.state = 'waiting';
    if (this.welcome) this.sendWelcome(conn, this.welcome);
  }

  private sendWelcome(conn: WorkerConn, welcome: RunWelcome): void {
    conn.state = 'welcomed';
    this.sendMsg(conn, { kind: 'welcome', workerId: conn.id, ...welcome });
  }

  private checkLiveness(): void {
    pingOrTerminate(this.conns.values(), this.opts.pongDeadlineMs ?? PONG_DEADLINE_MS, this.opts.log);
  }
}
