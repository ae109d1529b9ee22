// What a run records, in order: config.json, metrics.jsonl (steps, evaluations, events; the same steps and
// evaluations as TensorBoard event files, tensorboard.ts), per-worker totals and summary.json. A step's
// record is held back while the next step's work goes out and is
// written before anything that follows it (an event, an evaluation, a checkpoint), so metrics.jsonl
// stays in step order.

import { EventEmitter } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Derived, EvalSplit, TrainConfig } from '@dtrain/common';
import type { TrainState } from './checkpoint.js';
import { type EvalRecord, type MetricRecord, RunDir, type StepRecord } from './rundir.js';
import type { WorkerConn } from './server.js';
import { buildSummary, countShard, type RunSummary, type WorkerStats } from './summary.js';
import { TensorBoardLog } from './tensorboard.js';

export interface RunLogEvents {
  step: [StepRecord];
  eval: [EvalRecord];
}

export class RunLog extends EventEmitter<RunLogEvents> {
  readonly runDir: RunDir;
  private held: StepRecord | null = null;
  private resume: { from: string; step: number; config: object } | null = null;
  /** This attempt's config and start step, until its first record starts its TensorBoard file. */
  private tbPending: { config: object; resumedAt: number | null } | null = null;
  private readonly tb: TensorBoardLog;
  private readonly workers = new Map<string, WorkerStats>();
  private readonly lastEval: Partial<Record<EvalSplit, EvalRecord>> = {};
  /** Newer checkpoints a resume with --overwrite replaces: removed after its first step, never before. */
  private discard: string[] = [];

  constructor(out: string, warn: (line: string) => void = () => undefined) {
    super();
    this.runDir = new RunDir(out);
    this.tb = new TensorBoardLog(out, warn);
  }

  /**
   * config.json. On resume, records after the checkpoint's step (never committed: they are redone) are
   * dropped, a resume event logged and config.json replaced by this attempt's (an extended run says its new
   * length), but only when this attempt records its first line: a resume that never gets going changes nothing.
   */
  open(config: object, resumedFrom: string | null, step: number): void {
    if (!resumedFrom || !existsSync(join(this.runDir.dir, 'config.json'))) this.runDir.writeConfig(config);
    this.resume = resumedFrom ? { from: resumedFrom, step, config } : null;
    this.tbPending = { config, resumedAt: resumedFrom ? step : null };
  }

  /** The deferred part of open(), before this attempt's first record. */
  private append(record: MetricRecord): void {
    const r = this.resume;
    if (r) {
      this.resume = null;
      this.runDir.writeConfig(r.config);
      this.runDir.truncateAfter(r.step);
      this.runDir.append({ type: 'event', step: r.step, event: 'resume', detail: r.from, time: Date.now() });
    }
    const tb = this.tbPending;
    if (tb) {
      this.tbPending = null;
      this.tb.start(tb.config, tb.resumedAt);
    }
    this.runDir.append(record);
    this.tb.record(record);
  }

  /** Checkpoints to remove once this attempt has done its first step (a resume with --overwrite). */
  discardAfterFirstStep(dirs: string[]): void {
    this.discard = dirs;
  }

  /** Hold a step's record until the next step's work is out (see flush). */
  hold(record: StepRecord): void {
    for (const dir of this.discard.splice(0)) rmSync(dir, { recursive: true, force: true });
    this.flush();
    this.held = record;
  }

  /** Write the held step record, if any. */
  flush(): void {
    const r = this.held;
    this.held = null;
    if (!r) return;
    this.append(r);
    this.emit('step', r);
  }

  evaluated(record: EvalRecord): void {
    this.flush();
    this.lastEval[record.split] = record;
    this.append(record);
    this.emit('eval', record);
  }

  workerJoined(conn: WorkerConn): void {
    const h = conn.hello;
    if (!h || this.workers.has(conn.label)) return;
    this.workers.set(conn.label, {
      label: conn.label,
      host: h.host,
      backend: h.backend,
      backendReason: h.backendReason,
      shards: 0,
      samples: 0,
      computeMs: 0,
    });
  }

  workerLost(conn: WorkerConn, why: string, step: number): void {
    this.event(step, 'worker-lost', `${conn.label} ${why}`);
  }

  /** An event record (worker-lost, worker-demoted, worker-promoted, ...), after the step before it. */
  event(step: number, event: string, detail: string): void {
    this.flush();
    this.append({ type: 'event', step, event, detail, time: Date.now() });
  }

  /** Count an accepted shard in its worker's totals. */
  shardDone(conn: WorkerConn, shard: { count: number; computeMs: number }): void {
    countShard(this.workers.get(conn.label), shard);
  }

  /** The run's summary, from metrics.jsonl and the totals; written to summary.json unless `write` is false. */
  summarize(
    a: {
      status: RunSummary['status'];
      error: string | undefined;
      stopReason: string | null;
      config: TrainConfig;
      derived: Derived;
      train: TrainState;
      finalCheckpoint: string;
      resumedFrom: string | null;
      runId: string;
    },
    write = true,
  ): RunSummary {
    this.flush();
    const summary = buildSummary({
      ...a,
      workers: [...this.workers.values()],
      lastEval: this.lastEval,
      runDir: this.runDir.dir,
    });
    if (write) this.runDir.writeSummary(summary);
    return summary;
  }
}
