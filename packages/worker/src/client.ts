// The worker's connection: ws client with exponential-backoff reconnect, the handshake (challenge ->
// hello -> welcome -> ready), frame validation, and dispatch to the WorkerTrainer.

import { hostname } from 'node:os';
import {
  type AssignMsg,
  answerChallenge,
  type ChallengeMsg,
  type CoordinatorMsg,
  closeCodeFor,
  closeWith,
  decode,
  encode,
  FramePool,
  frameCount,
  GradientCompressor,
  HANDSHAKE_TIMEOUT_MS,
  HEARTBEAT_INTERVAL_MS,
  HeldView,
  isTrainerError,
  maxCoordinatorFrameBytes,
  missingFrames,
  type ParseContext,
  PONG_DEADLINE_MS,
  parseCoordinatorMsg,
  RECONNECT_INITIAL_MS,
  RECONNECT_MAX_MS,
  type RejectMsg,
  receiveWeights,
  type SessionCipher,
  TrainerError,
  tensorFrameCapacity,
  type WeightsDeltaMsg,
  type WeightsMsg,
  type WelcomeMsg,
  type WorkerMsg,
} from '@dtrain/common';
import WebSocket from 'ws';
import type { WorkerOptions, WorkerResult } from './client-options.js';
import { HANDSHAKE_PAYLOAD_BYTES, setMaxPayload } from './frame-limit.js';
import { computing, gradientFrame } from './gradient-frame.js';
import { joinRun, runDataLocation, welcomedBounds } from './join.js';
import { runWires } from './quantize-kernel.js';
import { CloseReporter, describeConnectError, isPlainRefusal, RefusalJudge, unanswerableChallenge } from './refusal.js';
import type { WorkerTrainer } from './trainer.js';
import { watchCoordinator } from './watchdog.js';

export type { ClientTls, WorkerOptions, WorkerResult } from './client-options.js';

/**
 * A coordinator that neither welcomes nor gives work this long is gone, whatever it answers to pings: past
 * the longest a real one keeps workers waiting (its --wait-timeout, 600 s by default, then it ends the run).
 */
const IDLE_DEADLINE_MS = 15 * 60_000;

/** More assignments waiting for weights (a step gives a worker ~2 log2(groups) nodes at most) fail as stale. */
const MAX_EARLY_ASSIGNMENTS = 64;

/** Open a connection with the handshake's frame limit (raised at the welcome: frame-limit.ts). */
function dial(url: string, tls: WorkerOptions['tls']): WebSocket {
  const limits = { maxPayload: HANDSHAKE_PAYLOAD_BYTES, handshakeTimeout: HANDSHAKE_TIMEOUT_MS };
  return new WebSocket(url, { ...limits, perMessageDeflate: false, generateMask: zeroMask, ...tls });
}

