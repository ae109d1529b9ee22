// Failures mid-run: a worker process killed, a worker that stalls past the deadline, a worker that
// sends garbage. The run completes and every step uses exactly its planned samples.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { type AssignMsg, type CoordinatorMsg, epochOrder, planBatch, trainSplitSize } from '@dtrain/common';
import type { StepRecord } from '@dtrain/coordinator';
import { openSoloRun } from '@dtrain/coordinator';
import { WorkerClient } from '@dtrain/worker';
import { CoordinatorLink } from '@dtrain/worker/link';
import { CLI_PATH as CLI } from '../../src/processes/path.js';
import { records, startRun, tempDir, testBackend, testConfig, worker } from './harness.js';

process.env['DTRAIN_CACHE'] = tempDir('cache');

/** A protocol-level worker (no tfjs) that joins and hands every later message to `onWork`. */
async function fakeWorker(
  url: string,
  onWork: (link: CoordinatorLink, m: CoordinatorMsg) => void,
): Promise<CoordinatorLink> {
  const link = await CoordinatorLink.open(url);
  await link.join({ name: 'fake' });
  void (async () => {
    for (let m = await link.next(); m; m = await link.next()) onWork(link, m);
  })().catch(() => undefined);
  return link;
}

function stepsOf(out: string): StepRecord[] {
  return records(out).filter((r): r is StepRecord => r.type === 'step');
}

test('a worker process killed mid-run: the run completes and every planned sample is used', async () => {
  const cfg = testConfig({ maxSteps: 16, batchSize: 32, workers: 2, minWorkers: 1 });
  const run = await startRun(cfg);
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--connect', run.url, '--backend', 'wasm', '--quiet', '--give-up', '5'],
    { stdio: 'ignore' },
  );
  run.coord.on('step', (r) => {
    if (r.step === 4) child.kill('SIGKILL');
  });
  const summaryP = run.run();
  const w = await worker(run.url, 'survivor');
  const summary = await summaryP;
  await w.done;
  assert.equal(summary.status, 'completed');
  assert.equal(summary.steps, 16);
  assert.equal(summary.samplesSeen, 16 * 32);
  const steps = stepsOf(run.out);
  assert.equal(steps.length, 16);
  assert.ok(steps.every((r) => r.samples === 32));
  assert.ok(steps.slice(0, 4).every((r) => r.workers === 2));
  assert.ok(steps.slice(-3).every((r) => r.workers === 1));
  assert.ok(records(run.out).some((r) => r.type === 'event' && r.event === 'worker-lost'));
});

test('a worker that stalls past the deadline has its shard recomputed by another and gets no more shards', async () => {
  const cfg = testConfig({ maxSteps: 3, batchSize: 32, workers: 2, minWorkers: 1, stepTimeoutMs: 300 });
  const run = await startRun(cfg);
  const summaryP = run.run();
  const stalled = await fakeWorker(run.url, () => undefined);
  const w = await worker(run.url, 'good');
  const summary = await summaryP;
  await w.done;
  stalled.close();
  assert.equal(summary.status, 'completed');
  const steps = stepsOf(run.out);
  const shape = JSON.stringify(steps.map((r) => [r.samples, r.workers, r.reassigned]));
  assert.ok(
    steps.every((r) => r.samples === 32),
    shape,
  );
  assert.ok(steps[0]!.workers === 2 && steps[0]!.reassigned === 1, shape);
  assert.ok(
    steps.slice(1).every((r) => r.workers === 1 && r.reassigned === 0),
    `demoted after its miss: ${shape}`,
  );
  assert.ok(records(run.out).some((r) => r.type === 'event' && r.event === 'worker-demoted'));
});

test('a worker sending a malformed gradient is disconnected and the run goes on', async () => {
  const cfg = testConfig({ maxSteps: 4, batchSize: 32, workers: 2, minWorkers: 1 });
  const run = await startRun(cfg);
  const summaryP = run.run();
  const bad = await fakeWorker(run.url, (link, m) => {
    if (m.kind === 'assign')
      link.send({
        kind: 'gradient',
        step: m.step,
        version: m.version,
        shardId: m.shardId,
        count: m.indices.length,
        lossSum: 1,
        correct: 0,
        computeMs: 1,
        grad: new Float32Array(3),
      });
  });
  const w = await worker(run.url, 'good');
  const summary = await summaryP;
  await w.done;
  assert.equal((await bad.closed).code, 1008);
  assert.equal(summary.status, 'completed');
  assert.ok(stepsOf(run.out).every((r) => r.samples === 32));
});

