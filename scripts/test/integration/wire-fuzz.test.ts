// The frame-level fuzzer in CI (wire-fuzz.ts): raw TCP clients that speak WebSocket badly, through every
// admission state while admission is saturated, against a live coordinator and a live relay; a hostile
// coordinator against a worker. Seeded; DTRAIN_FUZZ_FRAMES frames per target (10,000 in CI; more for the
// soak: bench/wire-fuzz-soak.sh). Each run completes with the weights of an undisturbed one, bit for bit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildManifest,
  getModelSpec,
  MAX_PENDING_PER_ADDRESS,
  maxMessageBytes,
  paramCount,
  type TrainConfig,
} from '@dtrain/common';
import { readCheckpoint } from '@dtrain/coordinator';
import { Relay } from '@dtrain/coordinator/relay';
import { WorkerClient } from '@dtrain/worker';
import { quiet, startRun, testBackend, testConfig, train, worker } from './harness.js';
import { type FuzzCount, fuzzServer, hostileCoordinator } from './wire-fuzz.js';

const FRAMES = Number(process.env['DTRAIN_FUZZ_FRAMES'] ?? 10_000);
const SEED = Number(process.env['DTRAIN_FUZZ_SEED'] ?? 1);
const TOKEN = 'wire-fuzz';
const TINY = paramCount(buildManifest(getModelSpec('tiny-cnn')));
const config = (o: Partial<TrainConfig> = {}): TrainConfig =>
  testConfig({ maxSteps: 30, batchSize: 32, workers: 2, minWorkers: 2, evalEvery: 10, ...o });
const same = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  ) === 0;
const report = (target: string, c: FuzzCount, ms: number): void => {
  const mb = (process.memoryUsage().rss / 2 ** 20).toFixed(0);
  process.stdout.write(
    `# wire fuzz ${target}: ${c.frames} frames on ${c.connections} connections in ` +
      `${(ms / 1000).toFixed(1)} s (rss ${mb} MB); states ${JSON.stringify(c.states)}\n`,
  );
};

/** Fuzz `port` before anyone joins (the full budget), then on while the run trains until `done`. */
async function fuzzAround(
  port: number,
  seed: number,
  token: string,
  maxPayload: number,
  join: () => void,
  done: () => boolean,
): Promise<FuzzCount> {
  const t0 = Date.now();
  const o = { port, token, maxPayload, lanes: 8, perAddress: MAX_PENDING_PER_ADDRESS };
  const before = await fuzzServer({ ...o, seed, until: (c) => c.frames >= FRAMES });
  join();
  const t1 = Date.now();
  const during = await fuzzServer({ ...o, seed: seed + 1, until: done });
  process.stdout.write(
    `# before: ${before.frames} frames in ${t1 - t0} ms; during: ${during.frames} in ${Date.now() - t1} ms\n`,
  );
  const count = {
    frames: before.frames + during.frames,
    connections: before.connections + during.connections,
    states: { ...before.states },
  };
  for (const [k, v] of Object.entries(during.states)) count.states[k] = (count.states[k] ?? 0) + v;
  report(`port ${port}`, count, Date.now() - t0);
  return count;
}

function reachedEveryState(c: FuzzCount): void {
  assert.ok(c.frames >= FRAMES, `only ${c.frames} frames`);
  for (const s of [
    'pending',
    'proved',
    'address saturated',
    'closed by us',
    'closed mid-frame',
    'held until closed by us',
    'upgrade refused',
  ])
    assert.ok((c.states[s] ?? 0) > 0, `never ${s}`);
}

test(
  'coordinator: thousands of broken WebSocket frames in every admission state; the run completes with the undisturbed weights',
  { timeout: Math.max(300_000, FRAMES * 30) },
  async () => {
    const calm = await train(config(), 2, {});
    const run = await startRun(config(), { token: TOKEN });
    let finished = false;
    const summaryP = run.run().finally(() => (finished = true));
    const workers: Promise<Awaited<ReturnType<typeof worker>>>[] = [];
    const count = await fuzzAround(
      run.port,
      SEED,
      TOKEN,
      maxMessageBytes(TINY),
      () => void workers.push(worker(run.url, 'a', TOKEN), worker(run.url, 'b', TOKEN)),
      () => finished,
    );
    const summary = await summaryP;
    await Promise.all((await Promise.all(workers)).map((w) => w.done));
    assert.equal(summary.status, 'completed', summary.error);
    reachedEveryState(count);
    assert.ok(same(readCheckpoint(run.out).weights, calm.weights), 'weights differ from the undisturbed run');
  },
);

