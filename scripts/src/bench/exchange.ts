// `dtrain bench exchange`: the coordinator's part of a step (receive + decode + validate, reduce + update,
// encode + send, assign) with N echo workers in their own processes; prints one JSON line of medians.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, percentile } from '@dtrain/common';
import { openSoloRun, type StepRecord } from '@dtrain/coordinator';
import { syntheticCacheDir } from '../data/fetch.js';
import { type TrainInput, toTrainConfig } from '../options/options.js';
import { allExited } from '../processes/children.js';
import { CLI_PATH as CLI } from '../processes/path.js';

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
  coord.on('step', (r) => steps.push(r));
  const summary = await run();
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
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
  };
}

/** Medians (and the coordinator's p90) over the warm steps: past the first fifth, at most 20 skipped. */
function exchangeTimes(steps: StepRecord[]): Record<string, number> {
  const warm = steps.slice(Math.min(20, Math.floor(steps.length / 5)));
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
