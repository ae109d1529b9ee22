// A relay in the middle without the token (it sees every frame and may change, drop or forge them): it
// can read nothing; a flipped bit, a rewritten hello, a dropped frame, a forged refusal or a downgrade
// each cost the worker one reconnect (noticed in milliseconds, not by a stalled step), never the worker
// or the run.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode, type HelloMsg, PROTOCOL_VERSION } from '@dtrain/common';
import { openSoloRun, readMetrics, readSummary, type StepRecord } from '@dtrain/coordinator';
import { Relay } from '@dtrain/coordinator/relay';
import WebSocket, { WebSocketServer } from 'ws';
import { tempDir, testConfig, worker } from './harness.js';

const TOKEN = 'relay-token';

/** What the relay does to the n-th frame of a connection (counted from 0) going up or down: the frame to pass on, or null to drop it. */
interface Tamper {
  up?: (d: Buffer, n: number, conn: number) => Buffer | null;
  down?: (d: Buffer, n: number, conn: number) => Buffer | null;
  /** Answer connection `conn` itself with these frames and close it (a forged coordinator), instead of relaying. */
  forge?: (conn: number) => Buffer[] | null;
}

/** A WebSocket relay to `target` that forwards frames and pings (as a transparent relay would), tampering as told. */
async function mitm(target: string, t: Tamper): Promise<{ url: string; sawPlain: () => boolean; close: () => void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  let sawPlain = false;
  let conns = 0;
  wss.on('connection', (down) => {
    const conn = conns++;
    down.on('error', () => undefined);
    const forged = t.forge?.(conn);
    if (forged) {
      for (const f of forged) down.send(f);
      return void setTimeout(() => down.close(), 50);
    }
    const up = new WebSocket(target);
    up.on('error', () => undefined);
    const pending: (() => void)[] = [];
    const toUp = (f: () => void): void => void (up.readyState === WebSocket.OPEN ? f() : pending.push(f));
    up.on('open', () => pending.splice(0).forEach((f) => f()));
    let nUp = 0;
    let nDown = 0;
    down.on('message', (d: Buffer) => {
      const out = t.up ? t.up(d, nUp++, conn) : d;
      if (out) toUp(() => up.send(out));
    });
    down.on('ping', (d: Buffer) => toUp(() => up.ping(d)));
    up.on('ping', (d: Buffer) => down.readyState === WebSocket.OPEN && down.ping(d));
    up.on('message', (d: Buffer) => {
      if (d.includes(Buffer.from('indices'))) sawPlain = true; // an assignment's header, if it were readable
      const out = t.down ? t.down(d, nDown++, conn) : d;
      if (out && down.readyState === WebSocket.OPEN) down.send(out);
    });
    up.on('close', () => down.close());
    down.on('close', () => up.close());
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    sawPlain: () => sawPlain,
    close: () => wss.close(),
  };
}

/** A run with one direct worker and one behind the relay; resolves with what the coordinator logged. */
async function throughRelay(t: Tamper, steps = 6, minWorkers = 1) {
  const logs: string[] = [];
  const run = await openSoloRun({
    config: testConfig({ maxSteps: steps, workers: 2, minWorkers, stepTimeoutMs: 30_000 }),
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    out: tempDir('relay'),
    waitTimeoutMs: 20_000,
    log: (l) => logs.push(l),
  });
  const relay = await mitm(`ws://127.0.0.1:${run.port}`, t);
  const t0 = Date.now();
  const summaryP = run.run();
  const ws = await Promise.all([
    worker(`ws://127.0.0.1:${run.port}`, 'direct', TOKEN),
    worker(relay.url, 'relayed', TOKEN),
  ]);
  const summary = await summaryP;
  const results = await Promise.all(ws.map((w) => w.done));
  relay.close();
  const records = readMetrics(run.coord.runDir.dir);
  return {
    summary,
    logs,
    relay,
    ms: Date.now() - t0,
    results,
    steps: records.filter((r): r is StepRecord => r.type === 'step'),
    out: run.coord.runDir.dir,
  };
}

const everyStepWhole = (steps: StepRecord[]): boolean =>
  steps.every((r) => r.samples === 32 && Number.isFinite(r.loss) && r.loss < 10);

test('a token-less relay that flips one bit of a gradient is refused; it could read nothing; the run completes', async () => {
  let flipped = false;
  const r = await throughRelay({
    up: (d) => (!flipped && d.length > 10_000 ? ((d[d.length >> 1]! ^= 0x01), (flipped = true), d) : d),
  });
  assert.equal(r.summary.status, 'completed', r.summary.error);
  assert.ok(flipped, 'the relay flipped a bit');
  assert.equal(r.relay.sawPlain(), false, 'the relay could read an assignment');
  assert.ok(
    r.logs.some((l) => /relayed@.*ERR_AUTH_FAILED: a frame failed session authentication/.test(l)),
    r.logs.join('\n'),
  );
  assert.ok(everyStepWhole(r.steps), JSON.stringify(r.steps.map((s) => s.loss)));
});

test('a hello rewritten on the path (slots 200, a fake name) fails the proof: one reconnect, then the real hello; the fake name is nowhere', async () => {
  let rewritten = 0;
  const r = await throughRelay({
    up: (d, n, conn) => {
      if (n !== 0 || conn !== 0) return d;
      rewritten++;
      return Buffer.from(encode({ ...(decode(d, 1 << 16) as HelloMsg), slots: 200, name: 'fake' }));
    },
  });
  assert.equal(r.summary.status, 'completed', r.summary.error);
  assert.equal(rewritten, 1);
  assert.ok(
    r.logs.some((l) => /ERR_AUTH_FAILED: token proof does not match/.test(l)),
    r.logs.join('\n'),
  );
  assert.ok(
    r.results.every((x) => x.ok),
    'both workers ended well',
  );
  assert.ok(
    !JSON.stringify(readSummary(r.out)).includes('fake') && r.logs.every((l) => !l.includes('fake')),
    'the fake name reached the records',
  );
  assert.ok(everyStepWhole(r.steps));
});

test("a dropped gradient is noticed in milliseconds (the sender's count in its ping), not by the step deadline", async () => {
  let dropped = false;
  const r = await throughRelay({ up: (d) => (!dropped && d.length > 10_000 ? ((dropped = true), null) : d) });
  assert.equal(r.summary.status, 'completed', r.summary.error);
  assert.ok(dropped);
  assert.ok(
    r.logs.some((l) => /1 sealed frame\(s\) from this worker were lost on the way/.test(l)),
    r.logs.join('\n'),
  );
  assert.ok(r.ms < 15_000, `the run took ${r.ms} ms (step deadline 30 s)`);
  assert.ok(everyStepWhole(r.steps));
});

test('a dropped weights frame is noticed by the worker in milliseconds; it reconnects and the run completes', async () => {
  let dropped = false;
  // minWorkers 2: the run waits for the relayed worker to come back (on a loaded machine the direct worker alone
  // could otherwise finish every step before the rejoin, and the test would prove nothing about it).
  const r = await throughRelay({ down: (d) => (!dropped && d.length > 10_000 ? ((dropped = true), null) : d) }, 10, 2);
  assert.equal(r.summary.status, 'completed', r.summary.error);
  assert.ok(dropped);
  assert.ok(
    r.logs.some((l) =>
      /relayed@.* reported ERR_AUTH_FAILED: 1 sealed frame\(s\) from the coordinator were lost on the way/.test(l),
    ),
    r.logs.join('\n'),
  );
  assert.ok(r.logs.filter((l) => /worker relayed@.* ready/.test(l)).length >= 2, 'the relayed worker joined again');
  assert.ok(r.ms < 20_000, `the run took ${r.ms} ms`);
  assert.ok(everyStepWhole(r.steps));
});

test('a forged refusal and a downgrade (a challenge without auth) each cost the worker a reconnect, not its life', async () => {
  const forged = [
    [encode({ kind: 'reject', code: 'ERR_MODEL_MISMATCH', message: 'forged: give up' })],
    [encode({ kind: 'challenge', protocol: PROTOCOL_VERSION, nonce: 'n'.repeat(48), auth: false })],
    [encode({ kind: 'reject', code: 'ERR_AUTH_FAILED', message: 'forged: wrong token' })],
  ];
  const r = await throughRelay({ forge: (conn) => forged[conn]?.map((f) => Buffer.from(f)) ?? null });
  assert.equal(r.summary.status, 'completed', r.summary.error);
  assert.ok(
    r.results.every((x) => x.ok),
    JSON.stringify(r.results),
  );
  assert.ok(everyStepWhole(r.steps));
});

test('a relay (dtrain relay) facing a forged refusal, a downgrade and a dropped frame on its uplink reconnects, and the run completes through it', async () => {
  const run = await openSoloRun({
    config: testConfig({ maxSteps: 6, workers: 1, minWorkers: 1 }),
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    out: tempDir('relay-up'),
    waitTimeoutMs: 20_000,
    log: () => undefined,
  });
  const forged = [
    [encode({ kind: 'reject', code: 'ERR_DATASET_MISMATCH', message: 'forged' })],
    [encode({ kind: 'challenge', protocol: PROTOCOL_VERSION, nonce: 'n'.repeat(48), auth: false })],
  ];
  let dropped = false;
  const relayMitm = await mitm(`ws://127.0.0.1:${run.port}`, {
    forge: (conn) => forged[conn]?.map((f) => Buffer.from(f)) ?? null,
    down: (d) => (!dropped && d.length > 10_000 ? ((dropped = true), null) : d), // then the first weights to the relay are lost
  });
  const lines: string[] = [];
  const locals: Promise<Awaited<ReturnType<typeof worker>>>[] = [];
  const relay = new Relay({
    url: relayMitm.url,
    token: TOKEN,
    host: '127.0.0.1',
    port: 0,
    localToken: 'local',
    localWorkers: 1,
    stepTimeoutMs: 20_000,
    waitTimeoutMs: 20_000,
    giveUpMs: 10_000,
    name: 'relay',
    log: (l) => lines.push(l),
    onListening: (port) => void locals.push(worker(`ws://127.0.0.1:${port}`, 'r0', 'local')),
  });
  const summaryP = run.run();
  const why = await relay.run();
  const summary = await summaryP;
  await Promise.all((await Promise.all(locals)).map((w) => w.done));
  relayMitm.close();
  assert.equal(summary.status, 'completed', summary.error);
  assert.equal(why, 'run completed');
  assert.ok(
    lines.some((l) => /expected "challenge", got "reject"/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /does not ask for a token, but this worker holds one/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    dropped && lines.some((l) => /1 sealed frame\(s\) from the coordinator were lost on the way/.test(l)),
    lines.join('\n'),
  );
});
