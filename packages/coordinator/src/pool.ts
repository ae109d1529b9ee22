// The worker pool: the server and everything about workers that outlives one step or one run. It admits
// results (stale, duplicate, not-assigned and shape checks), runs rounds of tasks with reassignment on
// loss or deadline, shares each weights version once per worker (and with late joiners), tracks worker
// speeds, and waits for enough workers. Runs, experiments and benches create one pool and hand it to
// each run in turn (DESIGN.md "One step"; the step loop itself is coordinator.ts).

import { EventEmitter } from 'node:events';
import {
  type DivergedMsg,
  type EvalResultMsg,
  encode,
  type FailMsg,
  type GradientMsg,
  type ParseContext,
  SpeedTracker,
  TrainerError,
  type WeightsDeltaMsg,
} from '@dtrain/common';
import { AdaptiveDeadline } from './deadline.js';
import { readyLine } from './pool-events.js';
import { Round } from './round.js';
import { CoordinatorServer, type RunWelcome, type WorkerConn } from './server.js';
import { type WorkerNeed, waitForWorkers } from './waiting.js';
import { type Published, WeightsFrames } from './weights-frame.js';

export * from './pool-types.js';

import {
  type EvalRound,
  MAX_TASK_FAILURES,
  type MeshPool,
  type PoolEvents,
  type PoolOptions,
  type RoundOutcome,
  type RunPool,
  type StepRound,
} from './pool-types.js';

interface OpenRound {
  spec: StepRound | EvalRound;
  round: Round<true>;
  decodeMs: number;
  startedAt: number;
  /** Ends the round early with this outcome (divergence, a task that cannot be computed). */
  finish: (outcome: RoundOutcome) => void;
  /** Compute failures per task. */
  failures: Map<number, number>;
}

export class WorkerPool extends EventEmitter<PoolEvents> implements RunPool {
  readonly speeds = new SpeedTracker();
  private readonly server: CoordinatorServer;
  private weightFrames = new WeightsFrames(0);
  private published: Published | null = null;
  private open: OpenRound | null = null;
  /** Ends the current wait for workers early (a worker joined). */
  private wake: (() => void) | null = null;
  /** Workers that missed a deadline and have not answered since: they get no tasks. */
  private readonly demoted = new Set<number>();
  private readonly deadlines = new AdaptiveDeadline();

