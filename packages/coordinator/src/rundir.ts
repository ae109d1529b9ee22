// The run directory: config.json, metrics.jsonl (one JSON record per line, appended as the run goes),
// summary.json; all JSON files written atomically (temp file + rename).

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TrainerError } from '@dtrain/common';
import { makeDir, writeFileAtomic, writeJsonAtomic } from '@dtrain/common/files';

export interface StepRecord {
  type: 'step';
  step: number;
  epoch: number;
  loss: number;
  accuracy: number;
  lr: number;
  samples: number;
  /** Digest of the sample indices applied in this step (see samplesDigest; indicesDigest of the planned batch). */
  samplesDigest: string;
  workers: number;
  /** Per-worker compute time (worker-reported), by worker label. */
  computeMs: Record<string, number>;
  /**
   * Per-worker link times, by label: download = how long the worker's assignment waited for the weights
   * (worker-measured); upload = the rest of the round trip, from the assignment sent to the gradient
   * received, after compute and download. One-way times without synchronized clocks: estimates.
   */
  links: Record<string, { downloadMs: number; uploadMs: number }>;
  /** Step wall time, and the part spent waiting for gradients after the last assignment went out. */
  stepMs: number;
  waitMs: number;
  /** Coordinator's own work: decode+validate gradients, reduce+update, send weights (after the assignments), assign. */
  decodeMs: number;
  reduceUpdateMs: number;
  broadcastMs: number;
  assignMs: number;
  coordMs: number;
  bytesIn: number;
  bytesOut: number;
  reassigned: number;
  /** Two-batch estimates of |G|^2 and tr(Sigma) from the shards (null with one shard), and the smoothed B_simple. */
  gradNormSq: number | null;
  traceSigma: number | null;
  bSimple: number | null;
  /** With --clip-grad-norm: the mean gradient's global L2 norm before clipping (clipped when above the limit). */
  gradNorm?: number;
  /** Summed by the host servers' mesh (sharded summation), in this mesh epoch; absent: through the star. */
  mesh?: number;
  time: number;
}

/** Timestamps (performance.now) of one step: start, assignments sent, weights sent, last gradient in, end. */
export interface StepMarks {
  t0: number;
  assigned: number;
  shared: number;
  reduce: number;
  end: number;
}

/** A step record's timing fields; decodeMs is the gradients' receive + decode + validate time. */
export function stepTimes(
  m: StepMarks,
  decodeMs: number,
): Pick<StepRecord, 'stepMs' | 'waitMs' | 'decodeMs' | 'reduceUpdateMs' | 'broadcastMs' | 'assignMs' | 'coordMs'> {
  return {
    stepMs: m.end - m.t0,
    waitMs: m.reduce - m.shared,
    decodeMs,
    reduceUpdateMs: m.end - m.reduce,
    broadcastMs: m.shared - m.assigned,
    assignMs: m.assigned - m.t0,
    coordMs: decodeMs + (m.end - m.reduce) + (m.shared - m.t0),
  };
}

export interface EvalRecord {
  type: 'eval';
  step: number;
  epoch: number;
  split: 'val' | 'test';
  loss: number;
  accuracy: number;
  samples: number;
  ms: number;
  time: number;
}

export interface EventRecord {
  type: 'event';
  step: number;
  event: string;
  detail: string;
  time: number;
}

export type MetricRecord = StepRecord | EvalRecord | EventRecord;

/**
 * The records of a run directory's metrics.jsonl, or of an archived metrics.jsonl.gz (none if neither
 * exists yet). A line that is not a record (torn by a crash, or damaged) is skipped, never fatal.
 */
export function readMetrics(dir: string): MetricRecord[] {
  const p = join(dir, 'metrics.jsonl');
  const archived = `${p}.gz`;
  const text = existsSync(p)
    ? readFileSync(p, 'utf8')
    : existsSync(archived)
      ? gunzipSync(readFileSync(archived)).toString('utf8')
      : '';
  return text.split('\n').flatMap((l) => {
    try {
      const r = JSON.parse(l) as unknown;
      return typeof r === 'object' && r !== null && typeof (r as { type?: unknown }).type === 'string'
        ? [r as MetricRecord]
        : [];
    } catch {
      return [];
    }
  });
}

