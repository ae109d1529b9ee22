// A per-host relay (hierarchical aggregation): to the coordinator it is one worker; behind it, the
// host's local workers. Each shard it is given is cut over its ready local workers (cutBatch, as the
// coordinator cuts a batch), their gradient sums are added in sub-shard order (a fixed order: for a
// fixed topology the relay's sum is bit-reproducible) and go up as one frame (under --grad-wire compressed
// here, at the host boundary, with one residual per host); the weights come down once and are shared
// locally. A dead local worker's part is recomputed by another (the pool's rounds reassign); a dead
// relay's shard is reassigned by the coordinator like any worker's.

import { hostname } from 'node:os';
import {
  type AssignMsg,
  type CoordinatorMsg,
  type EvalResultMsg,
  type EvaluateMsg,
  encode,
  encodeGradient,
  GradientCompressor,
  type GradientMsg,
  groupCount,
  HeldView,
  MAX_NOTE_CHARS,
  paramCount,
  RECONNECT_INITIAL_MS,
  RECONNECT_MAX_MS,
  type RejectMsg,
  receiveWeights,
  TrainerError,
  type WeightsDeltaMsg,
  type WeightsMsg,
  type WelcomeMsg,
} from '@dtrain/common';
import { CoordinatorLink, RefusalJudge } from '@dtrain/worker/link';
import { runWires } from '@dtrain/worker/quantize';
import { evalSums } from './evaluation.js';
import { HostMesh } from './host-mesh.js';
import { type RoundOutcome, WorkerPool } from './pool.js';
import { evalSubShards, subTasks, sumAlongTree, sumInOrder } from './relay-sums.js';
import type { RunWelcome } from './server.js';

export interface RelayOptions {
  /** The coordinator. */
  url: string;
  token: string | undefined;
  /** Where local workers connect (loopback by default, or `socketPath`, a Unix socket) and with which token. */
  host: string;
  port: number;
  socketPath?: string;
  localToken: string | undefined;
  /** Local workers to wait for before saying ready upstream. */
  localWorkers: number;
  stepTimeoutMs: number;
  waitTimeoutMs: number;
  /** Give up after this long without a coordinator. */
  giveUpMs: number;
  name?: string;
  log: (line: string) => void;
  /** Called once the local pool listens (start the local workers here). */
  onListening?: (port: number) => void;
  /** Sharded summation: where other hosts reach this one (a port on `meshHost`, 0: any free one); absent: no mesh. */
  meshPort?: number;
  meshHost?: string;
}