  constructor(private readonly opts: PoolOptions) {
    super();
    this.server = new CoordinatorServer({
      host: opts.host,
      port: opts.port,
      token: opts.token,
      maxParams: opts.maxParams,
      heartbeatMs: opts.heartbeatMs,
      pongDeadlineMs: opts.pongDeadlineMs,
      log: opts.log,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.socketPath ? { socketPath: opts.socketPath } : {}),
    });
    this.server.on('ready', (c) => this.onReady(c));
    this.server.on('lost', (c, why) => this.onLost(c, why));
    this.server.on('gradient', (c, m, ms) => this.admitGradient(c, m, ms));
    this.server.on('evalResult', (c, m) => this.admitEvalResult(c, m));
    this.server.on('diverged', (c, m) => this.admitDivergence(c, m));
    this.server.on('failed', (c, m) => this.taskFailed(c, m));
    this.server.on('mesh', (c, m) => {
      if (m.kind === 'meshReady') this.emit('meshReady', c, m.epoch);
      else if (m.kind === 'slice') this.emit('slice', c, m);
      else this.reject(c, new TrainerError('ERR_UNEXPECTED_MESSAGE', 'a part of a slice goes to its owner'));
    });
  }

  /** Bind; resolves with the port (useful with port 0). */
  listen(): Promise<number> {
    return this.server.listen();
  }

  get port(): number {
    return this.server.port;
  }

  /** Bytes received and sent by the whole pool so far. */
  get bytes(): { in: number; out: number } {
    return { in: this.server.bytesIn, out: this.server.bytesOut };
  }

  /** Ready workers that may get tasks (the demoted ones are left out until they answer). */
  ready(): WorkerConn[] {
    return this.server.readyWorkers().filter((c) => !this.demoted.has(c.id));
  }

  /** Check every received value at the boundary from now on (the run's deferred checks found a sum not finite). */
  checkEveryValue(): void {
    this.server.checkEveryValue();
  }

  get valuesDeferred(): boolean {
    return this.server.valuesDeferred;
  }

  /** Start serving a run: every worker is welcomed to it and answers ready again; weights start over. */
  setRun(welcome: RunWelcome, ctx: ParseContext): void {
    this.open = null;
    this.published = null;
    this.weightFrames = new WeightsFrames(ctx.paramCount);
    this.server.setRun(welcome, ctx);
  }

  /** Make `weights` at `version` current: sent now to every ready worker that lacks it, later to joiners. */
  publishWeights(version: number, weights: Float32Array, delta?: WeightsDeltaMsg): void {
    this.published = { version, weights, ...(delta ? { delta } : {}) };
    this.shareWeights(this.published);
  }

  /** Sharded summation (host-mesh.ts, sharded-step.ts): what it sends through this pool. */
  readonly mesh: MeshPool = {
    send: (conn, msg) => this.server.send(conn, encode(msg)),
    publishSlice: (msg, owner) => {
      if (msg.data.length > 0) this.server.send(owner, encode(msg));
      this.weightFrames.markSent(owner.id, msg.version);
    },
    hasVersion: (conn, version) => this.weightFrames.has(conn.id, version),
    forgetSent: () => this.weightFrames.forgetAll(),
    reject: (conn, err) => this.reject(conn, err),
  };

  private shareWeights(p: Published): void {
    this.weightFrames.share(this.ready(), p, (c, bytes, pooled) => this.server.send(c, bytes, pooled));
  }

  /**
   * Send every task (task i to ready worker i mod W, by id) and resolve once each has one accepted
   * result, or with null when `signal` aborts. The assignments are on their way when this returns.
   */
  runRound(spec: StepRound | EvalRound, signal: AbortSignal): Promise<RoundOutcome | null> {
    this.server.nextRound(); // frames of the round before last are read by now: their buffers may be reused
    const round = new Round<true>(
      {
        liveWorkers: () => this.ready(),
        send: (c, f) => this.server.send(c, f),
        log: this.opts.log,
        timeoutMs: (samples) => this.deadlines.forTask(samples, spec.timeoutMs),
        missedDeadline: (ids) => this.demote(ids, performance.now() - open.startedAt),
      },
      spec.tasks,
    );
    const open: OpenRound = {
      ...{ spec, round, decodeMs: 0, startedAt: performance.now() },
      ...{ finish: () => undefined, failures: new Map() },
    };
    this.open = open;
    const done = round.run();
    return new Promise((resolve) => {
      const onAbort = (): void => finish(null);
      open.finish = (outcome) => finish(outcome);
      const finish = (v: RoundOutcome | null): void => {
        signal.removeEventListener('abort', onAbort);
        round.cancel();
        if (this.open === open) this.open = null;
        resolve(v);
      };
      if (signal.aborted) return finish(null);
      signal.addEventListener('abort', onAbort);
      void done.then(() => finish({ reassigned: round.reassigned, decodeMs: open.decodeMs }));
    });
  }

  /** Resolves true once enough workers are ready, false if `signal` aborts first; throws ERR_NO_WORKERS on timeout. */
  async waitForWorkers(need: WorkerNeed, signal: AbortSignal): Promise<boolean> {
    const onAbort = (): void => this.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      await waitForWorkers(
        need,
        () => this.ready().length,
        signal,
        (w) => (this.wake = w),
      );
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.wake = null;
    }
    return !signal.aborted;
  }

  /** Close one worker's connection with an error's code. */
  reject(conn: WorkerConn, err: TrainerError): void {
    this.server.reject(conn, err);
  }

  /** Tell every worker the pool is done, then close the server (its sockets never hold the process). */
  async shutdown(reason: string): Promise<void> {
    this.server.shutdownAll(reason);
    await new Promise((r) => setTimeout(r, 50));
    await this.server.close();
  }

  /** Backend reasons already printed (each once: a worker's is as long as its backend's story). */
  private readonly reasonsSeen = new Set<string>();

  private onReady(conn: WorkerConn): void {
    const h = conn.hello!;
    this.opts.log(readyLine(conn.label, h.backend, h.backendReason, this.reasonsSeen));
    if (this.published) this.shareWeights(this.published);
    this.emit('joined', conn);
    this.open?.round.workerJoined();
    this.wake?.();
  }

  private onLost(conn: WorkerConn, why: string): void {
    this.opts.log(`worker ${conn.label} left (${why})`);
    this.demoted.delete(conn.id);
    this.speeds.forget(conn.id);
    this.weightFrames.forget(conn.id);
    this.emit('lost', conn, why);
    this.open?.round.workerLost(conn);
  }

  private admitGradient(conn: WorkerConn, msg: GradientMsg, decodeMs: number): void {
    this.promote(conn);
    const open = this.open;
    if (open?.spec.kind !== 'step' || msg.step !== open.spec.step) {
      const at = open?.spec.kind === 'step' ? `step ${open.spec.step}` : 'no open step';
      this.opts.log(`worker ${conn.label}: ERR_STALE_GRADIENT: gradient for step ${msg.step} while at ${at}; dropped`);
      return;
    }
    const { spec, round } = open;
    if (!!msg.sliced !== !!spec.sliced) {
      // an answer to the same step's other attempt (sharded, then the star after an owner was lost)
      const [late, now] = msg.sliced ? ['mesh', 'star'] : ['star', 'mesh'];
      this.opts.log(
        `worker ${conn.label}: an answer to step ${msg.step} through the ${late} came after it went to the ${now}; dropped`,
      );
      return;
    }
    const expected = round.expectedCount(msg.shardId);
    if (expected !== msg.count || msg.version !== spec.version) {
      this.reject(
        conn,
        new TrainerError(
          'ERR_SHAPE_MISMATCH',
          `shard ${msg.shardId}: ${msg.count} samples at v${msg.version}, planned ${expected} at v${spec.version}`,
        ),
      );
      return;
    }
    if (!this.admit(conn, open, msg.shardId)) return;
    if (round.reassigned === 0) this.deadlines.observe(performance.now() - open.startedAt, msg.count);
    open.decodeMs += decodeMs;
    this.speeds.observe(conn.id, msg.computeMs, msg.count);
    spec.onAccepted(conn, msg);
  }

  private admitEvalResult(conn: WorkerConn, msg: EvalResultMsg): void {
    this.promote(conn);
    const open = this.open;
    if (open?.spec.kind !== 'eval' || msg.evalId !== open.spec.evalId) {
      this.opts.log(
        `worker ${conn.label}: ERR_STALE_RESULT: result of evaluation ${msg.evalId} outside its round; dropped`,
      );
      return;
    }
    const expected = open.round.expectedCount(msg.shardId);
    if (expected !== msg.count) {
      this.reject(
        conn,
        new TrainerError(
          'ERR_SHAPE_MISMATCH',
          `evaluation chunk ${msg.shardId}: ${msg.count} samples, planned ${expected}`,
        ),
      );
      return;
    }
    if (this.admit(conn, open, msg.shardId)) open.spec.onAccepted(conn, msg);
  }

  /** A worker's own loss or gradient for a task it holds is not finite: the step round ends, diverged. */
  private admitDivergence(conn: WorkerConn, msg: DivergedMsg): void {
    this.promote(conn);
    const open = this.open;
    if (open?.spec.kind !== 'step' || msg.step !== open.spec.step || msg.version !== open.spec.version) return; // stale
    if (!open.round.holds(conn, msg.shardId)) {
      // only the shard's holder may end a step
      this.reject(
        conn,
        new TrainerError(
          'ERR_UNEXPECTED_MESSAGE',
          `divergence reported for shard ${msg.shardId}, which this worker does not hold`,
        ),
      );
      return;
    }
    this.opts.log(`worker ${conn.label}: its ${msg.what} for shard ${msg.shardId} of step ${msg.step} is not finite`);
    open.finish({
      reassigned: open.round.reassigned,
      decodeMs: open.decodeMs,
      diverged: { worker: conn.label, shardId: msg.shardId, what: msg.what },
    });
  }

  /**
   * A worker's compute threw on the tasks it holds (it closes next, and they go to others). A task that
   * failed MAX_TASK_FAILURES times (a model or backend that cannot compute it) ends the round: retrying it
   * on worker after worker would spin forever.
   */
  private taskFailed(conn: WorkerConn, msg: FailMsg): void {
    const open = this.open;
    if (!open || msg.code !== 'ERR_COMPUTE') return;
    for (const taskId of open.round.heldBy(conn)) {
      const tries = (open.failures.get(taskId) ?? 0) + 1;
      open.failures.set(taskId, tries);
      if (tries < MAX_TASK_FAILURES) continue;
      const failed = { worker: conn.label, taskId, tries, message: msg.message };
      return open.finish({ reassigned: open.round.reassigned, decodeMs: open.decodeMs, failed });
    }
  }

  /** Workers that held a task past its deadline get no new tasks until they answer again. */
  private demote(ids: readonly number[], ms: number): void {
    for (const conn of this.server.readyWorkers()) {
      if (!ids.includes(conn.id) || this.demoted.has(conn.id)) continue;
      this.demoted.add(conn.id);
      this.opts.log(
        `worker ${conn.label}: no answer within ${Math.round(ms)} ms; demoted (no new tasks) until it answers`,
      );
      this.emit('demoted', conn, ms);
    }
  }

  /** Any result from a demoted worker, even a late one, proves it alive. */
  private promote(conn: WorkerConn): void {
    if (!this.demoted.delete(conn.id)) return;
    this.opts.log(`worker ${conn.label} answered again; it gets tasks again`);
    this.emit('promoted', conn);
    this.open?.round.workerJoined();
    this.wake?.();
  }

  /** The round's verdict on a result whose shape matched: true when it is the first for a task this worker holds. */
  private admit(conn: WorkerConn, open: OpenRound, taskId: number): boolean {
    const verdict = open.round.offer(conn, taskId, true);
    if (verdict === 'duplicate')
      this.opts.log(`worker ${conn.label}: ERR_DUPLICATE_GRADIENT: task ${taskId} already has a result; dropped`);
    if (verdict === 'not-assigned')
      this.reject(conn, new TrainerError('ERR_UNEXPECTED_MESSAGE', `task ${taskId} was not assigned to this worker`));
    return verdict === 'accepted';
  }
}