function readLock(path: string): { pid: number; host: string; since: string } | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; host?: unknown; since?: unknown };
    return typeof v.pid === 'number' && typeof v.host === 'string'
      ? { pid: v.pid, host: v.host, since: String(v.since) }
      : null;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** --overwrite: empty a run directory under its lock (refused, touching nothing, while a live run holds it). */
export function clearRunDir(dir: string): void {
  const rd = new RunDir(dir);
  rd.lock();
  try {
    for (const entry of readdirSync(dir))
      if (entry !== '.lock') rmSync(join(dir, entry), { recursive: true, force: true });
  } finally {
    rd.unlock();
  }
}

export class RunDir {
  readonly metricsPath: string;
  private locked = false;

  constructor(readonly dir: string) {
    try {
      makeDir(dir);
    } catch (e) {
      throw new TrainerError('ERR_BAD_CONFIG', `cannot create the run directory ${dir}: ${(e as Error).message}`, {
        hint: 'choose a writable --out directory',
      });
    }
    this.metricsPath = join(dir, 'metrics.jsonl');
  }

  /**
   * Hold the directory for this process (`.lock`: pid, host, start time). Another live holder on this
   * host is refused by name; a holder that is gone (same host, no such process) is a stale lock and is
   * replaced; a holder on another host cannot be checked and is refused with how to clear it.
   */
  lock(): void {
    const path = join(this.dir, '.lock');
    const mine = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, mine, { flag: 'wx' });
        this.locked = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readLock(path);
      if (holder && holder.host === hostname() && !processAlive(holder.pid)) {
        rmSync(path, { force: true }); // stale: its process is gone
        continue;
      }
      const who = holder ? `pid ${holder.pid} on ${holder.host} since ${holder.since}` : 'another process';
      throw new TrainerError('ERR_BAD_CONFIG', `the run directory ${this.dir} is in use by ${who}`, {
        hint:
          holder && holder.host !== hostname()
            ? `choose another --out, or remove ${path} if that process is gone`
            : 'wait for that run to end, or choose another --out',
      });
    }
  }

  /** Release the lock if this process holds it. */
  unlock(): void {
    if (!this.locked) return;
    this.locked = false;
    rmSync(join(this.dir, '.lock'), { force: true });
  }

  get checkpointsDir(): string {
    return join(this.dir, 'checkpoints');
  }

  /** The mean gradient step `step` applied, as gradients/step-NNNNNNNN.f32 (little-endian float32, manifest order). */
  writeGradient(step: number, grad: Float32Array): void {
    const dir = join(this.dir, 'gradients');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `step-${String(step).padStart(8, '0')}.f32`),
      new Uint8Array(grad.buffer, grad.byteOffset, grad.byteLength),
    );
  }

  writeConfig(config: unknown): void {
    writeJsonAtomic(join(this.dir, 'config.json'), config);
  }

  writeSummary(summary: unknown): void {
    writeJsonAtomic(join(this.dir, 'summary.json'), summary);
  }

  append(record: MetricRecord): void {
    appendFileSync(this.metricsPath, JSON.stringify(record) + '\n');
  }

  /** One line of the run's log file (run.log), with an ISO timestamp: logs of many hosts can be merged by time. */
  appendLog(line: string): void {
    try {
      appendFileSync(join(this.dir, 'run.log'), `${new Date().toISOString()} ${line.replace(/\n/g, '\n    ')}\n`);
    } catch {
      /* the log file is a convenience: a full disk shows in the metrics and checkpoint writes */
    }
  }

  /** On resume into the same directory: keep only records up to `step` (they are redone after it). */
  truncateAfter(step: number): void {
    if (!existsSync(this.metricsPath)) return;
    const kept = readFileSync(this.metricsPath, 'utf8')
      .split('\n')
      .filter((line) => {
        if (!line.trim()) return false;
        try {
          return (JSON.parse(line) as { step: number }).step <= step;
        } catch {
          return false;
        }
      });
    writeFileAtomic(this.metricsPath, kept.map((l) => l + '\n').join(''));
  }
}

/** runs/<UTC timestamp> */
export function defaultRunDir(root = 'runs'): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
  return join(root, stamp);
}
