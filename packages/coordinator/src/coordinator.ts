// The coordinator's step loop (DESIGN.md "One step"): plan the global batch from the (seed, epoch)
// permutation, send the shards, then the weights they need (once per version), reduce gradient sums in
// shard order, apply the optimizer; evaluate, checkpoint, and log metrics. States:
// WAITING_FOR_WORKERS -> STEP_OPEN -> APPLYING -> (EVALUATING) -> ... -> DONE.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  buildDataset, buildManifest, epochOrder, getModelSpec, learningRate,
  modelFingerprint, noiseEstimate, NoiseScaleTracker, planBatch, ShardReducer, scheduleOf, sgdStep, SpeedTracker, cutBatch, TrainerError, usesMomentum,
  validateConfig, type Dataset, type Derived, type EvalResultMsg, type EvalSplit, type GradientMsg, type Manifest,
  type DataLocation, type TrainConfig,
} from '@dtrain/common';
import { startState, writeCheckpoint, type TrainState } from './checkpoint.js';
import { evalRecord } from './evaluation.js';
import { evalTasks, stepTasks } from './tasks.js';
import { abortable, Round } from './round.js';
import { waitForWorkers } from './waiting.js';
import { WeightsFrames } from './weights-frame.js';
import { RunDir, stepTimes, type EvalRecord, type StepRecord } from './rundir.js';
import { CoordinatorServer, type WorkerConn } from './server.js';
import { buildSummary, countShard, type RunSummary, type WorkerStats } from './summary.js';

export type CoordinatorState = 'STARTING' | 'WAITING_FOR_WORKERS' | 'STEP_OPEN' | 'APPLYING' | 'EVALUATING' | 'DONE';

export interface CoordinatorOptions {
  config: TrainConfig;
  host: string;
  port: number;
  token: string | undefined;
  out: string;
  /** Checkpoint or run directory to continue from. */
  resume?: string;
  /** How long to wait for workers (start, or after losing them) before giving up. */
  waitTimeoutMs: number;
  /** A worker pool shared by several runs (experiments): the run neither binds nor closes it. */
  server?: CoordinatorServer;
  /** Where this machine keeps dataset files (CIFAR-10). */
  data?: DataLocation;
  heartbeatMs?: number;
  pongDeadlineMs?: number;
  log: (line: string) => void;
}

