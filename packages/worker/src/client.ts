// The worker's connection: ws client with exponential-backoff reconnect, the handshake (challenge ->
// hello -> welcome -> ready), frame validation, and dispatch to the WorkerTrainer.

import { hostname } from 'node:os';
import WebSocket from 'ws';
import { allFinite, HEARTBEAT_INTERVAL_MS, PONG_DEADLINE_MS, decode, encode, encodeGradient, finishTensorFrame, GradientCompressor, floatPayload, FramePool, tensorFrameCapacity, HANDSHAKE_TIMEOUT_MS, isTrainerError, MAX_HANDSHAKE_BYTES, MAX_CLIENT_FRAME_BYTES, maxCoordinatorFrameBytes, parseCoordinatorMsg, PROTOCOL_VERSION, answerChallenge, type SessionCipher, printable, RECONNECT_INITIAL_MS, RECONNECT_MAX_MS, TrainerError, closeCodeFor, closeWith, type AssignMsg, type ChallengeMsg, type CoordinatorMsg, type RejectMsg, type WeightsMsg, type WelcomeMsg, type DatasetSpec, type ParseContext, type WorkerMsg } from '@dtrain/common';
import { type DataLocation } from '@dtrain/common/files';
import type { BackendInfo } from './backend.js';
import { WorkerTrainer } from './trainer.js';

export interface WorkerOptions {
  url: string;
  token: string | undefined;
  name: string;
  backend: BackendInfo;
  /** Give up after this long without a connection (0: never). */
  giveUpMs: number;
  /** How often a worker that cannot connect says so again (default 30 s). */
  stillWaitingEveryMs?: number;
  /** For wss://: the CA that signed the coordinator's certificate, and a client certificate if it asks for one. */
  tls?: ClientTls;
  /** Makes the dataset available on this machine (e.g. fetches CIFAR-10) and says where it is. */
  prepareData?: (spec: DatasetSpec) => Promise<DataLocation>;
  log: (line: string) => void;
  /** Problems (lost or refused connections, bad frames): printed even when `log` is quiet (default: log). */
  warn?: (line: string) => void;
  /** A connection silent this long (no ping, no frame) is dropped and retried (default: heartbeat + pong deadline, 30 s). */
  silenceMs?: number;
  /** Backoff between dials: first and longest wait (default RECONNECT_INITIAL_MS, RECONNECT_MAX_MS). */
  retryMs?: { initial: number; max: number };
}

export interface WorkerResult {
  /** Why the worker stopped: the coordinator's shutdown reason or a rejection. */
  reason: string;
  ok: boolean;
  steps: number;
  /** A refusal that retrying cannot fix (wrong or missing token, another protocol version): a configuration error. */
  permanent?: boolean;
}

/** Refusals of our hello that no retry can fix. The coordinator cannot seal them for us (it holds no session key we share). */
const PERMANENT_REFUSALS: ReadonlySet<string> = new Set(['ERR_AUTH_FAILED', 'ERR_PROTOCOL_VERSION']);

/** PEM contents for wss:// connections. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** TLS verification failures, told apart from "no coordinator" so a person sees what to fix. */
const TLS_ERROR = /certificate|self[- ]signed|altname|CERT_|SSL|TLS/i;

/** A connection error in words; certificate problems say so and how to fix them. */
export function describeConnectError(e: Error & { code?: string }): string {
  const text = `${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ''}`;
  if (!TLS_ERROR.test(`${e.code ?? ''} ${e.message}`)) return text;
  return `TLS: the coordinator's certificate was not accepted: ${text}; pass --tls-ca with the CA that signed it (and check the host name in --connect)`;
}

/** A worker that keeps failing to connect says so again this often. */
const STILL_WAITING_EVERY_MS = 30_000;

/** More assignments than this waiting for weights is a coordinator bug: the next one fails as stale. */
const MAX_EARLY_ASSIGNMENTS = 16;

