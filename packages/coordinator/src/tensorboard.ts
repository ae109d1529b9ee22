// TensorBoard event files beside metrics.jsonl, so `tensorboard --logdir runs/` shows every run: per step the
// training loss and accuracy, learning rate, throughput, the step-time breakdown, bytes on the wire and the
// gradient noise scale; per evaluation the split's loss and accuracy; the run's hyperparameters (hparams
// plugin). One file per attempt (events.out.tfevents.<seconds>.<host>.<pid>.<n>.dtrain); a resume starts its file
// with a SessionLog START at its first step, so TensorBoard drops the first attempt's events from there on. Written as
// the records are (encoding: common's tfevents.ts); a write that fails is reported once and never stops a run.

import { appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileVersionEvent, type HParamValue, hparamsEvent, scalarsEvent, sessionStartEvent } from '@dtrain/common';
import type { EvalRecord, MetricRecord, StepRecord } from './rundir.js';

/** The config's scalar settings as hyperparameters (nested keys joined with '.'; the layer spec left out). */
export function hparamsOf(config: object): Record<string, HParamValue> {
  const out: Record<string, HParamValue> = {};
  const walk = (o: object, prefix: string): void => {
    for (const [k, v] of Object.entries(o)) {
      if (k === 'modelSpec') continue;
      if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[prefix + k] = v;
      else if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, `${prefix}${k}.`);
    }
  };
  walk(config, '');
  return out;
}

/** What a step shows in TensorBoard, under tags grouped as its dashboard groups them (by the part before '/'). */
export function stepScalars(r: StepRecord): Record<string, number> {
  const scalars: Record<string, number> = {
    'train/loss': r.loss,
    'train/accuracy': r.accuracy,
    'train/lr': r.lr,
    'throughput/samples_per_second': r.stepMs > 0 ? (1000 * r.samples) / r.stepMs : Number.NaN,
    'time/step_ms': r.stepMs,
    'time/wait_ms': r.waitMs,
    'time/coordinator_ms': r.coordMs,
    'wire/bytes_in': r.bytesIn,
    'wire/bytes_out': r.bytesOut,
    'cluster/workers': r.workers,
    'cluster/reassigned': r.reassigned,
  };
  if (r.bSimple !== null) scalars['noise/b_simple'] = r.bSimple;
  if (r.gradNormSq !== null) scalars['noise/grad_norm_sq'] = r.gradNormSq;
  if (r.traceSigma !== null) scalars['noise/trace_sigma'] = r.traceSigma;
  if (r.gradNorm !== undefined) scalars['train/grad_norm'] = r.gradNorm;
  return scalars;
}

function evalScalars(r: EvalRecord): Record<string, number> {
  return { [`${r.split}/loss`]: r.loss, [`${r.split}/accuracy`]: r.accuracy };
}

/** Files this process opened (two attempts in one second of one process still get two files). */
let filesOpened = 0;

export class TensorBoardLog {
  private path: string | null = null;
  private failed = false;

  constructor(
    private readonly dir: string,
    private readonly warn: (line: string) => void = () => undefined,
  ) {}

  /** Start this attempt's file: version, hyperparameters, and on resume the step TensorBoard keeps events up to. */
  start(config: object, resumedAt: number | null, now = Date.now()): void {
    const name = `events.out.tfevents.${Math.floor(now / 1000)}.${hostname()}.${process.pid}.${++filesOpened}.dtrain`;
    this.path = join(this.dir, name);
    this.write(fileVersionEvent(now));
    if (resumedAt !== null) this.write(sessionStartEvent(now, resumedAt + 1)); // the first step this attempt writes
    this.write(hparamsEvent(now, hparamsOf(config)));
  }

  record(r: MetricRecord): void {
    if (!this.path) return;
    if (r.type === 'step') this.write(scalarsEvent(r.time, r.step, stepScalars(r)));
    else if (r.type === 'eval') this.write(scalarsEvent(r.time, r.step, evalScalars(r)));
  }

  private write(bytes: Uint8Array): void {
    if (this.failed || !this.path) return;
    try {
      appendFileSync(this.path, bytes);
    } catch (e) {
      this.failed = true;
      this.warn(`TensorBoard events not written any more (${(e as Error).message}); metrics.jsonl has every record`);
    }
  }
}