/** A run whose one worker is a relay of 2 local workers; with `fuzz`, the relay's local port is fuzzed first and throughout. */
async function relayRun(fuzz: boolean): Promise<{ weights: Float32Array; count: FuzzCount | null }> {
  const run = await startRun(config({ workers: 1, minWorkers: 1 }));
  let finished = false;
  const summaryP = run.run().finally(() => (finished = true));
  const locals: Promise<Awaited<ReturnType<typeof worker>>>[] = [];
  let fuzzing: Promise<FuzzCount> | null = null;
  const relay = new Relay({
    url: run.url,
    token: undefined,
    host: '127.0.0.1',
    port: 0,
    localToken: TOKEN,
    localWorkers: 2,
    stepTimeoutMs: 20_000,
    waitTimeoutMs: 60_000,
    giveUpMs: 5_000,
    name: 'relay',
    log: quiet,
    onListening: (port) => {
      const join = (): void =>
        void locals.push(worker(`ws://127.0.0.1:${port}`, 'r0', TOKEN), worker(`ws://127.0.0.1:${port}`, 'r1', TOKEN));
      if (fuzz) fuzzing = fuzzAround(port, SEED + 10, TOKEN, maxMessageBytes(64 * 1024 * 1024), join, () => finished);
      else join();
    },
  });
  const relayDone = relay.run();
  const summary = await summaryP;
  await relayDone;
  await Promise.all((await Promise.all(locals)).map((w) => w.done));
  assert.equal(summary.status, 'completed', summary.error);
  return { weights: readCheckpoint(run.out).weights, count: fuzzing ? await fuzzing : null };
}

test(
  'relay: thousands of broken WebSocket frames on its local port in every admission state; the run completes with the undisturbed weights',
  { timeout: Math.max(300_000, FRAMES * 30) },
  async () => {
    const calm = await relayRun(false);
    const fuzzed = await relayRun(true);
    reachedEveryState(fuzzed.count!);
    assert.ok(same(fuzzed.weights, calm.weights), 'weights differ from the undisturbed relay run');
  },
);

test(
  'worker: a hostile coordinator answers thousands of dials with broken upgrades and framing ' +
    'in every handshake state; the worker then trains a real run to the undisturbed weights',
  { timeout: Math.max(300_000, FRAMES * 30) },
  async () => {
    const calm = await train(config(), 2, {});
    const t0 = Date.now();
    let realPort = 0; // until the budget is spent no real coordinator exists: a dial piped on meets a closed port and is retried
    const hostile = await hostileCoordinator(SEED + 20, FRAMES, () => realPort);
    const target = new WorkerClient({
      url: hostile.url,
      token: undefined,
      name: 'target',
      backend: await testBackend(),
      giveUpMs: 0,
      retryMs: { initial: 1, max: 5 },
      log: quiet,
    });
    const targetDone = target.run();
    await hostile.spent; // from here on its dials reach the real coordinator
    report('worker', hostile.count, Date.now() - t0);
    const run = await startRun(config());
    realPort = run.port;
    const summaryP = run.run();
    const other = await worker(run.url, 'other');
    const summary = await summaryP;
    assert.equal(summary.status, 'completed', summary.error);
    assert.equal((await targetDone).ok, true);
    await other.done;
    hostile.close();
    assert.ok(hostile.count.frames >= FRAMES, `only ${hostile.count.frames} frames`);
    for (const s of [
      'broken upgrade response',
      'before the challenge',
      'after the hello',
      'after ready',
      'after our close',
    ])
      assert.ok((hostile.count.states[s] ?? 0) > 0, `never ${s}`);
    assert.ok(same(readCheckpoint(run.out).weights, calm.weights), 'weights differ from the undisturbed run');
  },
);
