// Integration harness: a real coordinator on port 0 with real WorkerClients over loopback sockets.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainConfig } from '@dtrain/common';
import type { DataLocation } from '@dtrain/common/files';
import { type Coordinator, openSoloRun, type RunSummary, readCheckpoint } from '@dtrain/coordinator';
import { Relay, type RelayOptions } from '@dtrain/coordinator/relay';
import { type BackendInfo, selectBackend, WorkerClient, type WorkerResult } from '@dtrain/worker';

export const quiet = (): void => undefined;

export const testConfig = (o: Partial<TrainConfig> = {}): TrainConfig => ({
  model: 'tiny-cnn',
  dataset: {
    name: 'synthetic',
    trainSize: 640,
    testSize: 100,
    seed: 1,
    valFraction: 0.2,
    normalize: false,
    augment: false,
  },
  seed: 1,
  batchSize: 32,
  epochs: 1,
  maxSteps: 6,
  lr: 0.05,
  schedule: 'constant',
  decaySteps: 100,
  gamma: 0.1,
  minLr: 0,
  warmupSteps: 0,
  scaling: 'none',
  baseBatchSize: 32,
  optimizer: { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, form: 'pytorch' },
  workers: 2,
  minWorkers: 1,
  evalEvery: 0,
  evalChunk: 50,
  checkpointEvery: 0,
  stepTimeoutMs: 20_000,
  ...o,
});

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `dtrain-${prefix}-`));
}

let backend: Promise<BackendInfo> | null = null;
export function testBackend(): Promise<BackendInfo> {
  backend ??= selectBackend('wasm');
  return backend;
}

export interface Run {
  coord: Coordinator;
  /** Train to the end and close the run's pool. */
  run: () => Promise<RunSummary>;
  port: number;
  url: string;
  out: string;
}

export async function startRun(
  config: TrainConfig,
  o: {
    token?: string;
    resume?: string;
    out?: string;
    data?: DataLocation;
    waitTimeoutMs?: number;
    overwrite?: boolean;
    /** With resume: what this attempt changes of the checkpoint's config (as --max-steps does). */
    resumeOverrides?: Partial<TrainConfig>;
    trace?: string;
  } = {},
): Promise<Run> {
  const out = o.out ?? tempDir('run');
  const { coord, port, run } = await openSoloRun({
    config,
    host: '127.0.0.1',
    port: 0,
    token: o.token,
    out,
    waitTimeoutMs: o.waitTimeoutMs ?? 30_000,
    log: quiet,
    ...(o.data ? { data: o.data } : {}),
    ...(o.overwrite ? { overwrite: true } : {}),
    ...(o.resume ? { resume: o.resume } : {}),
    ...(o.resumeOverrides ? { resumeOverrides: o.resumeOverrides } : {}),
    ...(o.trace ? { trace: o.trace } : {}),
  });
  return { coord, run, port, url: `ws://127.0.0.1:${port}`, out };
}

export async function worker(
  url: string,
  name: string,
  token?: string,
  data?: DataLocation,
): Promise<{ client: WorkerClient; done: Promise<WorkerResult> }> {
  const client = new WorkerClient({
    url,
    token,
    name,
    backend: await testBackend(),
    giveUpMs: 5_000,
    log: quiet,
    ...(data ? { prepareData: async () => data } : {}),
  });
  return { client, done: client.run() };
}

/** Run to the end with n in-process workers. */
export async function train(
  config: TrainConfig,
  n: number,
  o: {
    resume?: string;
    out?: string;
    overwrite?: boolean;
    resumeOverrides?: Partial<TrainConfig>;
    trace?: string;
  } = {},
): Promise<{ summary: RunSummary; out: string; weights: Float32Array }> {
  const run = await startRun(config, o);
  const summaryP = run.run();
  const ws = await Promise.all(Array.from({ length: n }, (_, i) => worker(run.url, `w${i}`)));
  const summary = await summaryP;
  await Promise.all(ws.map((w) => w.done));
  return { summary, out: run.out, weights: readCheckpoint(run.out).weights };
}

export { readMetrics as records } from '@dtrain/coordinator';

/** A relay for tests (no token, loopback, short timeouts) in front of `local` workers; `o` adds or overrides options. */
export function testRelay(url: string, name: string, local: number, o: Partial<RelayOptions> = {}): Relay {
  return new Relay({
    ...{ url, token: undefined, host: '127.0.0.1', port: 0, localToken: undefined, localWorkers: local },
    ...{ stepTimeoutMs: 20_000, waitTimeoutMs: 20_000, giveUpMs: 5_000, name, log: quiet },
    ...o,
  });
}
