// One training run on a worker pool (DESIGN.md "One step"): start state, then the loop
// wait -> step -> evaluate -> checkpoint, whose rules (when to evaluate, checkpoint, stop) are run-rules.ts.
// A step reads in order: the next global batch (common's EpochCursor) -> cut it over the live workers ->
// assign -> pool.runRound (each accepted gradient sum goes straight into the reducer) -> reduce in shard
// order -> optimizer -> record.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  buildManifest,
  type Dataset,
  type Derived,
  datasetClasses,
  EpochCursor,
  groupSizeOf,
  learningRate,
  type Manifest,
  modelSpecOf,
  runBounds,
  scheduleOf,
  type TrainConfig,
  TrainerError,
} from '@dtrain/common';
import { buildDataset } from '@dtrain/common/files';
import { checkpointState, listCheckpoints, startState, type TrainState, writeCheckpoint } from './checkpoint.js';
import { evaluateSplit } from './evaluation.js';
import type { RunPool } from './pool.js';
import { watchPool } from './pool-events.js';
import { completedSummary, guardResume } from './resume.js';
import { endLine, evaluationLine, startLine } from './run-lines.js';
import { RunLog } from './run-log.js';
import type { CoordinatorEvents, CoordinatorOptions } from './run-options.js';
import { RunRules } from './run-rules.js';
import type { RunDir } from './rundir.js';
import type { WorkerConn } from './server.js';
import { type MeshPlan, runMesh } from './sharded-step.js';
import { type AppliedRound, type StepInput, startAttempt } from './step-round.js';
import { bytesSince, stepRecord } from './step-stats.js';
import { failureOf, type RunSummary } from './summary.js';
import { cutOver } from './tasks.js';
import { TraceWriter } from './trace.js';
import { CentralUpdate } from './update.js';
import { WeightView } from './weight-view.js';
import { runWelcome } from './welcome.js';

