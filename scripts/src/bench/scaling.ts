// `dtrain bench scaling`: the whole trainer with 1 and then 2 local worker processes at the same
// per-worker batch (coordinator included); prints images/s of each and their ratio as one JSON line.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from '@dtrain/common';
import { openSoloRun, type StepRecord } from '@dtrain/coordinator';
import { syntheticCacheDir } from '../data/fetch.js';
import { type TrainInput, toTrainConfig } from '../options/options.js';
import { allExited } from '../processes/children.js';
import { CLI_PATH as CLI } from '../processes/path.js';
import { type ComputeOnly, measureComputeOnly } from './compute-only.js';

interface Measured {
  imagesPerSecond: number;
  medianStepMs: number;
  medianCoordMs: number;
  /** The slowest worker's compute per step; stepMs minus this is the wire, weights upload and coordinator. */
  medianComputeMs: number;
}

async function measure(
  a: TrainInput,
  workers: number,
  perWorker: number,
  steps: number,
  backend: string,
): Promise<Measured> {
  const base = toTrainConfig({ ...a, workers, minWorkers: workers, batchSize: perWorker * workers, maxSteps: steps });
  const config = {
    ...base,
    evalEvery: 1e9,
    dataset: {
      name: 'synthetic' as const,
      seed: 1,
      normalize: false,
      augment: false,
      trainSize: Math.max(a.trainSize, 4 * perWorker * workers),
      testSize: 64,
      valFraction: 0,
    },
  };
  const { coord, port, run } = await openSoloRun({
    config,
    host: '127.0.0.1',
    port: 0,
    token: undefined,
    out: mkdtempSync(join(tmpdir(), 'dtrain-scaling-')),
    waitTimeoutMs: 120_000,
    data: { syntheticCacheDir: syntheticCacheDir() },
    log: () => undefined,
  });
  const kids = Array.from({ length: workers }, (_, i) =>
    spawn(
      process.execPath,
      [CLI, 'worker', '--connect', `ws://127.0.0.1:${port}`, '--backend', backend, '--quiet', '--name', `s${i}`],
      { stdio: 'inherit' },
    ),
  );
  const records: StepRecord[] = [];
  coord.on('step', (r) => records.push(r));
  await run();
  await allExited(kids);
  const warm = records.slice(Math.min(10, Math.floor(records.length / 4)));
  const ms = warm.reduce((s, r) => s + r.stepMs, 0);
  const samples = warm.reduce((s, r) => s + r.samples, 0);
  return {
    imagesPerSecond: Number((samples / (ms / 1000)).toFixed(1)),
    medianStepMs: Number(median(warm.map((r) => r.stepMs)).toFixed(2)),
    medianCoordMs: Number(median(warm.map((r) => r.coordMs)).toFixed(3)),
    medianComputeMs: Number(median(warm.map((r) => Math.max(...Object.values(r.computeMs)))).toFixed(2)),
  };
}

interface Round {
  one: Measured;
  two: Measured;
  ratio: number;
  /** The machine's 2-process scaling without the trainer, measured right after (compute-only.ts), and ratio / its ratio. */
  computeOnly?: ComputeOnly;
  vsComputeOnly?: number;
}

/**
 * Alternates 1-worker and 2-worker runs for `repeats` rounds (this VM's speed drifts by tens of percent
 * over minutes, so a single 1-then-2 pair can say 1.4 or 1.95); the headline ratio is the median of the
 * rounds' ratios, and every round is printed. With `computeOnly`, each round also measures what two
 * processes get over one with no trainer between them, so the trainer's share of a loss is told apart.
 */
export async function benchScaling(
  a: TrainInput & { steps: number; backend: string; repeats: number; computeOnly: boolean },
): Promise<Record<string, unknown>> {
  const perWorker = a.batchSize;
  const rounds: Round[] = [];
  for (let r = 0; r < a.repeats; r++) {
    const one = await measure(a, 1, perWorker, a.steps, a.backend);
    const two = await measure(a, 2, perWorker, a.steps, a.backend);
    const ratio = Number((two.imagesPerSecond / one.imagesPerSecond).toFixed(3));
    const c = a.computeOnly ? await measureComputeOnly(a.model, a.backend, perWorker, a.steps) : undefined;
    rounds.push({
      one,
      two,
      ratio,
      ...(c ? { computeOnly: c, vsComputeOnly: Number((ratio / c.ratio).toFixed(3)) } : {}),
    });
  }
  const ratios = rounds.map((r) => r.ratio);
  const machine = rounds.flatMap((r) => (r.computeOnly ? [r.computeOnly.ratio] : []));
  const versus = rounds.flatMap((r) => (r.vsComputeOnly !== undefined ? [r.vsComputeOnly] : []));
  return {
    bench: 'scaling',
    model: a.model,
    backend: a.backend,
    balance: a.balance,
    perWorkerBatch: perWorker,
    steps: a.steps,
    ratio: Number(median(ratios).toFixed(3)),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    ...(machine.length
      ? { computeOnlyRatio: Number(median(machine).toFixed(3)), vsComputeOnly: Number(median(versus).toFixed(3)) }
      : {}),
    oneImagesPerSecond: median(rounds.map((r) => r.one.imagesPerSecond)),
    twoImagesPerSecond: median(rounds.map((r) => r.two.imagesPerSecond)),
    rounds,
    cores: cpus().length,
    node: process.version,
  };
}
