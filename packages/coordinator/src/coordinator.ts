// One training run on a worker pool (DESIGN.md "One step"): start state, then the loop
// wait -> step -> evaluate -> checkpoint, whose rules (when to evaluate, checkpoint, stop) are run-rules.ts.
// A step reads in order: the next global batch (common's EpochCursor) -> cut it over the live workers ->
// assign -> pool.runRound (each accepted gradient sum goes straight into the reducer) -> reduce in shard
// order -> optimizer -> record.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  allFinite,
  buildManifest,
  cutBatch,
  type Dataset,
  type Derived,
  divergedError,
  EpochCursor,
  type EvalResultMsg,
  getModelSpec,
  learningRate,
  type Manifest,
  MomentumSGD,
  modelFingerprint,
  NoiseScaleTracker,
  noiseEstimate,
  type Shard,
  ShardReducer,
  scheduleOf,
  type TrainConfig,
  TrainerError,
  validateConfig,
} from '@dtrain/common';
import { buildDataset, type DataLocation } from '@dtrain/common/files';
import { listCheckpoints, type StartState, startState, type TrainState, writeCheckpoint } from './checkpoint.js';
import { evalRecord } from './evaluation.js';
import type { RoundOutcome, RunPool } from './pool.js';
import { watchPool } from './pool-events.js';
import { completedSummary, guardResume } from './resume.js';
import { RunLog } from './run-log.js';
import { RunRules } from './run-rules.js';
import { type EvalRecord, type RunDir, type StepRecord, stepTimes } from './rundir.js';
import { StepTally, samplesDigest } from './step-stats.js';
import type { RunSummary } from './summary.js';
import { evalTasks, stepTasks } from './tasks.js';

export interface CoordinatorOptions {
  config: TrainConfig;
  pool: RunPool;
  out: string;
  /** Checkpoint or run directory to continue from (ignored when `start` is given). */
  resume?: string;
  /** On resume: options that replace the checkpoint's (more epochs, another checkpoint interval, ...). */
  resumeOverrides?: Partial<TrainConfig>;
  /** Where the run starts, when the caller already read it (e.g. to size the pool). */
  start?: StartState;
  /** How long to wait for workers (start, or after losing them) before giving up. */
  waitTimeoutMs: number;
  /** Where this machine keeps dataset files (CIFAR-10, generated images). */
  data?: DataLocation;
  /** On resume from an older checkpoint: discard the newer ones in `out` instead of refusing. */
  overwrite?: boolean;
  log: (line: string) => void;
  /** Milliseconds from a monotonic clock, for time-based checkpoints (default performance.now; tests step it). */
  clock?: () => number;
}