export interface CoordinatorEvents {
  info: [Derived];
  step: [StepRecord];
  eval: [EvalRecord];
  workers: [number];
  state: [CoordinatorState];
}

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  readonly config: TrainConfig;
  readonly derived: Derived;
  readonly manifest: Manifest;
  readonly runDir: RunDir;
  readonly runId = randomBytes(6).toString('hex');
  state: CoordinatorState = 'STARTING';
  weights: Float32Array;
  velocity: Float32Array;
  private readonly meanGrad: Float32Array;
  private readonly dataset: Dataset;
  private readonly server: CoordinatorServer;
  private train: TrainState;
  private order: Uint32Array | null = null;
  private orderEpoch = -1;
  private stepRound: Round<GradientMsg> | null = null;
  private reducer: ShardReducer | null = null;
  private pendingRecord: StepRecord | null = null;
  private evalRound: Round<EvalResultMsg> | null = null;
  private evalId = 0;
  private decodeMs = 0;
  private stepCompute: Record<string, number> = {};
  private readonly noise = new NoiseScaleTracker();
  private readonly speeds = new SpeedTracker();
  private readonly weightsFrames: WeightsFrames;
  private stopReason: string | null = null;
  private abortWait: (() => void) | null = null;
  private readonly workerStats = new Map<string, WorkerStats>();
  private readonly lastEval: Partial<Record<EvalSplit, EvalRecord>> = {};
  private readonly resumedFrom: string | null;
  private readonly shared: boolean;
  private readonly unwire: () => void;

  constructor(private readonly opts: CoordinatorOptions) {
    super();
    const start = startState(opts.config, opts.resume);
    const config = start.config;
    this.resumedFrom = start.resumedFrom;
    this.config = config;
    this.derived = validateConfig(config);
    const spec = getModelSpec(config.model);
    this.manifest = buildManifest(spec);
    this.weights = start.weights;
    this.velocity = start.velocity;
    this.train = start.train;
    this.meanGrad = new Float32Array(this.weights.length);
    this.weightsFrames = new WeightsFrames(this.weights.length);
    this.dataset = buildDataset(config.dataset, opts.data);
    this.runDir = new RunDir(opts.out);
    const ctx = { paramCount: this.weights.length, trainSize: this.dataset.size('train'), evalSize: Math.max(this.dataset.size('val'), this.dataset.size('test')) };
    const welcome = {
      runId: this.runId, model: config.model, modelFingerprint: modelFingerprint(spec), manifest: this.manifest,
      dataset: config.dataset, datasetFingerprint: this.dataset.fingerprint,
    };
    this.shared = opts.server !== undefined;
    this.server = opts.server ?? new CoordinatorServer({
      host: opts.host, port: opts.port, token: opts.token, log: opts.log,
      heartbeatMs: opts.heartbeatMs, pongDeadlineMs: opts.pongDeadlineMs, ctx, welcome,
    });
    if (opts.server) opts.server.setRun(welcome, ctx);
    this.unwire = this.wireServer();
  }

  get step(): number {
    return this.train.step;
  }

  /** Bind the server; returns the port. */
  async start(): Promise<number> {
    const port = this.shared ? this.server.port : await this.server.listen();
    this.emit('info', this.derived);
    return port;
  }

  /** Ask the run to stop after the current step (first Ctrl-C); a final checkpoint is written. */
  stop(reason: string): void {
    if (this.stopReason === null) this.stopReason = reason;
    if (this.server.readyWorkers().length === 0 || this.state === 'WAITING_FOR_WORKERS') this.abortWait?.();
  }

  /** Train to the end (or until stopped); always writes the final checkpoint and summary. */
  async run(): Promise<RunSummary> {
    const t0 = performance.now();
    const wall0 = this.train.wallMs;
    let status: RunSummary['status'] = 'completed';
    let error: string | undefined;
    this.runDir.writeConfig({ ...this.config, runId: this.runId, resumedFrom: this.resumedFrom, derived: this.derived });
    if (this.resumedFrom) {
      this.runDir.truncateAfter(this.train.step);
      this.runDir.append({ type: 'event', step: this.train.step, event: 'resume', detail: this.resumedFrom, time: Date.now() });
    } else {
      this.checkpoint();
    }
    try {
      while (this.train.step < this.derived.totalSteps && this.stopReason === null) {
        await this.ensureWorkers();
        if (this.stopReason !== null) break;
        await this.runStep();
        this.train.wallMs = wall0 + (performance.now() - t0);
        const endOfEpoch = this.train.position === 0;
        const last = this.train.step === this.derived.totalSteps;
        const every = this.config.evalEvery;
        if ((every > 0 ? this.train.step % every === 0 : endOfEpoch) && !last) await this.evaluateAll();
        if (this.config.checkpointEvery > 0 && this.train.step % this.config.checkpointEvery === 0 && !last) this.checkpoint();
      }
      if (this.stopReason !== null) status = 'stopped';
      else await this.evaluateAll();
    } catch (e) {
      status = 'failed';
      error = e instanceof TrainerError ? e.describe() : String((e as Error)?.stack ?? e);
      this.opts.log(`run failed: ${error}`);
    } finally {
      this.flushRecord();
      this.stepRound?.cancel();
      this.evalRound?.cancel();
      this.train.wallMs = wall0 + (performance.now() - t0);
    }
    const finalDir = this.checkpoint();
    this.setState('DONE');
    const summary = buildSummary({
      status, error, stopReason: this.stopReason, config: this.config, derived: this.derived, train: this.train,
      workers: [...this.workerStats.values()], lastEval: this.lastEval, runDir: this.runDir.dir,
      finalCheckpoint: finalDir, resumedFrom: this.resumedFrom, runId: this.runId,
    });
    this.runDir.writeSummary(summary);
    this.unwire();
    if (!this.shared) {
      this.server.shutdownAll(status === 'completed' ? 'run completed' : `run ${status}`);
      await new Promise((r) => setTimeout(r, 50));
      await this.server.close();
    }
    return summary;
  }

  /** Write a checkpoint of the current state, after the metrics records up to it. */
  private checkpoint(): string {
    this.flushRecord();
    return writeCheckpoint(this.runDir.checkpointsDir, {
      ...this.train, seed: this.config.seed, config: this.config, manifest: this.manifest, paramCount: this.weights.length,
      modelFingerprint: modelFingerprint(getModelSpec(this.config.model)),
    }, this.weights, usesMomentum(this.config.optimizer) ? this.velocity : null);
  }

  private setState(s: CoordinatorState): void {
    this.state = s;
    this.emit('state', s);
  }

  /** Subscribe to the server; returns the unsubscribe function. */
  private wireServer(): () => void {
    const onReady = (conn: WorkerConn): void => {
      const h = conn.hello!;
      this.opts.log(`worker ${conn.label} ready (backend ${h.backend}: ${h.backendReason})`);
      if (!this.workerStats.has(conn.label)) {
        this.workerStats.set(conn.label, { label: conn.label, host: h.host, backend: h.backend, backendReason: h.backendReason, shards: 0, samples: 0, computeMs: 0 });
      }
      this.shareWeights();
      this.emit('workers', this.server.readyWorkers().length);
      this.stepRound?.workerJoined();
      this.evalRound?.workerJoined();
      this.abortWaitIfEnough();
    };
    const onLost = (conn: WorkerConn, why: string): void => {
      this.opts.log(`worker ${conn.label} left (${why})`);
      this.flushRecord(); // the step before the event stays before it in metrics.jsonl
      this.runDir.append({ type: 'event', step: this.train.step, event: 'worker-lost', detail: `${conn.label} ${why}`, time: Date.now() });
      this.emit('workers', this.server.readyWorkers().length);
      this.speeds.forget(conn.id);
      this.weightsFrames.forget(conn.id);
      this.stepRound?.workerLost(conn);
      this.evalRound?.workerLost(conn);
      if (this.stopReason !== null && this.server.readyWorkers().length === 0) this.abortWait?.();
    };
    const onGradient = (conn: WorkerConn, msg: GradientMsg, ms: number): void => this.onGradient(conn, msg, ms);
    const onEval = (conn: WorkerConn, msg: EvalResultMsg): void => this.onEvalResult(conn, msg);
    this.server.on('ready', onReady).on('lost', onLost).on('gradient', onGradient).on('evalResult', onEval);
    return () => {
      this.server.off('ready', onReady).off('lost', onLost).off('gradient', onGradient).off('evalResult', onEval);
    };
  }

  private onGradient(conn: WorkerConn, msg: GradientMsg, decodeMs: number): void {
    const round = this.stepRound;
    if (!round || msg.step !== this.train.step + 1 || this.state !== 'STEP_OPEN') {
      this.opts.log(`worker ${conn.label}: ERR_STALE_GRADIENT: gradient for step ${msg.step} while at step ${this.train.step + 1}; dropped`);
      return;
    }
    const expected = round.expectedCount(msg.shardId);
    if (expected === undefined || expected !== msg.count || msg.version !== this.train.step) {
      this.server.reject(conn, new TrainerError('ERR_SHAPE_MISMATCH', `shard ${msg.shardId}: ${msg.count} samples at v${msg.version}, planned ${expected} at v${this.train.step}`));
      return;
    }
    this.decodeMs += decodeMs;
    const verdict = round.offer(conn, msg.shardId, msg);
    if (verdict === 'duplicate') this.opts.log(`worker ${conn.label}: ERR_DUPLICATE_GRADIENT: shard ${msg.shardId} already reduced; dropped`);
    if (verdict === 'not-assigned') this.server.reject(conn, new TrainerError('ERR_UNEXPECTED_MESSAGE', `shard ${msg.shardId} was not assigned to this worker`));
    if (verdict === 'accepted') {
      this.reducer!.add(msg);
      this.stepCompute[conn.label] = (this.stepCompute[conn.label] ?? 0) + msg.computeMs;
      this.speeds.observe(conn.id, msg.computeMs, msg.count);
      countShard(this.workerStats.get(conn.label), msg);
    }
  }

  private onEvalResult(conn: WorkerConn, msg: EvalResultMsg): void {
    const round = this.evalRound;
    if (!round || msg.evalId !== this.evalId) {
      this.opts.log(`worker ${conn.label}: ERR_STALE_GRADIENT: result of evaluation ${msg.evalId} while at ${this.evalId}; dropped`);
      return;
    }
    if (round.expectedCount(msg.shardId) !== msg.count) {
      this.server.reject(conn, new TrainerError('ERR_SHAPE_MISMATCH', `evaluation chunk ${msg.shardId}: ${msg.count} samples, planned ${round.expectedCount(msg.shardId)}`));
      return;
    }
    if (round.offer(conn, msg.shardId, msg) === 'not-assigned') {
      this.server.reject(conn, new TrainerError('ERR_UNEXPECTED_MESSAGE', `evaluation chunk ${msg.shardId} was not assigned to this worker`));
    }
  }

  private roundHost() {
    return {
      liveWorkers: () => this.server.readyWorkers(),
      send: (c: WorkerConn, f: Uint8Array) => this.server.send(c, f),
      timeoutMs: this.config.stepTimeoutMs,
      log: this.opts.log,
    };
  }

  private abortWaitIfEnough(): void {
    const n = this.server.readyWorkers().length;
    if (this.state === 'WAITING_FOR_WORKERS' && n >= this.config.workers) this.abortWait?.();
  }

  /** Wait until enough workers are ready: all `workers` at the start, `minWorkers` later. */
  private async ensureWorkers(): Promise<void> {
    const started = this.train.step > 0 || this.resumedFrom !== null;
    const need = started ? this.config.minWorkers : this.config.workers;
    if (this.server.readyWorkers().length >= need) return;
    this.setState('WAITING_FOR_WORKERS');
    this.opts.log(`waiting for ${need} worker(s); ${this.server.readyWorkers().length} ready`);
    await waitForWorkers({
      ready: () => this.server.readyWorkers().length, workers: this.config.workers, minWorkers: this.config.minWorkers,
      started, timeoutMs: this.opts.waitTimeoutMs, stopped: () => this.stopReason !== null, setWake: (f) => (this.abortWait = f),
    });
  }

  private ensureOrder(): Uint32Array {
    if (this.orderEpoch !== this.train.epoch || !this.order) {
      this.order = epochOrder(this.dataset.size('train'), this.config.seed, this.train.epoch);
      this.orderEpoch = this.train.epoch;
    }
    return this.order;
  }

  private async runStep(): Promise<void> {
    const t0 = performance.now();
    const [in0, out0] = [this.server.bytesIn, this.server.bytesOut];
    this.decodeMs = 0;
    this.stepCompute = {};
    this.setState('STEP_OPEN');
    const step = this.train.step + 1;
    const version = this.train.step;
    const batch = planBatch(this.ensureOrder(), this.train.position, this.config.batchSize);
    const live = this.server.readyWorkers().map((w) => w.id);
    const shards = cutBatch(batch, live, this.config.balance === 'speed' ? this.speeds : null);
    const tasks = stepTasks(shards, step, version, this.train.epoch);
    this.reducer = new ShardReducer(this.meanGrad, tasks.length);
    const round = new Round<GradientMsg>(this.roundHost(), tasks);
    this.stepRound = round;
    const pending = round.run();
    // Assignments, then the weights they need, then the last step's bookkeeping (off the critical path).
    const assigned = performance.now();
    this.shareWeights();
    const shared = performance.now();
    this.flushRecord();
    const results = await this.untilStopped(pending);
    this.stepRound = null;
    if (!results) return;
    const reduce = performance.now();
    this.setState('APPLYING');
    const reduced = this.reducer!.finish();
    const est = noiseEstimate(reduced.shards, reduced.meanNormSq);
    const bSimple = est ? this.noise.update(est) : null;
    const lr = learningRate(scheduleOf(this.config), this.train.step);
    sgdStep(this.config.optimizer, lr, this.weights, reduced.meanGrad, this.velocity);
    this.train.step = step;
    this.train.samplesSeen += reduced.samples;
    this.train.position++;
    if (this.train.position >= this.derived.stepsPerEpoch) {
      this.train.epoch++;
      this.train.position = 0;
    }
    this.pendingRecord = {
      type: 'step', step, epoch: this.epochFloat(), loss: reduced.meanLoss, accuracy: reduced.accuracy, lr,
      samples: reduced.samples, workers: live.length, computeMs: this.stepCompute,
      ...stepTimes({ t0, assigned, shared, reduce, end: performance.now() }, this.decodeMs),
      bytesIn: this.server.bytesIn - in0, bytesOut: this.server.bytesOut - out0, reassigned: round.reassigned,
      gradNormSq: est?.gradNormSq ?? null, traceSigma: est?.traceSigma ?? null, bSimple, time: Date.now(),
    };
  }

  /** Send the current weights to every ready worker that does not have them yet. */
  private shareWeights(): void {
    this.weightsFrames.share(this.server.readyWorkers(), this.train.step, this.weights, (c, bytes, pooled) => this.server.send(c, bytes, pooled));
  }

  /** Log the last step's record (held back from the step's critical path). */
  private flushRecord(): void {
    const r = this.pendingRecord;
    this.pendingRecord = null;
    if (!r) return;
    this.runDir.append(r);
    this.emit('step', r);
  }

  /** Resolve with the round's results, or null if the run was stopped with no worker left to finish it. */
  private untilStopped<T>(p: Promise<T>): Promise<T | null> {
    return abortable(p, (f) => (this.abortWait = f));
  }

  private epochFloat(): number {
    return this.train.epoch + this.train.position / this.derived.stepsPerEpoch;
  }

  /** Sharded evaluation of the validation (if any) and test splits. */
  private async evaluateAll(): Promise<void> {
    this.flushRecord();
    this.setState('EVALUATING');
    this.shareWeights();
    for (const split of ['val', 'test'] as const) {
      const n = this.dataset.size(split);
      if (n === 0) continue;
      await this.ensureWorkers();
      if (this.stopReason !== null) return;
      const t0 = performance.now();
      const round = new Round<EvalResultMsg>(this.roundHost(), evalTasks(++this.evalId, split, n, this.config.evalChunk));
      this.evalRound = round;
      const results = await this.untilStopped(round.run());
      this.evalRound = null;
      if (!results) return;
      const record = evalRecord(results, { step: this.train.step, epoch: this.epochFloat(), split, ms: performance.now() - t0 });
      this.lastEval[split] = record;
      this.runDir.append(record);
      this.emit('eval', record);
    }
  }
}