export type { CoordinatorEvents, CoordinatorOptions } from './run-options.js';

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  readonly config: TrainConfig;
  readonly derived: Derived;
  readonly manifest: Manifest;
  readonly runId = randomBytes(6).toString('hex');
  /** Waiting for workers: a stop ends the wait at once. */
  private waiting = false;
  private done = false;
  private readonly update: CentralUpdate;
  /** What each version of the weights publishes (whole, or a delta under --weight-wire). */
  private readonly view: WeightView;
  private readonly dataset: Dataset;
  private readonly pool: RunPool;
  private readonly train: TrainState;
  private readonly resumedFrom: string | null;
  /** The step this attempt started from. */
  private readonly startStep: number;
  private readonly records: RunLog;
  private readonly trace: TraceWriter | null;
  /** Aborts a wait (for workers, or for a round) when the run is stopped and cannot finish its step. */
  private readonly halt = new AbortController();
  private stopReason: string | null = null;
  /** Set by abandon(): the run ends failed with it. */
  private failure: TrainerError | null = null;
  private readonly rules: RunRules;
  private readonly cursor: EpochCursor;
  private evalId = 0;
  /** Decided before each step (its gradients then travel uncompressed, residuals drained: resume is bitwise). */
  private checkpointAfterStep = false;
  /** Sharded summation over the run's host servers, where the pool has them and the run allows it. */
  private mesh: MeshPlan | null = null;

  constructor(private readonly opts: CoordinatorOptions) {
    super();
    const start = opts.start ?? startState(opts.config, opts.resume, opts.resumeOverrides);
    this.config = start.config;
    this.resumedFrom = start.resumedFrom;
    this.derived = start.derived;
    this.manifest = buildManifest(modelSpecOf(this.config));
    const save = (step: number, g: Float32Array) =>
      step <= (this.config.saveGradients ?? 0) && this.runDir.writeGradient(step, g);
    this.update = new CentralUpdate(this.config.optimizer, this.manifest, start, save);
    this.view = new WeightView(this.config.weightWire ?? 'fp32');
    this.train = start.train;
    this.startStep = start.train.step;
    this.dataset = buildDataset(this.config.dataset, opts.data);
    const [trainSize, { seed, batchSize }, { stepsPerEpoch }] = [this.dataset.size('train'), this.config, this.derived];
    this.cursor = new EpochCursor(this.train, { trainSize, seed, batchSize, stepsPerEpoch });
    this.rules = new RunRules(this.config, opts.clock ?? (() => performance.now()), this.cursor.epochFloat);
    const discard = this.resumedFrom ? guardResume(opts.out, this.startStep, this.resumedFrom, !!opts.overwrite) : [];
    this.records = new RunLog(opts.out, (line) => this.log(line));
    this.records.on('step', (r) => this.emit('step', r)).on('eval', (r) => this.emit('eval', r));
    this.trace = opts.trace ? new TraceWriter(opts.trace, (line) => this.log(line)) : null;
    this.pool = opts.pool;
    const welcome = runWelcome(this.runId, this.config, this.manifest, this.dataset);
    this.pool.setRun(welcome, { ...runBounds(start.weights.length, this.dataset), deferFinite: true });
    this.runDir.lock(); // released when the run ends; the newer checkpoints go only after the first step, under it
    this.records.discardAfterFirstStep(discard);
  }

  /** A line for the person running this: to the caller's log and, timestamped, to the run's run.log. */
  log(line: string): void {
    this.opts.log(line);
    this.runDir.appendLog(line);
  }

  /** A line for run.log only (the console shows the same facts its own way: progress, evaluations, summary). */
  private note(line: string): void {
    this.runDir.appendLog(line);
  }

  get runDir(): RunDir {
    return this.records.runDir;
  }

  /** The current weights (the optimizer updates them in place). */
  get weights(): Float32Array {
    return this.update.weights;
  }

  /** The optimizer's buffers by name (velocity, or Adam's moments), as checkpoints keep them. */
  optimizerState(): Record<string, Float32Array> {
    return this.update.optimizer.state();
  }

  get step(): number {
    return this.train.step;
  }

  /** Give the run up at once with this error (e.g. every local worker died): status failed, checkpoint kept. */
  abandon(err: TrainerError): void {
    this.failure ??= err;
    this.stopReason ??= err.message;
    this.halt.abort();
  }

  /**
   * The last resort after an exception nothing caught: the state is at a step boundary between awaits, so
   * its checkpoint and summary.json (status crashed, with the error) are written; the process then exits.
   */
  crash(e: unknown): RunSummary | null {
    if (this.done) return null;
    this.halt.abort();
    const error = String((e as Error | undefined)?.stack ?? e);
    this.log(`run crashed at step ${this.train.step}: ${error}`);
    return this.finish('crashed', error);
  }

  /** Ask the run to stop after the current step (first Ctrl-C); a final checkpoint is written. */
  stop(reason: string): void {
    if (this.stopReason === null) this.note(`stop requested at step ${this.train.step}: ${reason}`);
    this.stopReason ??= reason;
    if (this.pool.ready().length === 0 || this.waiting) this.halt.abort();
  }

  /** Train to the end (or until stopped); always writes the final checkpoint and summary. */
  async run(): Promise<RunSummary> {
    const done = this.resumedFrom ? completedSummary(this.opts.out, this.train.step, this.derived.totalSteps) : null;
    if (done) {
      this.log(`the run in ${this.opts.out} already completed at step ${done.steps}; nothing to do (records kept)`);
      this.runDir.unlock();
      return done;
    }
    const t0 = performance.now();
    const wall0 = this.train.wallMs;
    let status: RunSummary['status'] = 'completed';
    let error: string | undefined;
    this.mesh = runMesh(this.config, this.pool, this.weights.length, (l) => this.log(l));
    const unwatch = watchPool(this.pool, this.records, {
      step: () => this.train.step,
      onCount: (n) => this.emit('workers', n),
      onLost: () => this.stopReason !== null && this.pool.ready().length === 0 && this.halt.abort(),
    });
    this.records.open(
      { ...this.config, runId: this.runId, resumedFrom: this.resumedFrom, derived: this.derived },
      this.resumedFrom,
      this.train.step,
    );
    this.note(startLine(this.runId, this.config, this.derived.totalSteps, this.resumedFrom, this.train.step));
    if (!this.resumedFrom) this.checkpoint();
    try {
      while (this.train.step < this.derived.totalSteps && this.stopReason === null) {
        if (!(await this.ensureWorkers())) break;
        if (!(await this.trainStep())) break;
        this.train.wallMs = wall0 + (performance.now() - t0);
        const last = this.train.step === this.derived.totalSteps;
        if (this.rules.evaluationDue(this.train.step, this.cursor.atEpochStart) && !last) await this.evaluateAll();
        // reached the stop accuracy or stalled: the final evaluation below repeats it with the test split
        if (this.rules.reachedStopAccuracy() || this.rules.stalledReason !== null) break;
        if (this.checkpointAfterStep && !last) this.checkpoint();
      }
      if (this.failure) throw this.failure;
      if (this.stopReason !== null) status = 'stopped';
      else {
        await this.evaluateAll(true);
        const stalled = this.rules.stalledReason;
        if (stalled !== null) {
          status = 'stalled';
          this.log(`run stalled at step ${this.train.step}: ${stalled}`);
          this.records.event(this.train.step, 'stalled', stalled);
        }
      }
    } catch (e) {
      ({ status, error } = failureOf(e));
      this.log(`run ${status}: ${error}`);
      if (status === 'diverged') this.records.event(this.train.step, 'diverged', error);
    } finally {
      unwatch();
      this.mesh?.detach();
      this.train.wallMs = wall0 + (performance.now() - t0);
    }
    return this.finish(status, error);
  }

  /**
   * One synchronous step. Resolves false if the run was stopped with no worker left to finish it.
   * Order on the wire: assignments, then the weights they need, then the last step's bookkeeping.
   */
  private async trainStep(): Promise<boolean> {
    const t0 = performance.now();
    const bytes0 = { ...this.pool.bytes };
    const [step, version, ready] = [this.train.step + 1, this.train.step, this.pool.ready()];
    const groupSize = groupSizeOf(this.config);
    const batch = this.cursor.nextBatch();
    const shards = cutOver(batch, ready, this.config.balance === 'speed' ? this.pool.speeds : null, groupSize);
    this.checkpointAfterStep = this.rules.checkpointDue(step);
    const input: StepInput = {
      ...{ pool: this.pool, step, version, epoch: this.train.epoch, shards, samples: batch.length, groupSize },
      flush: this.checkpointAfterStep && (this.config.gradWire ?? 'fp32') !== 'fp32',
      ...{ timeoutMs: this.config.stepTimeoutMs, meanGrad: this.update.meanGrad, trainable: this.update.trainable },
      onShard: (conn, gradient) => (
        this.records.shardDone(conn, gradient), this.emit('shard', conn.label, gradient.count)
      ),
      signal: this.halt.signal,
    };
    const lr = learningRate(scheduleOf(this.config), this.train.step);
    // a version evaluated or checkpointed goes whole (view = w): known before the step, so the others can go in slices
    const whole =
      this.checkpointAfterStep ||
      step === this.derived.totalSteps ||
      this.rules.evaluationDue(step, this.cursor.nextClosesEpoch);
    const { round, applied, reduce } = await this.roundApplied(input, ready, lr, whole);
    const { attempt, outcome, meshEpoch, assigned, shared } = round;
    if (!outcome || !applied) return false; // stopped
    this.cursor.advance(applied.reduced.samples);
    const marks = { t0, assigned, shared, reduce, end: performance.now() };
    const tally = attempt.tally;
    this.trace?.step(step, marks, tally.arrivals);
    const [epoch, workers, bytes] = [this.cursor.epochFloat, ready.length, bytesSince(bytes0, this.pool.bytes)];
    const facts = { step, epoch, lr, shards, tally, workers, outcome, marks, bytes, mesh: meshEpoch };
    this.records.hold(stepRecord(facts, applied));
    return true;
  }

  /** A step's round, settled; where values unchecked on arrival made its mean not finite, again with each checked. */
  private async roundApplied(
    x: StepInput,
    ready: readonly WorkerConn[],
    lr: number,
    whole: boolean,
  ): Promise<AppliedRound> {
    const round = await this.stepRound(x, ready, lr, whole);
    const reduce = performance.now();
    const applied = this.update.settle(x.step, lr, round, this.pool.valuesDeferred && round.meshEpoch === 0);
    if (applied !== 'recheck') return { round, applied, reduce };
    this.pool.checkEveryValue();
    this.log(`step ${x.step}: the summed gradient is not finite; the step runs again, every value checked on arrival`);
    return this.roundApplied(x, this.pool.ready(), lr, whole);
  }

  /**
   * A step's round: through the mesh where it is ready (each slice applied and sent back as it lands,
   * where the optimizer is elementwise), else the star; a mesh attempt that falls back is undone and the
   * step runs again through the star. Order on the wire: assignments, the weights they need, then the
   * last step's record.
   */
  private async stepRound(input: StepInput, ready: readonly WorkerConn[], lr: number, whole: boolean) {
    const { step, version } = input;
    const mesh = (await this.mesh?.prepare(ready, this.halt.signal)) ? this.mesh : null;
    const fp32Weights = (this.config.weightWire ?? 'fp32') === 'fp32';
    // a delta goes in slices unless its version must go whole (evaluated, checkpointed, a digest's)
    const early = !!mesh && this.update.sliceable && (fp32Weights || (!whole && this.view.sliceable(step)));
    if (early)
      input.onMean = (index, slice) => {
        this.update.applySlice(step, lr, slice);
        if (fp32Weights) mesh.publishSlice(step, index, this.update.weights);
        else mesh.publishDelta(this.view.publishSlice(step, this.update.weights, index, slice));
        this.emit('slice', step, index);
      };
    let attempt = startAttempt(input, mesh);
    const assigned = performance.now();
    this.publish(version, false, mesh);
    const shared = performance.now();
    this.records.flush(); // the last step's record, off the critical path
    let outcome = await attempt.result;
    let meshEpoch = mesh?.epoch ?? 0;
    if (outcome === 'fallback') {
      meshEpoch = 0;
      this.update.undoSlices();
      this.view.undoSlices();
      this.log(`step ${step}: a host of the mesh was lost or late; the step runs again through the star`);
      this.pool.mesh?.forgetSent(); // the slices of its version may not have reached every host
      attempt = startAttempt({ ...input, onMean: undefined }, null);
      this.publish(version);
      outcome = await attempt.result;
    }
    const appliedOnArrival = early && meshEpoch > 0; // not after a fallback: the star's round is applied whole
    if (appliedOnArrival && !outcome) this.update.undoSlices(); // stopped mid-step: w stays the last whole step's
    this.view.settleSlices(
      appliedOnArrival && !!outcome && outcome !== 'fallback' && !outcome.diverged && !outcome.failed,
    );
    return { attempt, outcome: outcome === 'fallback' ? null : outcome, meshEpoch, appliedOnArrival, assigned, shared };
  }

  /** Sharded evaluation of the validation (if any) and test splits at the current weights. */
  private async evaluateAll(final = false): Promise<void> {
    this.records.flush();
    this.publish(this.train.step, true); // evaluated: whole, so the workers evaluate w itself
    const splits = final || this.config.testEvery !== 'end' ? (['val', 'test'] as const) : (['val'] as const);
    for (const split of splits) {
      const n = this.dataset.size(split);
      if (n === 0) continue;
      if (!(await this.ensureWorkers())) return;
      const at = { evalId: ++this.evalId, split, size: n, step: this.train.step, epoch: this.cursor.epochFloat };
      const from = performance.now();
      const record = await evaluateSplit(this.pool, this.config, at, this.halt.signal);
      if (!record) return;
      this.trace?.evaluation(split, record.step, from, performance.now());
      if (split === 'val') this.rules.observeValidation(record.step, record.epoch, record.loss, record.accuracy, final);
      this.records.evaluated(record);
      this.note(evaluationLine(record));
    }
  }

  /** Wait until enough workers are ready: all `workers` at the start, `minWorkers` later. False if stopped. */
  private async ensureWorkers(): Promise<boolean> {
    const started = this.train.step > 0 || this.resumedFrom !== null;
    const { workers, minWorkers } = this.config;
    const need = started ? minWorkers : workers;
    if (this.pool.ready().length >= need) return this.stopReason === null;
    this.waiting = true;
    this.log(`waiting for ${need} worker(s); ${this.pool.ready().length} ready`);
    const wait = { workers, minWorkers, started, timeoutMs: this.opts.waitTimeoutMs };
    return this.pool.waitForWorkers(wait, this.halt.signal).finally(() => (this.waiting = false));
  }

  /**
   * Final checkpoint and summary.json. A resume that failed before training a step writes neither: the
   * checkpoint it started from and the earlier attempt's summary stay as they were.
   */
  private finish(status: RunSummary['status'], error: string | undefined): RunSummary {
    const fruitless =
      this.resumedFrom !== null && (status === 'failed' || status === 'crashed') && this.train.step === this.startStep;
    const finalCheckpoint = fruitless
      ? this.resumedFrom!
      : this.update.spoiled
        ? (listCheckpoints(this.runDir.dir).at(-1) ?? '') // the last good one on disk
        : this.checkpoint();
    this.done = true;
    this.trace?.close();
    if (fruitless)
      this.log(`resume failed before its first step: ${finalCheckpoint} and the earlier summary.json are kept`);
    const { config, derived, train, resumedFrom, runId } = this;
    const stopReason = this.stopReason ?? this.rules.stalledReason;
    const facts = { status, error, stopReason, config, derived, train, finalCheckpoint, resumedFrom, runId };
    const summary = this.records.summarize(facts, !fruitless);
    this.note(endLine(summary));
    this.runDir.unlock();
    return summary;
  }

  /** Publish a version of the weights: whole, or as a delta from the view (--weight-wire); `flush`: whole. */
  private publish(version: number, flush = false, mesh: MeshPlan | null = null): void {
    const p = this.view.publish(version, this.update.weights, flush);
    if (mesh) mesh.publish({ version, weights: p.weights, ...(p.delta ? { delta: p.delta } : {}) });
    else this.pool.publishWeights(version, p.weights, p.delta);
  }

  /** Write a checkpoint of the current state, after the metrics records up to it (its version then goes whole). */
  private checkpoint(): string {
    this.rules.checkpointed();
    this.view.flush(this.train.step);
    this.records.flush();
    const { weights, optimizer } = this.update;
    const keep = this.config.keepCheckpoints ?? 0;
    const stats = this.dataset.channelStats();
    const inputs = { classes: [...datasetClasses(this.config.dataset)], ...(stats ?? {}) };
    const state = checkpointState(this.train, this.config, this.manifest, inputs);
    return writeCheckpoint(this.runDir.checkpointsDir, state, weights, optimizer.state(), keep);
  }
}