/** The local pool's lines the coordinator is told (rate-limited there). */
const NOTED = /deadline of|no answer within|left \(|answered again/;

export class Relay {
  private readonly pool: WorkerPool;
  private link: CoordinatorLink | null = null;
  private params = 0;
  /** The weights' view under a compressed weight wire (weight-delta.ts): held here, its deltas forwarded as they came. */
  private held: HeldView | null = null;
  /** --grad-wire at the host boundary: the local sum is compressed here, one residual per host (not per worker). */
  private compressor = new GradientCompressor('fp32');
  /** Upstream work, served one round at a time in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly halt = new AbortController();
  /** Ends the rounds of the current uplink when it closes. */
  private rounds: AbortSignal = this.halt.signal;
  /** Reads refusals as a worker does (a refused token believed only on several connections in a row). */
  private readonly refusals: RefusalJudge;
  /** This host's part in sharded summation (with `meshPort`), and the port peers reach it on. */
  private readonly mesh: HostMesh | null;
  private meshPort: number | undefined;

  constructor(private readonly o: RelayOptions) {
    this.refusals = new RefusalJudge(o.url);
    this.pool = new WorkerPool({
      host: o.host,
      port: o.port,
      token: o.localToken,
      maxParams: 64 * 1024 * 1024,
      ...(o.socketPath ? { socketPath: o.socketPath } : {}),
      log: (l) => {
        o.log(`[local] ${l}`);
        // a local worker late, demoted or lost: the coordinator's log names it, not only this host's
        if (!NOTED.test(l)) return;
        // a local worker that does not answer may wait for weights the mesh has not brought: say which
        const pending = /no answer/.test(l) ? this.mesh?.waiting() : null;
        const text = pending ? `${l}; ${pending}` : l;
        this.link?.send({ kind: 'note', text: text.slice(0, MAX_NOTE_CHARS) });
      },
    });
    this.mesh =
      o.meshPort === undefined
        ? null
        : new HostMesh(
            { host: o.meshHost ?? '0.0.0.0', port: o.meshPort, token: o.token, log: o.log },
            () => this.link,
            (whole) => this.fromMesh(whole),
          );
  }

  /**
   * Serve until the coordinator says the work is over. Like a worker, the relay dials until a coordinator
   * answers (giving up after `giveUpMs` without one) and dials again when a coordinator restarts.
   */
  async run(): Promise<string> {
    this.o.onListening?.(await this.pool.listen());
    this.meshPort = await this.mesh?.listen();
    let since = Date.now();
    let delay = RECONNECT_INITIAL_MS;
    try {
      while (!this.halt.signal.aborted) {
        let link: CoordinatorLink;
        try {
          link = await CoordinatorLink.open(this.o.url);
        } catch (e) {
          if (Date.now() - since > this.o.giveUpMs)
            return `no coordinator at ${this.o.url} for ${Math.round(this.o.giveUpMs / 1000)} s (${(e as Error).message})`;
          if (delay === RECONNECT_INITIAL_MS)
            this.o.log(`relay: no coordinator at ${this.o.url} yet (${(e as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(RECONNECT_MAX_MS, delay * 2);
          continue;
        }
        delay = RECONNECT_INITIAL_MS;
        const why = await this.serve(link);
        if (why !== null) return why;
        since = Date.now();
        if (!this.halt.signal.aborted) this.o.log('relay: the coordinator went away; dialling again');
      }
      return 'stopped';
    } finally {
      this.halt.abort();
      await this.queue.catch(() => undefined);
      await this.mesh?.close();
      await this.pool.shutdown('relay stopping');
    }
  }

  /** One connection: the shutdown's reason, or null when the link closed without one. Its rounds end with it. */
  private async serve(link: CoordinatorLink): Promise<string | null> {
    this.link = link;
    const rounds = new AbortController(); // the coordinator reassigns what this link held
    const onHalt = (): void => rounds.abort();
    this.halt.signal.addEventListener('abort', onHalt);
    this.rounds = rounds.signal;
    try {
      await link.hello({
        token: this.o.token,
        name: this.o.name ?? `${hostname()}-relay`,
        host: hostname(),
        backend: 'relay',
        backendReason: `relay for ${this.o.localWorkers} local workers`,
        slots: this.o.localWorkers,
        ...(this.meshPort ? { mesh: this.meshPort } : {}),
      });
      for (let m = await link.next(); m; m = await link.next()) {
        if (m.kind === 'shutdown') return m.reason;
        await this.dispatch(m);
      }
      return null;
    } catch (e) {
      if (e instanceof TrainerError && e.code === 'ERR_BAD_CONFIG') throw e; // a refusal no retry fixes (exit 2)
      this.o.log(`relay: ${(e as Error).message}`); // tampering, a downgrade, a forged refusal: one reconnect
      await new Promise((r) => setTimeout(r, RECONNECT_INITIAL_MS));
      return null;
    } finally {
      rounds.abort();
      this.halt.signal.removeEventListener('abort', onHalt);
      link.close();
    }
  }

  /** Leave at once (as a dying relay would: the coordinator reassigns its shard). */
  stop(): void {
    this.halt.abort();
    this.link?.close();
  }

  private async dispatch(m: CoordinatorMsg): Promise<void> {
    switch (m.kind) {
      case 'welcome':
        return this.onWelcome(m);
      case 'mesh':
        return void this.mesh?.form(m);
      case 'weights':
      case 'weightsDelta': {
        if (m.slice !== undefined) return this.mesh?.weights(m, true);
        this.mesh?.wholeArrived(m.version);
        return this.whole(m);
      }
      case 'assign':
        return void this.enqueue(() => this.onAssign(m));
      case 'evaluate':
        return void this.enqueue(() => this.onEvaluate(m));
      case 'reject':
        return this.onReject(m);
      default:
        return;
    }
  }

  /** A whole version (from the coordinator, or put together from the mesh's slices): to the local workers. */
  private whole(m: WeightsMsg | WeightsDeltaMsg): void {
    const w = receiveWeights(this.held, m);
    // the frame's buffer is not ours to keep; a delta goes on to the local workers at its base as it came
    this.pool.publishWeights(
      m.version,
      this.held ? w : Float32Array.from(w),
      m.kind === 'weightsDelta' ? m : undefined,
    );
  }

  /**
   * A version put together from the mesh's slices. A view that differs from the coordinator's (its digest;
   * or a delta this host cannot apply) costs a reconnect, as on the star: the coordinator sends a joiner its
   * view whole. Without one, this host's workers would wait for a version that never comes.
   */
  private fromMesh(m: WeightsMsg | WeightsDeltaMsg): void {
    try {
      this.whole(m);
    } catch (e) {
      this.o.log(
        `relay: version ${m.version} from the mesh: ${(e as Error).message}; reconnecting for the whole weights`,
      );
      this.link?.close();
    }
  }

  /** As a worker reads a refusal (RefusalJudge): a permanent one ends the relay (exit 2), any other costs a reconnect. */
  private onReject(m: RejectMsg): never {
    const verdict = this.refusals.judge(m, true);
    if (verdict.kind === 'permanent')
      throw new TrainerError('ERR_BAD_CONFIG', `the coordinator refused this relay: ${verdict.reason}`);
    throw new Error(verdict.line);
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(work).catch((e) => this.o.log(`relay: ${String((e as Error).message ?? e)}`));
    return this.queue;
  }

  /** A run: welcome the local workers to it, wait for them, then say ready upstream. */
  private async onWelcome(w: WelcomeMsg): Promise<void> {
    this.refusals.welcomed();
    this.params = paramCount(w.manifest);
    ({ compressor: this.compressor, held: this.held } = runWires(w));
    const { kind: _k, workerId: _id, gradWire: _local, ...run } = w; // local workers send fp32 to the relay
    this.pool.setRun(run as RunWelcome, { paramCount: this.params, trainSize: 1 << 30, evalSize: 1 << 30 });
    this.mesh?.setRun({ ...(run as RunWelcome), ...(w.gradWire ? { gradWire: w.gradWire } : {}) }, this.params); // owners compress as hosts do
    const need = { workers: this.o.localWorkers, minWorkers: 1, started: false, timeoutMs: this.o.waitTimeoutMs };
    if (!(await this.pool.waitForWorkers(need, this.halt.signal))) return;
    this.o.log(`relay: ${this.pool.ready().length} local worker(s) ready for run ${w.runId}`);
    this.link!.send({ kind: 'ready', modelFingerprint: w.modelFingerprint, datasetFingerprint: w.datasetFingerprint });
  }

  private async onAssign(msg: AssignMsg): Promise<void> {
    const parts = new Map<number, GradientMsg>();
    const { tasks, shards } = subTasks(
      msg,
      this.pool.ready().map((w) => w.id),
    );
    const outcome = await this.pool.runRound(
      {
        kind: 'step',
        step: msg.step,
        version: msg.version,
        tasks,
        timeoutMs: this.o.stepTimeoutMs,
        onAccepted: (_c, g) => void parts.set(g.shardId, { ...g, grad: Float32Array.from(g.grad) }),
      },
      this.rounds,
    );
    if (!outcome) return;
    if (outcome.failed) return this.reportFailure(outcome.failed);
    if (outcome.diverged) {
      this.link!.send({
        kind: 'diverged',
        step: msg.step,
        version: msg.version,
        shardId: msg.shardId,
        what: outcome.diverged.what,
      });
      return;
    }
    const sum = msg.groupSize ? sumAlongTree(parts, shards, msg) : sumInOrder(parts, msg, this.params);
    if (msg.node && this.mesh) return this.mesh.send(msg, sum, this.compressor); // its slices to their owners
    this.sendGradient(sum, !!msg.flush);
  }

  /** The host's gradient up: compressed with the host's residual, or whole at a flush (a checkpointed step). */
  private sendGradient(g: GradientMsg, flush: boolean): void {
    const { grad, ...fields } = g;
    this.link!.sendFrame(encodeGradient(fields, this.compressor.toWire(grad, flush)));
  }

  /** Local workers could not compute a part: the coordinator counts it against the task, as a worker's failure. */
  private reportFailure(f: NonNullable<RoundOutcome['failed']>): void {
    this.link!.send({
      kind: 'fail',
      code: 'ERR_COMPUTE',
      message: `local worker ${f.worker}: ${f.message}`.slice(0, 3000),
    });
  }

  private async onEvaluate(msg: EvaluateMsg): Promise<void> {
    const results = new Map<number, EvalResultMsg>();
    const local = evalSubShards(
      msg,
      this.pool.ready().map((w) => w.id),
    );
    const tasks = local.map((c) => ({
      id: c.shardId,
      count: c.indices.length,
      frame: encode({
        kind: 'evaluate',
        evalId: msg.evalId,
        split: msg.split,
        shardId: c.shardId,
        indices: c.indices.slice(),
        ...(msg.groupSize ? { groupSize: msg.groupSize } : {}),
      }),
    }));
    const outcome = await this.pool.runRound(
      {
        kind: 'eval',
        evalId: msg.evalId,
        tasks,
        timeoutMs: this.o.stepTimeoutMs,
        onAccepted: (_c, r) => void results.set(r.shardId, r),
      },
      this.rounds,
    );
    if (!outcome) return;
    if (outcome.failed) return this.reportFailure(outcome.failed);
    const sums = evalSums(results, local, groupCount(msg.indices.length, msg.groupSize ?? 1));
    const computeMs = Math.max(0, ...[...results.values()].map((r) => r.computeMs));
    this.link!.send({ kind: 'evalResult', evalId: msg.evalId, shardId: msg.shardId, ...sums, computeMs });
  }
}