export interface CoordinatorEvents {
  step: [StepRecord];
  eval: [EvalRecord];
  workers: [number];
}

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  readonly config: TrainConfig;
  readonly derived: Derived;
  readonly manifest: Manifest;
  readonly runId = randomBytes(6).toString('hex');
  private readonly opts: CoordinatorOptions;
  /** Waiting for workers: a stop ends the wait at once. */
  private waiting = false;
  private done = false;
  readonly weights: Float32Array;
  private readonly optimizer: MomentumSGD;
  private readonly meanGrad: Float32Array;
  private readonly dataset: Dataset;
  private readonly pool: RunPool;
  private readonly train: TrainState;
  private readonly resumedFrom: string | null;
  /** The step this attempt started from. */
  private readonly startStep: number;
  private readonly noise = new NoiseScaleTracker();
  private readonly records: RunLog;
  /** Aborts a wait (for workers, or for a round) when the run is stopped and cannot finish its step. */
  private readonly halt = new AbortController();
  private stopReason: string | null = null;
  /** Set by abandon(): the run ends failed with it. */
  private failure: TrainerError | null = null;
  /** The weights in memory stopped being finite (divergence): they are neither sent nor saved. */
  private weightsSpoiled = false;
  private readonly rules: RunRules;
  private readonly cursor: EpochCursor;
  private evalId = 0;

  constructor(opts: CoordinatorOptions) {
    super();
    const start = opts.start ?? startState(opts.config, opts.resume, opts.resumeOverrides);
    this.opts = opts;
    this.config = start.config;
    this.resumedFrom = start.resumedFrom;
    this.derived = validateConfig(this.config);
    this.manifest = buildManifest(getModelSpec(this.config.model));
    this.weights = start.weights;
    this.optimizer = new MomentumSGD(this.config.optimizer, this.weights.length, start.velocity);
    this.train = start.train;
    this.startStep = start.train.step;
    this.meanGrad = new Float32Array(this.weights.length);
    this.dataset = buildDataset(this.config.dataset, opts.data);
    const { seed, batchSize } = this.config;
    this.cursor = new EpochCursor(this.train, {
      trainSize: this.dataset.size('train'),
      seed,
      batchSize,
      stepsPerEpoch: this.derived.stepsPerEpoch,
    });
    this.rules = new RunRules(this.config, opts.clock ?? (() => performance.now()), this.cursor.epochFloat);
    const discard = this.resumedFrom
      ? guardResume(opts.out, this.startStep, this.resumedFrom, opts.overwrite ?? false)
      : []; // reads only
    this.records = new RunLog(opts.out);
    this.records.on('step', (r) => this.emit('step', r)).on('eval', (r) => this.emit('eval', r));
    this.pool = opts.pool;
    this.pool.setRun(
      {
        runId: this.runId,
        model: this.config.model,
        modelFingerprint: modelFingerprint(getModelSpec(this.config.model)),
        manifest: this.manifest,
        dataset: this.config.dataset,
        datasetFingerprint: this.dataset.fingerprint,
        maxShard: Math.max(this.config.batchSize, this.config.evalChunk),
        ...(this.config.gradWire && this.config.gradWire !== 'fp32' ? { gradWire: this.config.gradWire } : {}),
      },
      {
        paramCount: this.weights.length,
        trainSize: this.dataset.size('train'),
        evalSize: Math.max(this.dataset.size('val'), this.dataset.size('test')),
      },
    );
    this.runDir.lock(); // released when the run ends; the newer checkpoints go only after the first step, under it
    this.records.discardAfterFirstStep(discard);
  }

  /** A line for the person running this: to the caller's log and, timestamped, to the run's run.log. */
  log(line: string): void {
    this.opts.log(line);
    this.runDir.appendLog(line);
  }

  get runDir(): RunDir {
    return this.records.runDir;
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
    this.stopReason ??= reason;
    if (this.pool.ready().length === 0 || this.waiting) this.halt.abort();
  }

  /** Train to the end (or until stopped); always writes the final checkpoint and summary. */
  async run(): Promise<RunSummary> {
    const done =
      this.resumedFrom && this.train.step >= this.derived.totalSteps
        ? completedSummary(this.opts.out, this.train.step)
        : null;
    if (done) {
      this.log(
        `the run in ${this.opts.out} already completed at step ${done.steps}; nothing to do (its records are kept as they are)`,
      );
      this.runDir.unlock();
      return done;
    }
    const t0 = performance.now();
    const wall0 = this.train.wallMs;
    let status: RunSummary['status'] = 'completed';
    let error: string | undefined;
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
    if (!this.resumedFrom) this.checkpoint();
    try {
      while (this.train.step < this.derived.totalSteps && this.stopReason === null) {
        if (!(await this.ensureWorkers())) break;
        if (!(await this.trainStep())) break;
        this.train.wallMs = wall0 + (performance.now() - t0);
        const last = this.train.step === this.derived.totalSteps;
        if (this.rules.evaluationDue(this.train.step, this.cursor.atEpochStart) && !last) await this.evaluateAll();
        if (this.rules.reachedStopAccuracy()) break; // the final evaluation below is the one that reached it, repeated on test
        if (this.rules.stalledReason !== null) break; // the final evaluation below adds the test split
        if (this.rules.checkpointDue(this.train.step) && !last) this.checkpoint();
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
      status = e instanceof TrainerError && e.code === 'ERR_DIVERGED' ? 'diverged' : 'failed';
      error = e instanceof TrainerError ? e.describe() : String((e as Error)?.stack ?? e);
      this.log(`run ${status}: ${error}`);
      if (status === 'diverged') this.records.event(this.train.step, 'diverged', error);
    } finally {
      unwatch();
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
    const step = this.train.step + 1;
    const version = this.train.step;
    const ready = this.pool.ready();
    const slots = new Map(ready.map((w) => [w.id, w.hello?.slots ?? 1]));
    const speeds = this.config.balance === 'speed' ? this.pool.speeds : null;
    const shards = cutBatch(
      this.cursor.nextBatch(),
      ready.map((w) => w.id),
      speeds,
      (id) => slots.get(id) ?? 1,
    );
    const reducer = new ShardReducer(this.meanGrad, shards.length);
    const tally = new StepTally();
    const tasks = stepTasks(shards, step, version, this.train.epoch);
    const round = this.pool.runRound(
      {
        kind: 'step',
        step,
        version,
        tasks,
        timeoutMs: this.config.stepTimeoutMs,
        onAccepted: (conn, gradient) => {
          reducer.add(gradient); // summed in shard order whatever the arrival order
          tally.accept(conn.label, gradient);
          this.records.shardDone(conn, gradient);
        },
      },
      this.halt.signal,
    );
    const assigned = performance.now();
    this.pool.publishWeights(version, this.weights);
    const shared = performance.now();
    this.records.flush(); // the last step's record, off the critical path
    const outcome = await round;
    if (!outcome) return false;
    const reduce = performance.now();
    const { reduced, lr, bSimple, est } = this.apply(step, outcome, reducer);
    this.cursor.advance(reduced.samples);
    const marks = { t0, assigned, shared, reduce, end: performance.now() };
    this.records.hold(
      this.stepRecord(step, reduced, lr, { shards, tally, ready: ready.length, outcome, marks, bytes0 }, est, bSimple),
    );
    return true;
  }

  /** Reduce, check and apply the step's gradient (nothing of a step that diverged is applied). */
  private apply(step: number, outcome: RoundOutcome, reducer: ShardReducer) {
    const lr = learningRate(scheduleOf(this.config), this.train.step);
    if (outcome.diverged) {
      const d = outcome.diverged;
      throw divergedError(step, lr, `worker ${d.worker}'s ${d.what} for shard ${d.shardId} is not finite`);
    }
    const reduced = reducer.finish();
    if (!allFinite(reduced.meanGrad)) throw divergedError(step, lr, 'the mean gradient is not finite');
    const est = noiseEstimate(reduced.shards, reduced.meanNormSq);
    const bSimple = est ? this.noise.update(est) : null;
    this.optimizer.step(lr, this.weights, reduced.meanGrad);
    if (!allFinite(this.weights)) {
      this.weightsSpoiled = true; // never broadcast nor checkpointed; the last good checkpoint stays
      throw divergedError(step, lr, 'the updated weights are not finite');
    }
    return { reduced, lr, bSimple, est };
  }

  private stepRecord(
    step: number,
    reduced: ReturnType<ShardReducer['finish']>,
    lr: number,
    s: {
      shards: Shard[];
      tally: StepTally;
      ready: number;
      outcome: RoundOutcome;
      marks: Parameters<typeof stepTimes>[0];
      bytes0: { in: number; out: number };
    },
    est: ReturnType<typeof noiseEstimate>,
    bSimple: number | null,
  ): StepRecord {
    const bytes = this.pool.bytes;
    return {
      type: 'step',
      step,
      epoch: this.cursor.epochFloat,
      loss: reduced.meanLoss,
      accuracy: reduced.accuracy,
      lr,
      samples: reduced.samples,
      samplesDigest: samplesDigest(s.shards, s.tally.used),
      workers: s.ready,
      computeMs: s.tally.computeMs,
      links: s.tally.links,
      ...stepTimes(s.marks, s.outcome.decodeMs),
      bytesIn: bytes.in - s.bytes0.in,
      bytesOut: bytes.out - s.bytes0.out,
      reassigned: s.outcome.reassigned,
      gradNormSq: est?.gradNormSq ?? null,
      traceSigma: est?.traceSigma ?? null,
      bSimple,
      time: Date.now(),
    };
  }

  /** Sharded evaluation of the validation (if any) and test splits at the current weights. */
  private async evaluateAll(final = false): Promise<void> {
    this.records.flush();
    this.pool.publishWeights(this.train.step, this.weights);
    const splits = final || this.config.testEvery !== 'end' ? (['val', 'test'] as const) : (['val'] as const);
    for (const split of splits) {
      const n = this.dataset.size(split);
      if (n === 0) continue;
      if (!(await this.ensureWorkers())) return;
      const t0 = performance.now();
      const results = new Map<number, EvalResultMsg>();
      const outcome = await this.pool.runRound(
        {
          kind: 'eval',
          evalId: ++this.evalId,
          tasks: evalTasks(this.evalId, split, n, this.config.evalChunk),
          timeoutMs: this.config.stepTimeoutMs,
          onAccepted: (_conn, result) => void results.set(result.shardId, result),
        },
        this.halt.signal,
      );
      if (!outcome) return;
      const record = evalRecord(results, {
        step: this.train.step,
        epoch: this.cursor.epochFloat,
        split,
        ms: performance.now() - t0,
      });
      if (split === 'val') this.rules.observeValidation(record.epoch, record.loss, record.accuracy, final);
      this.records.evaluated(record);
    }
  }

  /** Wait until enough workers are ready: all `workers` at the start, `minWorkers` later. False if stopped. */
  private async ensureWorkers(): Promise<boolean> {
    const started = this.train.step > 0 || this.resumedFrom !== null;
    const need = started ? this.config.minWorkers : this.config.workers;
    if (this.pool.ready().length >= need) return this.stopReason === null;
    this.waiting = true;
    this.log(`waiting for ${need} worker(s); ${this.pool.ready().length} ready`);
    const { workers, minWorkers } = this.config;
    try {
      return await this.pool.waitForWorkers(
        { workers, minWorkers, started, timeoutMs: this.opts.waitTimeoutMs },
        this.halt.signal,
      );
    } finally {
      this.waiting = false;
    }
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
      : this.weightsSpoiled
        ? (listCheckpoints(this.runDir.dir).at(-1) ?? '') // the last good one on disk
        : this.checkpoint();
    this.done = true;
    if (fruitless)
      this.log(`resume failed before its first step: ${finalCheckpoint} and the earlier summary.json are kept`);
    const summary = this.records.summarize(
      {
        status,
        error,
        stopReason: this.stopReason ?? this.rules.stalledReason,
        config: this.config,
        derived: this.derived,
        train: this.train,
        finalCheckpoint,
        resumedFrom: this.resumedFrom,
        runId: this.runId,
      },
      !fruitless,
    );
    this.runDir.unlock();
    return summary;
  }

  /** Write a checkpoint of the current state, after the metrics records up to it. */
  private checkpoint(): string {
    this.rules.checkpointed();
    this.records.flush();
    return writeCheckpoint(
      this.runDir.checkpointsDir,
      {
        ...this.train,
        seed: this.config.seed,
        config: this.config,
        manifest: this.manifest,
        paramCount: this.weights.length,
        modelFingerprint: modelFingerprint(getModelSpec(this.config.model)),
        modelSpec: getModelSpec(this.config.model),
      },
      this.weights,
      this.optimizer.state(),
      this.config.keepCheckpoints ?? 0,
    );
  }
}
