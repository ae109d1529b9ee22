// The fuzz suite: thousands of hostile frames from seeded generators against a live run (before and
// after the handshake) and against a live worker. Nothing a peer sends may stop a process; the run's
// weights must be bitwise those of an undisturbed run; memory stays bounded.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  buildManifest,
  encode,
  getModelSpec,
  MAX_HANDSHAKE_BYTES,
  PROTOCOL_VERSION,
  paramCount,
  Rng,
} from '@dtrain/common';
import { readCheckpoint, readMetrics } from '@dtrain/coordinator';
import { WorkerClient } from '@dtrain/worker';
import { CoordinatorLink } from '@dtrain/worker/link';
import { type WebSocket, WebSocketServer } from 'ws';
import { coordinatorTemplates, type Frame, hostileFrame, tinyWelcome, workerTemplates } from './fuzz-frames.js';
import { startRun, testBackend, testConfig, worker } from './harness.js';

const TOKEN = 'fuzz-token';
const TINY_PARAMS = paramCount(buildManifest(getModelSpec('tiny-cnn')));

function heapAfterGc(): number {
  setFlagsFromString('--expose_gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

const settle = (p: Promise<unknown>, ms: number): Promise<unknown> =>
  Promise.race([p, new Promise((r) => setTimeout(r, ms))]);

/**
 * One connection, one hostile frame: before the handshake, or after a valid hello (an insider with the
 * token). Resolves false when no connection could be made (the run has ended and its port is closed).
 */
async function fuzzOnce(url: string, rng: Rng, afterHello: boolean): Promise<boolean> {
  let link: CoordinatorLink;
  try {
    link = await CoordinatorLink.open(url);
  } catch {
    return false;
  }
  try {
    if (afterHello) {
      await link.hello({ token: TOKEN, name: 'fz' }); // an insider with the token
      await link.expect('welcome');
    } else {
      await link.expect('challenge');
    }
    link.sendRaw(hostileFrame(rng, workerTemplates(TINY_PARAMS), MAX_HANDSHAKE_BYTES), afterHello); // an insider's frames reach the parser sealed
    await settle(link.closed, 1000);
  } catch {
    /* the coordinator closed first: that is one of the allowed answers */
  } finally {
    link.close();
  }
  return true;
}

/** Fuzz until `enough` frames were sent and then until the run is done; resolves with the count. */
async function fuzzUntil(
  url: string,
  seed: number,
  done: () => boolean,
  enough: { frames: number; reached: () => void },
): Promise<number> {
  const rng = new Rng(seed);
  let n = 0;
  while (!done()) {
    if (!(await fuzzOnce(url, rng, n % 2 === 1))) continue;
    if (++n === enough.frames) enough.reached();
  }
  return n;
}

async function trainedWeights(
  fuzzers: number,
): Promise<{ weights: Float32Array; frames: number; heapGrowthMb: number }> {
  const config = testConfig({ maxSteps: 8, batchSize: 32, workers: 2, minWorkers: 2, evalEvery: 4 });
  const run = await startRun(config, { token: TOKEN });
  const heap0 = heapAfterGc();
  let finished = false;
  const summaryP = run.run().finally(() => (finished = true));
  // Hostile frames while the run waits for its workers (400 per fuzzer), then on through the training.
  let reached = 0;
  let allReached: () => void = () => undefined;
  const before = new Promise<void>((r) => (allReached = r));
  const enough = { frames: 400, reached: () => void (++reached === fuzzers && allReached()) };
  const fuzzing = Array.from({ length: fuzzers }, (_, i) => fuzzUntil(run.url, 100 + i, () => finished, enough));
  if (fuzzers > 0) await before;
  const ws = await Promise.all([worker(run.url, 'a', TOKEN), worker(run.url, 'b', TOKEN)]);
  const summary = await summaryP;
  await Promise.all(ws.map((w) => w.done));
  const frames = (await Promise.all(fuzzing)).reduce((a, b) => a + b, 0);
  assert.equal(summary.status, 'completed', summary.error);
  return { weights: readCheckpoint(run.out).weights, frames, heapGrowthMb: (heapAfterGc() - heap0) / 2 ** 20 };
}

test('thousands of hostile frames before and after the handshake: the run completes with the undisturbed weights', async () => {
  const calm = await trainedWeights(0);
  const fuzzed = await trainedWeights(6);
  assert.ok(fuzzed.frames >= 2000, `only ${fuzzed.frames} frames`);
  assert.equal(
    Buffer.compare(Buffer.from(fuzzed.weights.buffer), Buffer.from(calm.weights.buffer)),
    0,
    'weights differ from the undisturbed run',
  );
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype polluted');
  assert.ok(fuzzed.heapGrowthMb < 64, `heap grew ${fuzzed.heapGrowthMb.toFixed(1)} MB`);
});

test('ready insiders answer their assignments with hostile sealed frames: each is refused, every step keeps its planned samples', async () => {
  const config = testConfig({ maxSteps: 400, epochs: 30, batchSize: 32, workers: 1, minWorkers: 1, evalEvery: 1000 });
  const run = await startRun(config, { token: TOKEN });
  let finished = false;
  const summaryP = run.run().finally(() => (finished = true));
  const honest = await worker(run.url, 'honest', TOKEN);
  const rng = new Rng(11);
  const templates = workerTemplates(TINY_PARAMS);
  let sent = 0;
  while (!finished && sent < 150) {
    const link = await CoordinatorLink.open(run.url).catch(() => null);
    if (!link) break;
    try {
      await link.join({ token: TOKEN, name: 'insider' });
      for (let m = await link.next(); m; m = await link.next()) {
        if (m.kind !== 'assign') continue;
        link.sendRaw(hostileFrame(rng, templates, 1 << 20) as Uint8Array | string, true);
        sent++;
        break;
      }
      await settle(link.closed, 200); // then we leave: a frame that was only dropped must not hold the step
    } catch {
      /* refused: expected */
    } finally {
      link.close();
    }
  }
  const summary = await summaryP;
  await honest.done;
  assert.equal(summary.status, 'completed', summary.error);
  assert.ok(sent >= 100, `only ${sent} hostile answers`);
  assert.ok(readMetrics(run.out).every((r) => r.type !== 'step' || r.samples === 32));
});

/** A hostile coordinator: every connection gets a burst of hostile frames, half of them after a real handshake. */
async function hostileCoordinator(
  framesPerConn: number,
  conns: number,
): Promise<{ url: string; sent: () => number; done: Promise<void>; close: () => void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const rng = new Rng(7);
  const templates = coordinatorTemplates(TINY_PARAMS);
  let sent = 0;
  let served = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => (finish = r));
  const burst = (ws: WebSocket): void => {
    for (let i = 0; i < framesPerConn; i++, sent++) ws.send(hostileFrame(rng, templates, 1 << 20) as Frame);
    if (++served >= conns) finish();
  };
  wss.on('connection', (ws) => {
    if (served % 2 === 0) return burst(ws);
    ws.send(encode({ kind: 'challenge', protocol: PROTOCOL_VERSION, nonce: 'n', auth: false }));
    ws.once('message', () => {
      ws.send(encode(tinyWelcome()));
      ws.once('message', () => burst(ws)); // after the worker's ready
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    sent: () => sent,
    done,
    close: () => wss.close(),
  };
}

test('thousands of hostile coordinator frames: the worker refuses each connection and keeps serving', async () => {
  const coord = await hostileCoordinator(250, 8);
  const heap0 = heapAfterGc();
  const logs: string[] = [];
  const client = new WorkerClient({
    url: coord.url,
    token: undefined,
    name: 'target',
    backend: await testBackend(),
    giveUpMs: 0,
    log: (l) => logs.push(l),
  });
  const running = client.run();
  await coord.done;
  await new Promise((r) => setTimeout(r, 300));
  client.stop('test over');
  const result = await running;
  coord.close();
  assert.equal(result.ok, true, result.reason);
  assert.ok(coord.sent() >= 2000, `only ${coord.sent()} frames`);
  assert.ok(
    logs.some((l) => l.startsWith('error: ERR_')),
    'the worker said why it refused',
  );
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype polluted');
  const growth = (heapAfterGc() - heap0) / 2 ** 20;
  assert.ok(growth < 64, `heap grew ${growth.toFixed(1)} MB`);
});
