// `dtrain bench exchange`: the coordinator's part of a step (receive + decode + validate, reduce + update,
// encode + send, assign) with N echo workers in their own processes; prints one JSON line of medians.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, percentile } from '@dtrain/common';
import { openSoloRun, type StepRecord } from '@dtrain/coordinator';
import { syntheticCacheDir } from '../data/fetch.js';
import { type TrainInput, toTrainConfig } from '../options/options.js';
import { allExited } from '../processes/children.js';
import { CLI_PATH as CLI } from '../processes/path.js';
import { GcPauses } from './gc-pauses.js';

/** With `token`, the session is sealed (AES-256-GCM both ways): the run measures what that costs. */
export async function benchExchange(
  a: TrainInput & { steps: number; token?: string | undefined },
): Promise<Record<string, unknown>> {
  const config = {
    ...toTrainConfig({ ...a, maxSteps: a.steps }),
    evalEvery: 1e9,
    dataset: {
      name: 'synthetic' as const,
      trainSize: Math.max(4 * a.batchSize, 1000),
      testSize: 10,
      seed: 1,
      valFraction: 0,
      normalize: false,
      augment: false,
    },
  };
  const { coord, port, run } = await openSoloRun({
    config,
    host: '127.0.0.1',
    port: 0,
    token: a.token,
    out: mkdtempSync(join(tmpdir(), 'dtrain-bench-')),
    waitTimeoutMs: 60_000,
    data: { syntheticCacheDir: syntheticCacheDir() },
    log: () => undefined,
  });
  const kids = Array.from({ length: a.workers }, () =>
    spawn(process.execPath, [CLI, 'bench', 'echo-worker', '--connect', `ws://127.0.0.1:${port}`], {
      stdio: 'inherit',
      env: { ...process.env, DTRAIN_TOKEN: a.token ?? '' },
    }),
  );
  const steps: StepRecord[] = [];
  const cpu = new CpuAndGc(warmFrom(a.steps));
  coord.on('step', (r) => {
    steps.push(r);
    cpu.step(steps.length);
  });
  const summary = await run();
  cpu.stop();
  await allExited(kids);
  const timing = exchangeTimes(steps);
  return {
    bench: 'exchange',
    sealed: a.token !== undefined,
    model: config.model,
    params: coord.derived.paramCount,
    workers: a.workers,
    batchSize: a.batchSize,
    steps: summary.steps,
    ...timing,
    ...cpu.result(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
  };
}

/** The steps the medians skip: the first fifth, at most 20. */
function warmFrom(steps: number): number {
  return Math.min(20, Math.floor(steps / 5));
}

/**
 * The coordinator process's CPU time and garbage-collection pauses over the warm steps (the workers are other
 * processes): GC as a share of the CPU the process spent, the "garbage collection <= 5% of a profile",
 * and the part of it spent in full (mark-compact) collections.
 */
class CpuAndGc {
  private readonly gc = new GcPauses();
  private start: { cpu: NodeJS.CpuUsage; at: number } | null = null;
  private last: { cpu: NodeJS.CpuUsage; at: number; steps: number } | null = null;

  constructor(private readonly warm: number) {}

  step(n: number): void {
    if (n === this.warm) this.start = { cpu: process.cpuUsage(), at: performance.now() };
    else if (this.start && n > this.warm)
      this.last = { cpu: process.cpuUsage(this.start.cpu), at: performance.now(), steps: n - this.warm };
  }

  stop(): void {
    this.gc.stop();
  }

  result(): Record<string, number> {
    const { start, last } = this;
    if (!start || !last) return {};
    const gcMs = this.gc.between(start.at, last.at);
    const cpuMs = (last.cpu.user + last.cpu.system) / 1000;
    const fixed = (x: number, d: number) => Number(x.toFixed(d));
    return {
      cpuMsPerStep: fixed(cpuMs / last.steps, 3),
      gcMsPerStep: fixed(gcMs / last.steps, 3),
      gcShareOfCpu: fixed(gcMs / cpuMs, 4),
      gcMajorShareOfCpu: fixed(this.gc.between(start.at, last.at, true) / cpuMs, 4),
    };
  }
}

/** Medians (and the coordinator's p90) over the warm steps. */
function exchangeTimes(steps: StepRecord[]): Record<string, number> {
  const warm = steps.slice(warmFrom(steps.length));
  const m = (k: keyof StepRecord) => Number(median(warm.map((r) => r[k] as number)).toFixed(3));
  const p90 = Number(
    percentile(
      warm.map((r) => r.coordMs),
      0.9,
    ).toFixed(3),
  );
  const phases = { decodeMs: m('decodeMs'), reduceUpdateMs: m('reduceUpdateMs'), broadcastMs: m('broadcastMs') };
  const bytesPerStep = m('bytesIn') + m('bytesOut');
  return {
    coordMsMedian: m('coordMs'),
    coordMsP90: p90,
    ...phases,
    assignMs: m('assignMs'),
    stepMs: m('stepMs'),
    bytesPerStep,
  };
}
