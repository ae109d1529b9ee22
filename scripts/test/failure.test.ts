// Failures mid-run: a worker process killed, a worker that stalls past the deadline, a worker that
// sends garbage. The run completes and every step uses exactly its planned samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { decode, encode, PROTOCOL_VERSION, type CoordinatorMsg } from '@dtrain/common';
import type { StepRecord } from '@dtrain/coordinator';
import { openSoloRun } from '@dtrain/coordinator';
import { WorkerClient } from '@dtrain/worker';
import { records, startRun, tempDir, testBackend, testConfig, worker } from './harness.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
process.env['DTRAIN_CACHE'] = tempDir('cache');

/** A raw client that completes the handshake (echoing fingerprints) and then does `onWork`. */
function fakeWorker(url: string, onWork: (ws: WebSocket, m: CoordinatorMsg) => void): WebSocket {
  const ws = new WebSocket(url);
  ws.on('message', (d: Buffer) => {
    const m = decode(d, 1 << 30) as CoordinatorMsg;
    if (m.kind === 'challenge') ws.send(encode({ kind: 'hello', protocol: PROTOCOL_VERSION, mac: '', name: 'fake', host: 'h', pid: 1, backend: 'none', backendReason: 'test' }));
    else if (m.kind === 'welcome') ws.send(encode({ kind: 'ready', modelFingerprint: m.modelFingerprint, datasetFingerprint: m.datasetFingerprint }));
    else onWork(ws, m);
  });
  ws.on('error', () => undefined);
  return ws;
}

function stepsOf(out: string): StepRecord[] {
  return records(out).filter((r): r is StepRecord => r.type === 'step');
}

test('a worker process killed mid-run: the run completes and every planned sample is used', async () => {
  const cfg = testConfig({ maxSteps: 16, batchSize: 32, workers: 2, minWorkers: 1 });
  const run = await startRun(cfg);
  const child = spawn(process.execPath, [CLI, 'worker', '--connect', run.url, '--backend', 'wasm', '--quiet', '--give-up', '5'], { stdio: 'ignore' });
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

test('a worker that stalls past the deadline has its shard recomputed by another', async () => {
  const cfg = testConfig({ maxSteps: 3, batchSize: 32, workers: 2, minWorkers: 1, stepTimeoutMs: 300 });
  const run = await startRun(cfg);
  const stalled = fakeWorker(run.url, () => undefined);
  const summaryP = run.run();
  const w = await worker(run.url, 'good');
  const summary = await summaryP;
  await w.done;
  stalled.terminate();
  assert.equal(summary.status, 'completed');
  const steps = stepsOf(run.out);
  assert.ok(steps.every((r) => r.samples === 32 && r.reassigned >= 1), JSON.stringify(steps.map((r) => [r.samples, r.reassigned])));
});

test('a worker sending a malformed gradient is disconnected and the run goes on', async () => {
  const cfg = testConfig({ maxSteps: 4, batchSize: 32, workers: 2, minWorkers: 1 });
  const run = await startRun(cfg);
  let closeCode = 0;
  const bad = fakeWorker(run.url, (ws, m) => {
    if (m.kind === 'assign') ws.send(encode({ kind: 'gradient', step: m.step, version: m.version, shardId: m.shardId, count: m.indices.length, lossSum: 1, correct: 0, computeMs: 1, grad: new Float32Array(3) }));
  });
  bad.on('close', (code) => (closeCode = code));
  const summaryP = run.run();
  const w = await worker(run.url, 'good');
  const summary = await summaryP;
  await w.done;
  assert.equal(closeCode, 1008);
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
  assert.ok(steps.slice(-3).every((r) => r.workers === 2 && Object.keys(r.computeMs).length === 2), JSON.stringify(steps.map((r) => r.workers)));
});

test('a worker started before its coordinator keeps retrying and joins when it comes up', async () => {
  const probe = await startRun(testConfig({ workers: 1, minWorkers: 1, maxSteps: 1 }));
  const port = probe.port;
  const early = await worker(probe.url, 'probe');
  await probe.run();
  await early.done;
  // the port is free again; start a worker first, then the coordinator on that port
  const client = new WorkerClient({ url: `ws://127.0.0.1:${port}`, token: undefined, name: 'eager', backend: await testBackend(), giveUpMs: 20_000, log: () => undefined });
  const done = client.run();
  await new Promise((r) => setTimeout(r, 700));
  const late = await openSoloRun({ config: testConfig({ workers: 1, minWorkers: 1, maxSteps: 2 }), host: '127.0.0.1', port, token: undefined, out: tempDir('late'), waitTimeoutMs: 20_000, log: () => undefined });
  const summary = await late.run();
  const result = await done;
  assert.equal(summary.status, 'completed');
  assert.ok(result.ok && result.steps === 2);
});
