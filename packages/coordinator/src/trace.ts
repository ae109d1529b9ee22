// `--trace FILE`: the run as a timeline in the Chrome trace-event format (JSON array of complete events,
// 'X'), which Perfetto (ui.perfetto.dev) and chrome://tracing open. Track "coordinator": each step, and in
// it assign, broadcast (the weights), wait (for gradients) and reduce + update; each evaluation. Two tracks
// per worker: its compute per accepted result, and its link: the download (its first task of a step waited
// that long for the weights) and each result's upload, from the end of its compute to its arrival. Placed on
// the coordinator's clock from the times the worker reported (compute starts once the weights are in and its
// previous task is done); events of one track never overlap, so every track nests. Appended as the run
// goes; the closing bracket is written at the end, and viewers read a file cut short by a crash without it.

import { appendFileSync, writeFileSync } from 'node:fs';
import type { StepMarks } from './rundir.js';

/** One result a step accepted: who, when (ms after the step started), and what the worker reported. */
export interface Arrival {
  label: string;
  atMs: number;
  computeMs: number;
  fetchMs: number;
}

interface TraceEvent {
  name: string;
  ph: 'X' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

const PID = 1;
const us = (ms: number) => Math.round(ms * 1000);

export class TraceWriter {
  private first = true;
  private readonly tids = new Map<string, number>();
  private failed = false;

  constructor(
    private readonly path: string,
    private readonly warn: (line: string) => void = () => undefined,
  ) {
    this.guard(() => writeFileSync(path, '['));
    this.emit({ name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: 'dtrain run' } });
    this.emit({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: 'coordinator' } });
  }

  /** A step's coordinator phases (marks: performance.now times) and its workers' results. */
  step(step: number, m: StepMarks, arrivals: readonly Arrival[]): void {
    this.x(`step ${step}`, m.t0, m.end, 0, step);
    this.x('assign', m.t0, m.assigned, 0, step);
    this.x('broadcast', m.assigned, m.shared, 0, step);
    this.x('wait', m.shared, m.reduce, 0, step);
    this.x('reduce + update', m.reduce, m.end, 0, step);
    const computeFree = new Map<string, number>();
    const linkFree = new Map<string, number>();
    for (const a of arrivals) {
      const arrived = m.t0 + a.atMs;
      const [worker, link] = [this.tid(a.label), this.tid(`${a.label} link`)];
      const first = !computeFree.has(a.label);
      const weightsIn = first ? Math.min(arrived, m.t0 + a.fetchMs) : m.t0;
      if (first && a.fetchMs > 0) this.x('download', m.t0, weightsIn, link, step);
      // computing starts once the weights are in and the worker's previous task is done; it ends by the arrival
      const start = Math.max(weightsIn, computeFree.get(a.label) ?? m.t0);
      const done = Math.min(arrived, start + a.computeMs);
      this.x('compute', start, done, worker, step);
      computeFree.set(a.label, done);
      const sent = Math.max(done, linkFree.get(a.label) ?? m.t0);
      this.x('upload', sent, arrived, link, step);
      linkFree.set(a.label, arrived);
    }
  }

  private x(name: string, from: number, to: number, tid: number, step: number): void {
    this.emit({ name, ph: 'X', ts: us(from), dur: Math.max(0, us(to) - us(from)), pid: PID, tid, args: { step } });
  }

  /** An evaluation of one split, on the coordinator's track. */
  evaluation(split: string, step: number, from: number, to: number): void {
    this.x(`evaluation (${split})`, from, to, 0, step);
  }

  close(): void {
    this.guard(() => appendFileSync(this.path, '\n]\n'));
  }

  private tid(label: string): number {
    let tid = this.tids.get(label);
    if (tid === undefined) {
      tid = this.tids.size + 1;
      this.tids.set(label, tid);
      this.emit({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid, args: { name: `worker ${label}` } });
    }
    return tid;
  }

  private emit(e: TraceEvent): void {
    const sep = this.first ? '\n' : ',\n';
    this.first = false;
    this.guard(() => appendFileSync(this.path, sep + JSON.stringify(e)));
  }

  private guard(write: () => void): void {
    if (this.failed) return;
    try {
      write();
    } catch (e) {
      this.failed = true;
      this.warn(`--trace ${this.path}: not written any more (${(e as Error).message})`);
    }
  }
}
