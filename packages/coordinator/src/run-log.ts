// What a run records, in order: config.json, metrics.jsonl (steps, evaluations, events), per-worker
// totals and summary.json. A step's record is held back while the next step's work goes out and is
// written before anything that follows it (an event, an evaluation, a checkpoint), so metrics.jsonl
// stays in step order.

import { EventEmitter } from 'node:events';
import type { Derived, EvalSplit, TrainConfig } from '@dtrain/common';
import type { TrainState } from './checkpoint.js';
import { RunDir, type EvalRecord, type StepRecord } from './rundir.js';
import type { WorkerConn } from './server.js';
import { buildSummary, countShard, type RunSummary, type WorkerStats } from './summary.js';

export interface RunLogEvents {
  step: [StepRecord];
  eval: [EvalRecord];
}

export class RunLog extends EventEmitter<RunLogEvents> {
  readonly runDir: RunDir;
  private held: StepRecord | null = null;
  private readonly workers = new Map<string, WorkerStats>();
  private readonly lastEval: Partial<Record<EvalSplit, EvalRecord>> = {};

  constructor(out: string) {
    super();
    this.runDir = new RunDir(out);
  }

  /** config.json; on resume, records after the checkpoint's step are dropped (they are redone) and a resume event logged. */
  open(config: object, resumedFrom: string | null, step: number): void {
    this.runDir.writeConfig(config);
    if (!resumedFrom) return;
    this.runDir.truncateAfter(step);
    this.runDir.append({ type: 'event', step, event: 'resume', detail: resumedFrom, time: Date.now() });
  }

  /** Hold a step's record until the next step's work is out (see flush). */
  hold(record: StepRecord): void {
    this.flush();
    this.held = record;
  }

  /** Write the held step record, if any. */
  flush(): void {
    const r = this.held;
    this.held = null;
    if (!r) return;
    this.runDir.append(r);
    this.emit('step', r);
  }

  evaluated(record: EvalRecord): void {
    this.flush();
    this.lastEval[record.split] = record;
    this.runDir.append(record);
    this.emit('eval', record);
  }

  workerJoined(conn: WorkerConn): void {
    const h = conn.hello;
    if (!h || this.workers.has(conn.label)) return;
    this.workers.set(conn.label, { label: conn.label, host: h.host, backend: h.backend, backendReason: h.backendReason, shards: 0, samples: 0, computeMs: 0 });
  }

  workerLost(conn: WorkerConn, why: string, step: number): void {
    this.flush(); // the step before the event stays before it
    this.runDir.append({ type: 'event', step, event: 'worker-lost', detail: `${conn.label} ${why}`, time: Date.now() });
  }

  /** Count an accepted shard in its worker's totals. */
  shardDone(conn: WorkerConn, shard: { count: number; computeMs: number }): void {
    countShard(this.workers.get(conn.label), shard);
  }

  /** summary.json, from metrics.jsonl and the totals. */
  summarize(a: {
    status: RunSummary['status']; error: string | undefined; stopReason: string | null; config: TrainConfig; derived: Derived;
    train: TrainState; finalCheckpoint: string; resumedFrom: string | null; runId: string;
  }): RunSummary {
    this.flush();
    const summary = buildSummary({ ...a, workers: [...this.workers.values()], lastEval: this.lastEval, runDir: this.runDir.dir });
    this.runDir.writeSummary(summary);
    return summary;
  }
}