/** An all-zero mask: ws then skips the per-byte JS masking of client frames (loopback/LAN between our own processes). */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class WorkerClient {
  private ws: WebSocket | null = null;
  private trainer: WorkerTrainer | null = null;
  /** Gradient compression for the current run (its error-feedback residual lives here). */
  private compressor = new GradientCompressor('fp32');
  private ctx: ParseContext = { paramCount: 0, trainSize: 0, evalSize: 0 };
  private steps = 0;
  /** Reused gradient frames: the gradient is computed straight into one (no per-step 490 KB buffer). */
  private gradFrames = new FramePool(0);
  private stopped = false;
  private finish: ((r: WorkerResult) => void) | null = null;
  /** Assignments that arrived ahead of their weights version. */
  private early: { msg: AssignMsg; at: number }[] = [];
  /** This connection's sealed session (with a token), from our hello on. */
  private session: SessionCipher | null = null;
  /** The last reason a connection failed before its welcome (logged when it changes, and every 30 s). */
  private lastRefusal = '';
  private waitingSince = 0;
  private lastReport = 0;

  private readonly warn: (line: string) => void;

  constructor(private readonly opts: WorkerOptions) {
    this.warn = opts.warn ?? opts.log;
  }

  /** Connect (retrying with backoff) and serve until the coordinator shuts us down or rejects us. */
  run(): Promise<WorkerResult> {
    return new Promise((resolve) => {
      this.finish = resolve;
      void this.connectLoop();
    });
  }

  /** Stop serving (Ctrl-C). */
  stop(reason: string): void {
    this.end({ reason, ok: true, steps: this.steps });
    if (this.ws) closeWith(this.ws, 1001, 'worker stopping');
  }

  private end(r: WorkerResult): void {
    if (this.stopped) return;
    this.stopped = true;
    this.trainer?.dispose();
    this.finish?.(r);
  }

  private async connectLoop(): Promise<void> {
    const { initial, max } = this.opts.retryMs ?? { initial: RECONNECT_INITIAL_MS, max: RECONNECT_MAX_MS };
    let delay = initial;
    let downSince = Date.now();
    while (!this.stopped) {
      const connected = await this.connectOnce();
      if (this.stopped) return;
      if (connected) {
        delay = initial;
        downSince = Date.now();
      }
      if (this.opts.giveUpMs > 0 && Date.now() - downSince > this.opts.giveUpMs) {
        this.end({ reason: `no coordinator at ${this.opts.url} for ${Math.round(this.opts.giveUpMs / 1000)}s`, ok: false, steps: this.steps });
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(max, delay * 2);
    }
  }

  /** One connection's life; resolves true if the handshake completed before it closed. */
  private connectOnce(): Promise<boolean> {
    return new Promise((resolve) => {
      let welcomed = false;
      this.session = null;
      const ws = new WebSocket(this.opts.url, {
        maxPayload: MAX_CLIENT_FRAME_BYTES,
        perMessageDeflate: false,
        generateMask: zeroMask,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        ...this.opts.tls,
      });
      this.ws = ws;
      ws.binaryType = 'nodebuffer';
      let failure = '';
      const watchdog = this.watchCoordinator(ws);
      ws.on('error', (e) => (failure = describeConnectError(e))); // 'close' follows and drives the retry
      ws.on('close', (code, reason) => {
        clearInterval(watchdog);
        this.ws = null;
        if (!this.stopped) this.reportClose(welcomed, code, reason.toString() || failure);
        resolve(welcomed);
      });
      // Messages are handled strictly in order; a handler may await (the welcome may fetch data).
      let chain: Promise<void> = Promise.resolve();
      ws.on('message', (data: Buffer) => {
        chain = chain.then(async () => {
          if (this.stopped) return;
          try {
            const frame = this.openFrame(data, welcomed); // a coordinator without the token fails here
            const msg = parseCoordinatorMsg(decode(frame, maxCoordinatorFrameBytes(this.ctx.paramCount, this.ctx.trainSize)), this.ctx);
            if (msg.kind === 'welcome') welcomed = true;
            await this.handle(ws, msg);
          } catch (e) {
            this.refuse(ws, e);
          }
        }).catch(() => undefined); // refuse() does not throw; a frame must never reject the chain
      });
    });
  }

  /**
   * A frame of this connection's session. Before the welcome, a plaintext refusal of our hello (a wrong
   * token or protocol version) is read as such: the coordinator could not seal it for us.
   */
  private openFrame(data: Buffer, welcomed: boolean): Uint8Array {
    if (!this.session) return data;
    try {
      return this.session.open(data);
    } catch (e) {
      if (!welcomed && isPermanentRefusal(data)) return data;
      throw e;
    }
  }

  /**
   * A coordinator pings every HEARTBEAT_INTERVAL_MS. One silent for longer than that plus the pong
   * deadline is behind a cut link (TCP would not notice for minutes): drop the connection and reconnect,
   * which a healed link then completes at once.
   */
  private watchCoordinator(ws: WebSocket): NodeJS.Timeout {
    const silentMs = this.opts.silenceMs ?? HEARTBEAT_INTERVAL_MS + PONG_DEADLINE_MS;
    let heard = Date.now();
    const hear = (): void => void (heard = Date.now());
    ws.on('ping', hear).on('message', hear).on('open', hear);
    const timer = setInterval(() => {
      if (Date.now() - heard <= silentMs || ws.readyState !== WebSocket.OPEN) return;
      this.opts.warn?.(`no word from the coordinator for ${Math.round((Date.now() - heard) / 1000)} s; reconnecting`);
      ws.terminate();
    }, Math.min(1000, silentMs / 2));
    timer.unref();
    return timer;
  }

  /**
   * Say why a connection ended: after a welcome, every time; before one (no coordinator yet, or the
   * coordinator refused us), the first time and then when the reason changes, so a locked-out worker is
   * never silent and a waiting one does not flood the log.
   */
  private reportClose(welcomed: boolean, code: number, reason: string): void {
    if (welcomed) {
      this.warn(`connection closed (${code} ${reason || 'no reason'}); reconnecting`);
      this.lastRefusal = '';
      return;
    }
    const why = reason.startsWith('TLS:') ? reason
      : code === 1006 ? `no coordinator at ${this.opts.url} (${reason || 'connection failed'})` : `the coordinator refused the connection (${code} ${reason || 'no reason'})`;
    const now = Date.now();
    if (why !== this.lastRefusal) {
      this.warn(`${why}; retrying (every ${RECONNECT_MAX_MS / 1000} s at most)`);
      this.waitingSince = now;
      this.lastReport = now;
    } else if (now - this.lastReport >= (this.opts.stillWaitingEveryMs ?? STILL_WAITING_EVERY_MS)) {
      this.warn(`still waiting (${Math.round((now - this.waitingSince) / 1000)} s): ${why}`);
      this.lastReport = now;
    }
    this.lastRefusal = why;
  }

  /** Report a bad frame (or a failed step) to the coordinator and close this connection; never throws. */
  private refuse(ws: WebSocket, e: unknown): void {
    const err = isTrainerError(e) ? e : new TrainerError('ERR_BAD_FRAME', String((e as Error | undefined)?.message ?? e));
    this.warn(`error: ${err.code}: ${err.describe()}`);
    try {
      this.send(ws, { kind: 'fail', code: err.code, message: err.describe().slice(0, 3000) });
    } catch {
      /* the socket is already failing */
    }
    closeWith(ws, closeCodeFor(err.code), err.code);
  }

  private send(ws: WebSocket, msg: WorkerMsg): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    const frame = encode(msg);
    ws.send(this.session ? this.session.seal(frame) : frame);
  }

  /** Dispatch one validated message to its handler. */
  private async handle(ws: WebSocket, msg: CoordinatorMsg): Promise<void> {
    switch (msg.kind) {
      case 'challenge': return this.onChallenge(ws, msg);
      case 'welcome': return this.onWelcome(ws, msg);
      case 'reject': return this.onReject(msg);
      case 'weights': return this.onWeights(ws, msg);
      case 'assign': return this.onAssign(ws, msg);
      case 'evaluate': return this.send(ws, this.requireTrainer().evaluate(msg));
      case 'shutdown':
        this.end({ reason: msg.reason, ok: true, steps: this.steps });
        return closeWith(ws, 1000, 'bye');
      default: {
        const never: never = msg;
        throw new TrainerError('ERR_UNKNOWN_KIND', `unhandled ${(never as { kind: string }).kind}`);
      }
    }
  }

  /** A refusal for lack of room is temporary (the connection closes and we retry); any other ends the worker. */
  private onReject(msg: RejectMsg): void {
    if (msg.code === 'ERR_TOO_MANY_CONNECTIONS' || msg.code === 'ERR_TOO_MANY_WORKERS') {
      this.warn(`locked out for now: ${msg.code}: ${printable(msg.message)}`);
      return;
    }
    if (msg.code === 'ERR_AUTH_FAILED') {
      const reason = `the coordinator at ${this.opts.url} refused our token (ERR_AUTH_FAILED): this worker's token is not the coordinator's; `
        + 'pass the coordinator\'s --token, --token-file or DTRAIN_TOKEN';
      return this.end({ reason, ok: false, steps: this.steps, permanent: true });
    }
    const permanent = PERMANENT_REFUSALS.has(msg.code);
    this.end({ reason: `rejected by coordinator: ${msg.code}: ${printable(msg.message, 1000)}`, ok: false, steps: this.steps, ...(permanent ? { permanent } : {}) });
  }

  /** Prove the token (if the coordinator asks for one) and say who we are. */
  private onChallenge(ws: WebSocket, msg: ChallengeMsg): void {
    if (msg.protocol !== PROTOCOL_VERSION) {
      const reason = `the coordinator speaks protocol ${msg.protocol}, this worker ${PROTOCOL_VERSION}: run the same dtrain version on both`;
      this.end({ reason: `ERR_PROTOCOL_VERSION: ${reason}`, ok: false, steps: this.steps, permanent: true });
      closeWith(ws, 1008, 'ERR_PROTOCOL_VERSION');
      return;
    }
    if (msg.auth && !this.opts.token) {
      this.end({ reason: 'the coordinator requires a token: pass --token or set DTRAIN_TOKEN', ok: false, steps: this.steps, permanent: true });
      closeWith(ws, 1008, 'no token');
      return;
    }
    const b = this.opts.backend;
    const { hello, session } = answerChallenge(msg, this.opts.token, {
      name: this.opts.name, host: hostname(), pid: process.pid, backend: b.name, backendReason: b.reason.slice(0, 1900),
    });
    this.send(ws, hello);
    // From here on every frame both ways is sealed: only a coordinator holding the token can answer.
    this.session = session;
  }

  /** A run: build its model and data, check the model's fingerprint, say ready. */
  private async onWelcome(ws: WebSocket, msg: WelcomeMsg): Promise<void> {
    const t0 = performance.now();
    this.trainer?.dispose();
    this.early = [];
    const loc = this.opts.prepareData ? await this.opts.prepareData(msg.dataset) : {};
    this.trainer = new WorkerTrainer(msg, loc);
    this.compressor = new GradientCompressor(msg.gradWire ?? 'fp32');
    const fp = this.trainer.modelFingerprint;
    if (fp !== msg.modelFingerprint) {
      throw new TrainerError('ERR_MODEL_MISMATCH', `model ${msg.model}: coordinator fingerprint ${msg.modelFingerprint}, ours ${fp}`, {
        hint: 'run the same dtrain version on the coordinator and the workers',
      });
    }
    const ds = this.trainer.dataset;
    this.gradFrames = new FramePool(tensorFrameCapacity(this.trainer.net.paramCount));
    this.ctx = { paramCount: this.trainer.net.paramCount, trainSize: ds.size('train'), evalSize: Math.max(ds.size('val'), ds.size('test')) };
    this.opts.log(`joined run ${msg.runId} as worker ${msg.workerId}; model ${msg.model}, dataset ${msg.dataset.name} ready in ${(performance.now() - t0).toFixed(0)} ms`);
    this.send(ws, { kind: 'ready', modelFingerprint: fp, datasetFingerprint: ds.fingerprint });
  }

  /** New weights: run the assignments that were waiting for them. */
  private onWeights(ws: WebSocket, msg: WeightsMsg): void {
    this.requireTrainer().setWeights(msg.version, msg.data);
    const now = performance.now();
    for (const a of this.early.splice(0)) this.compute(ws, a.msg, now - a.at);
  }

  /** The coordinator sends a step's assignments before the weights they need: hold those until then. */
  private onAssign(ws: WebSocket, msg: AssignMsg): void {
    const trainer = this.requireTrainer();
    if (msg.version > trainer.version && this.early.length < MAX_EARLY_ASSIGNMENTS) {
      if (this.early.push({ msg, at: performance.now() }) === 1) trainer.prepare(msg); // its batch is ready when the weights come
    } else {
      this.compute(ws, msg);
    }
  }

  /** Compute an assignment's gradient straight into a pooled frame and send it. */
  private compute(ws: WebSocket, msg: AssignMsg, fetchMs = 0): void {
    const trainer = this.requireTrainer();
    const pooled = this.gradFrames.take();
    try {
      const { grad, ...fields } = trainer.computeGradient(msg, floatPayload(pooled.buffer, trainer.net.paramCount));
      this.steps++;
      const what = !Number.isFinite(fields.lossSum) ? 'loss' : !allFinite(grad) ? 'gradient' : null;
      if (what) { // training diverged: say so, never send non-finite numbers (the coordinator refuses those)
        this.send(ws, { kind: 'diverged', step: msg.step, version: msg.version, shardId: msg.shardId, what });
        return;
      }
      const frame = this.compressor.wire === 'fp32'
        ? finishTensorFrame(pooled.buffer, { ...fields, fetchMs }, grad.length)
        : encodeGradient({ ...fields, fetchMs }, this.compressor.compress(grad)); // error feedback kept here
      if (ws.readyState !== WebSocket.OPEN) return;
      if (this.session) ws.send(this.session.seal(frame)); // a sealed copy: the pooled buffer is free at once
      else pooled.sendWith((done) => ws.send(frame, done));
    } finally {
      pooled.release();
    }
  }

  private requireTrainer(): WorkerTrainer {
    if (!this.trainer) throw new TrainerError('ERR_UNEXPECTED_MESSAGE', 'work arrived before the welcome');
    return this.trainer;
  }
}

/** A plaintext `reject` of a kind no retry can fix (see PERMANENT_REFUSALS); anything else is not. */
function isPermanentRefusal(data: Buffer): boolean {
  try {
    const msg = parseCoordinatorMsg(decode(data, MAX_HANDSHAKE_BYTES), { paramCount: 0, trainSize: 0, evalSize: 0 });
    return msg.kind === 'reject' && PERMANENT_REFUSALS.has(msg.code);
  } catch {
    return false;
  }
}