test('a worker that joins mid-run gets the current weights and work from the next step', async () => {
  const cfg = testConfig({ maxSteps: 12, batchSize: 32, workers: 1, minWorkers: 1 });
  const run = await startRun(cfg);
  const summaryP = run.run();
  const first = await worker(run.url, 'first');
  let late: Awaited<ReturnType<typeof worker>> | null = null;
  run.coord.on('step', (r) => {
    if (r.step === 3) void worker(run.url, 'late').then((w) => (late = w));
  });
  const summary = await summaryP;
  await first.done;
  await (late as Awaited<ReturnType<typeof worker>> | null)?.done;
  assert.equal(summary.status, 'completed');
  const steps = stepsOf(run.out);
  assert.ok(steps.slice(0, 3).every((r) => r.workers === 1));
  assert.ok(
    steps.slice(-3).every((r) => r.workers === 2 && Object.keys(r.computeMs).length === 2),
    JSON.stringify(steps.map((r) => r.workers)),
  );
});

test('a worker started before its coordinator keeps retrying and joins when it comes up', async () => {
  const probe = await startRun(testConfig({ workers: 1, minWorkers: 1, maxSteps: 1 }));
  const port = probe.port;
  const early = await worker(probe.url, 'probe');
  await probe.run();
  await early.done;
  // the port is free again; start a worker first, then the coordinator on that port
  const client = new WorkerClient({
    url: `ws://127.0.0.1:${port}`,
    token: undefined,
    name: 'eager',
    backend: await testBackend(),
    giveUpMs: 20_000,
    log: () => undefined,
  });
  const done = client.run();
  await new Promise((r) => setTimeout(r, 700));
  const late = await openSoloRun({
    config: testConfig({ workers: 1, minWorkers: 1, maxSteps: 2 }),
    host: '127.0.0.1',
    port,
    token: undefined,
    out: tempDir('late'),
    waitTimeoutMs: 20_000,
    log: () => undefined,
  });
  const summary = await late.run();
  const result = await done;
  assert.equal(summary.status, 'completed');
  assert.ok(result.ok && result.steps === 2);
});

test("a stalled worker's shard is recomputed elsewhere with exactly its planned indices", async () => {
  const cfg = testConfig({ maxSteps: 3, batchSize: 32, workers: 2, minWorkers: 1, stepTimeoutMs: 300 });
  const run = await startRun(cfg);
  const summaryP = run.run();
  const got: Record<string, AssignMsg[]> = { stall: [], echo: [] };
  await fakeWorker(run.url, (_l, m) => void (m.kind === 'assign' && got['stall']!.push(m)));
  const echo = await fakeWorker(run.url, (link, m) => {
    if (m.kind === 'evaluate')
      link.send({
        kind: 'evalResult',
        evalId: m.evalId,
        shardId: m.shardId,
        count: m.indices.length,
        lossSum: 0,
        correct: 0,
        computeMs: 1,
      });
    if (m.kind !== 'assign') return;
    got['echo']!.push(m);
    link.send({
      kind: 'gradient',
      step: m.step,
      version: m.version,
      shardId: m.shardId,
      count: m.indices.length,
      lossSum: 0,
      correct: 0,
      computeMs: 1,
      grad: new Float32Array(run.coord.weights.length),
    });
  });
  const summary = await summaryP;
  echo.close();
  assert.equal(summary.status, 'completed', summary.error);
  const order = epochOrder(trainSplitSize(cfg.dataset), cfg.seed, 0);
  for (const step of [1, 2, 3]) {
    const planned = [...planBatch(order, step - 1, 32)];
    const echoed = got['echo']!.filter((a) => a.step === step).sort((a, b) => a.shardId - b.shardId);
    // step 1 was cut in two and the stalled half recomputed; then the stalled worker is demoted: one shard
    assert.deepEqual(
      echoed.map((a) => a.shardId),
      step === 1 ? [0, 1] : [0],
      `step ${step}: the echo worker's shards`,
    );
    assert.deepEqual(
      echoed.flatMap((a) => [...a.indices]),
      planned,
      `step ${step}: exactly the planned samples, in shard order`,
    );
  }
  assert.deepEqual(
    got['stall']!.map((a) => a.step),
    [1],
    'the stalled worker got step 1 only',
  );
  const stalled = got['stall']![0]!;
  assert.deepEqual(
    [...stalled.indices],
    [...got['echo']!.find((a) => a.step === 1 && a.shardId === stalled.shardId)!.indices],
    'the recomputed shard is the stalled one',
  );
});