/** An all-zero mask: ws then skips the per-byte JS masking of client frames (loopback/LAN between our own processes). */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class WorkerClient {
  private ws: WebSocket | null = null;
  private trainer: WorkerTrainer | null = null;
  /** Gradient compression for the current run (its error-feedback residual lives here). */
  private compressor = new GradientCompressor('fp32');
  /** The weights' view under a compressed weight wire (weight-delta.ts); null: fp32 weights. */
  private held: HeldView | null = null;
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
  /** When this connection's coordinator last welcomed us or sent work (pings alone keep no worker). */
  private lastWork = 0;
  /** This connection was dropped for idleness: its coordinator counts as gone since its last work, not since the drop. */
  private wentIdle = false;
  /** Reads refusals, a refused token believed only on several connections in a row. */
  private readonly refusals: RefusalJudge;
  /** This connection's hello is out (a permanent refusal is believed only after it). */
  private helloSent = false;
  /** Sealed frames that arrived on this connection (checked against the coordinator's pings: missingFrames). */
  private sealedIn = 0;
  /** Says why connections ended, without flooding the log. */
  private readonly closes: CloseReporter;

  private readonly warn: (line: string) => void;

  constructor(private readonly opts: WorkerOptions) {
    this.warn = opts.warn ?? opts.log;
    this.closes = new CloseReporter(opts.url, this.warn, opts.stillWaitingEveryMs);
    this.refusals = new RefusalJudge(opts.url);
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
      const usefulAt = await this.connectOnce();
      if (this.stopped) return;
      if (usefulAt !== null) {
        // a coordinator was there until then (one that went idle counts as gone since its last work)
        delay = initial;
        downSince = usefulAt;
      }
      if (this.opts.giveUpMs > 0 && Date.now() - downSince > this.opts.giveUpMs) {
        this.end({
          reason: `no coordinator at ${this.opts.url} for ${Math.round(this.opts.giveUpMs / 1000)}s`,
          ok: false,
          steps: this.steps,
        });
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(max, delay * 2);
    }
  }

  /**
   * One connection's life; resolves with when a coordinator that welcomed us was last there: the close, or,
   * for a connection dropped for idleness, its last welcome or work (null: it never welcomed us).
   */
  private connectOnce(): Promise<number | null> {
    return new Promise((resolve) => {
      let welcomed = false;
      this.lastWork = Date.now();
      this.wentIdle = false;
      this.session = null;
      this.helloSent = false;
      this.sealedIn = 0;
      const ws = dial(this.opts.url, this.opts.tls);
      this.ws = ws;
      ws.binaryType = 'nodebuffer';
      let failure = '';
      const watchdog = watchCoordinator(ws, {
        silenceMs: this.opts.silenceMs ?? HEARTBEAT_INTERVAL_MS + PONG_DEADLINE_MS,
        idleMs: this.opts.idleMs ?? IDLE_DEADLINE_MS,
        lastWork: () => this.lastWork,
        gone: (idle, line) => {
          this.wentIdle = idle;
          this.warn(line);
        },
      });
      ws.on('error', (e) => (failure = describeConnectError(e))); // 'close' follows and drives the retry
      ws.on('close', (code, reason) => {
        clearInterval(watchdog);
        this.ws = null;
        if (!this.stopped) this.closes.report(welcomed, code, reason.toString() || failure);
        resolve(!welcomed ? null : this.wentIdle ? this.lastWork : Date.now());
      });
      // Messages are handled strictly in order; a handler may await (the welcome may fetch data).
      let chain: Promise<void> = Promise.resolve();
      ws.on('ping', (count: Buffer) => this.checkCount(ws, count));
      ws.on('message', (data: Buffer) => {
        if (this.session) this.sealedIn++; // counted on arrival: the handlers below run later
        chain = chain
          .then(async () => {
            if (this.stopped) return;
            try {
              const frame = this.openFrame(data, welcomed); // a coordinator without the token fails here
              const msg = parseCoordinatorMsg(
                decode(frame, maxCoordinatorFrameBytes(this.ctx.paramCount, this.ctx.trainSize)),
                this.ctx,
              );
              if (msg.kind === 'welcome') {
                welcomed = true;
                this.refusals.welcomed();
              }
              await this.handle(ws, msg);
            } catch (e) {
              this.refuse(ws, e);
            }
          })
          .catch(() => undefined); // refuse() does not throw; a frame must never reject the chain
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
      if (!welcomed && isPlainRefusal(data)) return data;
      throw e;
    }
  }

  /** A coordinator's ping says how many frames it sealed: fewer arrived means one was dropped on the way. */
  private checkCount(ws: WebSocket, count: Buffer): void {
    const missing = this.session ? missingFrames(count, this.sealedIn) : 0;
    if (missing === 0) return;
    this.refuse(
      ws,
      new TrainerError(
        'ERR_AUTH_FAILED',
        `${missing} sealed frame(s) from the coordinator were lost on the way (dropped on the path?); reconnecting`,
      ),
    );
  }

  /** Send a sealed frame, then the ping that says how many we sealed. */
  private sendSealed(ws: WebSocket, session: SessionCipher, frame: Uint8Array): void {
    ws.send(session.seal(frame));
    ws.ping(frameCount(session.sealed));
  }

  /** Report a bad frame (or a failed step) to the coordinator and close this connection; never throws. */
  private refuse(ws: WebSocket, e: unknown): void {
    const err = isTrainerError(e)
      ? e
      : new TrainerError('ERR_BAD_FRAME', String((e as Error | undefined)?.message ?? e));
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
    if (this.session) this.sendSealed(ws, this.session, frame);
    else ws.send(frame);
  }

  /** Dispatch one validated message to its handler. */
  private async handle(ws: WebSocket, msg: CoordinatorMsg): Promise<void> {
    if (msg.kind !== 'challenge' && msg.kind !== 'reject' && msg.kind !== 'shutdown') this.lastWork = Date.now();
    switch (msg.kind) {
      case 'challenge':
        return this.onChallenge(ws, msg);
      case 'welcome':
        return this.onWelcome(ws, msg);
      case 'reject':
        return this.onReject(ws, msg);
      case 'weights':
      case 'weightsDelta':
        return this.onWeights(ws, msg);
      case 'assign':
        return this.onAssign(ws, msg);
      case 'evaluate':
        return this.send(
          ws,
          computing(() => this.requireTrainer().evaluate(msg)),
        );
      case 'shutdown':
        this.end({ reason: msg.reason, ok: true, steps: this.steps });
        return closeWith(ws, 1000, 'bye');
      case 'mesh':
        throw new TrainerError('ERR_UNEXPECTED_MESSAGE', 'a mesh of host servers was offered to a worker');
      default: {
        const never: never = msg;
        throw new TrainerError('ERR_UNKNOWN_KIND', `unhandled ${(never as { kind: string }).kind}`);
      }
    }
  }

  /** No room: the connection closes and we retry; a configuration error ends the worker (exit 2); any other costs a reconnect (RefusalJudge). */
  private onReject(ws: WebSocket, msg: RejectMsg): void {
    const verdict = this.refusals.judge(msg, this.session !== null || this.helloSent);
    if (verdict.kind === 'permanent')
      return this.end({ reason: verdict.reason, ok: false, steps: this.steps, permanent: true });
    if (verdict.kind === 'reconnect' && verdict.doubted) this.opts.log(verdict.line);
    else this.warn(verdict.line);
    if (verdict.kind === 'reconnect') closeWith(ws, 1000, 'refused');
  }

  /** Prove the token (if the coordinator asks for one) and say who we are. */
  private onChallenge(ws: WebSocket, msg: ChallengeMsg): void {
    const refused = unanswerableChallenge(msg, !!this.opts.token);
    if (refused) {
      this.end({ reason: refused.reason, ok: false, steps: this.steps, permanent: true });
      return closeWith(ws, 1008, refused.close);
    }
    const b = this.opts.backend;
    const { hello, session } = answerChallenge(msg, this.opts.token, {
      name: this.opts.name,
      host: hostname(),
      pid: process.pid,
      backend: b.name,
      backendReason: b.reason.slice(0, 1900),
    });
    this.send(ws, hello);
    this.helloSent = true;
    // From here on every frame both ways is sealed: only a coordinator holding the token can answer.
    this.session = session;
  }

  /** A run: build its model and data, check the model's fingerprint, say ready. */
  private async onWelcome(ws: WebSocket, msg: WelcomeMsg): Promise<void> {
    const t0 = performance.now();
    this.trainer?.dispose();
    this.early = [];
    const loc = await runDataLocation(this.opts.prepareData, msg.dataset);
    if (loc instanceof TrainerError) {
      ws.close(1000, 'this worker cannot load the run dataset');
      return this.end({ reason: loc.describe(), ok: false, steps: this.steps, permanent: true });
    }
    this.trainer = joinRun(msg, loc, this.opts.maxShard);
    ({ compressor: this.compressor, held: this.held } = runWires(msg));
    this.gradFrames = new FramePool(tensorFrameCapacity(this.trainer.net.paramCount));
    this.ctx = welcomedBounds(this.trainer, msg, this.opts.maxShard);
    if (!setMaxPayload(ws, maxCoordinatorFrameBytes(this.ctx.paramCount, this.ctx.trainSize))) {
      throw new TrainerError('ERR_BAD_FRAME', 'this ws has no frame limit to raise');
    }
    const ms = (performance.now() - t0).toFixed(0);
    this.opts.log(
      `joined run ${msg.runId} as worker ${msg.workerId}; model ${msg.model}, dataset ${msg.dataset.name} ready in ${ms} ms`,
    );
    const { modelFingerprint, dataset } = this.trainer;
    this.send(ws, { kind: 'ready', modelFingerprint, datasetFingerprint: dataset.fingerprint });
  }

  /** New weights: run the assignments that were waiting for them. */
  private onWeights(ws: WebSocket, msg: WeightsMsg | WeightsDeltaMsg): void {
    const trainer = this.requireTrainer();
    trainer.setWeights(msg.version, receiveWeights(this.held, msg));
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
      const frame = computing(() => gradientFrame(trainer, this.compressor, pooled.buffer, msg, fetchMs));
      this.steps++;
      if (!(frame instanceof Uint8Array)) return this.send(ws, frame); // diverged: never send non-finite numbers
      if (ws.readyState !== WebSocket.OPEN) return;
      if (this.session)
        this.sendSealed(ws, this.session, frame); // a sealed copy: the pooled buffer is free at once
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
