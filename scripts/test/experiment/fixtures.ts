// Hand-made sweep outcomes and run records for report and selection tests.
import type { MetricRecord, RunSummary } from '@dtrain/coordinator';
import type { RunOutcome } from '../../src/experiment/run-plan.js';

export const summary = (
  acc: number,
  o: { momentum?: number; batchSize?: number; lr?: number; status?: string } = {},
): RunSummary =>
  ({
    runId: 'r',
    status: o.status ?? 'completed',
    steps: 30,
    epochs: 3,
    samplesSeen: 960,
    imagesPerSecond: 500,
    wallSeconds: 5,
    final: { test: { loss: 1, accuracy: acc, step: 30 }, val: { loss: 1, accuracy: acc, step: 30 } },
    config: {
      batchSize: o.batchSize ?? 32,
      lr: o.lr ?? 0.1,
      optimizer: { momentum: o.momentum ?? 0.9, form: 'pytorch', nesterov: false },
    },
  }) as unknown as RunSummary;

/**
 * Validation accuracy rising linearly, 0.5 at `steps` (so a target t is crossed at 2t x steps), evaluated at
 * every tenth of 2 x steps; never reaching 0.45 when `steps` is null.
 */
function rampTo(steps: number | null): { step: number; accuracy: number }[] {
  const end = steps ?? 1000;
  return Array.from({ length: 11 }, (_, i) => ({
    step: (i * 2 * end) / 10,
    accuracy: steps === null ? 0.045 * i : 0.1 * i,
  })).slice(1);
}

/** One sweep run: batch size, optimizer, lr, seed, steps to target (null: never), final accuracy, B_simple. */
export function outcome(
  b: number,
  opt: 'sgd' | 'momentum',
  lr: number,
  seed: number,
  steps: number | null,
  acc = 0.6,
  bSimple: number | null = 200,
): RunOutcome {
  const name = `b${b}-${opt}${opt === 'sgd' ? '' : 0.9}-none-w0-constant-lr${lr}-s${seed}`;
  return {
    name,
    dir: `/sweep/${name}`,
    skipped: false,
    batchSize: b,
    bestValAccuracy: acc,
    stepsToTarget: steps,
    examplesToTarget: steps && steps * b,
    epochsToTarget: null,
    secondsToTarget: null,
    bSimple,
    curves: { evals: rampTo(steps), noise: [] },
    labels: {
      batchSize: b,
      optimizer: opt,
      momentum: opt === 'sgd' ? 0 : 0.9,
      scaling: 'none',
      warmup: 0,
      schedule: 'constant',
      lr,
      seed,
    },
    summary: summary(acc, { momentum: opt === 'sgd' ? 0 : 0.9, batchSize: b, lr }),
  };
}

/**
 * A sweep a researcher might get: 4 batch sizes x 2 optimizers x 3 learning rates x 2 seeds. Momentum scales
 * perfectly to 128 then flattens; plain SGD never reaches the target at 256.
 */
export function fixtureSweep(): RunOutcome[] {
  const out: RunOutcome[] = [];
  const stepsAt: Record<string, Record<number, number | null>> = {
    momentum: { 32: 800, 64: 400, 128: 200, 256: 160 },
    sgd: { 32: 1000, 64: 560, 128: 420, 256: null },
  };
  for (const opt of ['sgd', 'momentum'] as const)
    for (const b of [32, 64, 128, 256])
      for (const lr of [0.01, 0.03, 0.1])
        for (const seed of [1, 2]) {
          const base = stepsAt[opt]![b] ?? null;
          // the middle lr is best; seed 2 takes 10% longer; the others 50% / 100% longer
          const factor = (lr === 0.03 ? 1 : lr === 0.1 ? 1.5 : 2) * (seed === 2 ? 1.1 : 1);
          out.push(
            outcome(
              b,
              opt,
              lr,
              seed,
              base === null ? null : Math.round(base * factor),
              0.6 + (lr === 0.03 ? 0.05 : 0),
              150 + b / 4,
            ),
          );
        }
  return out;
}

/** A run's records: steps with a loss curve, a val and test evaluation every 10 steps. */
export function runRecords(n = 30, speed = 1): MetricRecord[] {
  const records: MetricRecord[] = [];
  for (let s = 1; s <= n; s++) {
    records.push({
      type: 'step',
      step: s,
      epoch: s / 10,
      loss: 2.3 / Math.sqrt(s * speed),
      accuracy: 0.1 + s / 40,
      lr: 0.01,
      samples: 32,
      samplesDigest: '',
      workers: 2,
      computeMs: {},
      links: {},
      stepMs: 50,
      waitMs: 40,
      decodeMs: 1,
      reduceUpdateMs: 1,
      broadcastMs: 1,
      assignMs: 1,
      coordMs: 4,
      bytesIn: 1,
      bytesOut: 1,
      reassigned: 0,
      gradNormSq: 1,
      traceSigma: 50,
      bSimple: 50 + s,
      time: 0,
    });
    if (s % 10 === 0)
      for (const split of ['val', 'test'] as const)
        records.push({
          type: 'eval',
          step: s,
          epoch: s / 10,
          split,
          loss: 1.5 / speed,
          accuracy: Math.min(0.95, (0.2 + s / 60) * speed),
          samples: 100,
          ms: 5,
          time: 0,
        });
  }
  return records;
}