test('a worker frozen (SIGSTOP) past the adaptive deadline is demoted, the run goes on at normal step time, and it rejoins when thawed', async () => {
  // As many steps as it takes: the run is stopped 1.5 s after the thaw (a fixed 320 steps once ended 1 s after the freeze, before the thaw).
  const cfg = testConfig({ maxSteps: 6000, epochs: 400, batchSize: 32, workers: 2, minWorkers: 1, evalEvery: 100_000 });
  const run = await startRun(cfg);
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--connect', run.url, '--backend', 'wasm', '--quiet', '--give-up', '10', '--name', 'frozen'],
    { stdio: 'ignore' },
  );
  let frozenAt = 0;
  let thawedAt = 0;
  run.coord.on('step', (r) => {
    if (thawedAt > 0 && performance.now() - thawedAt > 1_500) run.coord.stop('test over');
    if (r.step === 12) {
      child.kill('SIGSTOP');
      frozenAt = performance.now();
      setTimeout(() => {
        child.kill('SIGCONT');
        thawedAt = performance.now();
      }, 3_000);
    }
  });
  const summaryP = run.run();
  const w = await worker(run.url, 'steady');
  const summary = await summaryP;
  await w.done;
  child.kill('SIGCONT');
  assert.equal(summary.status, 'stopped', summary.error);
  assert.ok(frozenAt > 0 && thawedAt > 0, 'the freeze happened during the run');
  const events = records(run.out)
    .filter((r) => r.type === 'event')
    .map((r) => r.type === 'event' && `${r.event} ${r.detail.split('@')[0]}`);
  assert.ok(events.includes('worker-demoted frozen') && events.includes('worker-promoted frozen'), events.join(', '));
  const steps = stepsOf(run.out);
  assert.ok(steps.every((r) => r.samples === 32));
  const slow = steps.filter((r) => r.stepMs > 1_500);
  assert.ok(
    slow.length <= 1,
    `steps over 1.5 s: ${slow.map((r) => `${r.step}: ${r.stepMs.toFixed(0)} ms`).join(', ')}`,
  ); // only the one that hit the deadline
  assert.ok(
    slow.every((r) => r.stepMs < 4_000),
    'the deadline is seconds, not the 20 s --step-timeout',
  );
});

/** A worker whose compute always throws: it reports ERR_COMPUTE on each assignment and, like the real client, dials again. */
function failingWorker(url: string, stop: AbortSignal): Promise<number> {
  return (async () => {
    let tries = 0;
    while (!stop.aborted) {
      const link = await CoordinatorLink.open(url).catch(() => null);
      if (!link) break;
      await link.join({ name: 'broken' }).catch(() => undefined);
      for (let m = await link.next().catch(() => null); m; m = await link.next().catch(() => null)) {
        if (m.kind !== 'assign' && m.kind !== 'evaluate') continue;
        tries++;
        link.send({
          kind: 'fail',
          code: 'ERR_COMPUTE',
          message: 'Cannot compute gradient: gradient function not found',
        });
        break;
      }
      link.close();
    }
    return tries;
  })();
}

test('a task no worker can compute ends the run (failed, ERR_COMPUTE) after 3 tries instead of retrying forever', async () => {
  const run = await startRun(testConfig({ maxSteps: 4, workers: 1, minWorkers: 1 }));
  const stop = new AbortController();
  const tries = failingWorker(run.url, stop.signal);
  const summary = await run.run();
  stop.abort();
  assert.equal(summary.status, 'failed');
  assert.match(summary.error ?? '', /ERR_COMPUTE|step 1: task 0 failed 3 times \(last on worker broken/);
  assert.match(summary.error ?? '', /gradient function not found/);
  assert.equal(await tries, 3);
});

test('a worker whose compute fails beside a working one: its tasks are recomputed and the run completes', async () => {
  const run = await startRun(testConfig({ maxSteps: 4, workers: 2, minWorkers: 1 }));
  const stop = new AbortController();
  const tries = failingWorker(run.url, stop.signal);
  const summaryP = run.run();
  const w = await worker(run.url, 'works');
  const summary = await summaryP;
  stop.abort();
  await w.done;
  assert.equal(summary.status, 'completed', summary.error);
  assert.equal(summary.samplesSeen, 4 * 32);
  assert.ok((await tries) >= 1);
});
