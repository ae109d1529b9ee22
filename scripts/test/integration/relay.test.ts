// A relay in the middle without the token (it sees every frame and may change them): a sealed session
// means it can neither read a frame nor alter one; one flipped bit in a gradient is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket, { WebSocketServer } from 'ws';
import { openSoloRun, readMetrics, type StepRecord } from '@dtrain/coordinator';
import { tempDir, testConfig, worker } from './harness.js';

const TOKEN = 'relay-token';

/** A WebSocket relay to `target` that flips one bit of the first large frame from the worker. */
async function bitFlipRelay(target: string): Promise<{ url: string; flipped: () => boolean; sawPlain: () => boolean; close: () => void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  let flipped = false;
  let sawPlain = false;
  wss.on('connection', (down) => {
    const up = new WebSocket(target);
    const pending: Buffer[] = [];
    up.on('open', () => pending.splice(0).forEach((d) => up.send(d)));
    down.on('message', (d: Buffer) => {
      if (!flipped && d.length > 10_000) {
        d[d.length >> 1]! ^= 0x01;
        flipped = true;
      }
      if (up.readyState === WebSocket.OPEN) up.send(d);
      else pending.push(d);
    });
    up.on('message', (d: Buffer) => {
      if (d.includes(Buffer.from('indices'))) sawPlain = true; // an assignment's header, if it were readable
      if (down.readyState === WebSocket.OPEN) down.send(d);
    });
    up.on('close', () => down.close());
    down.on('close', () => up.close());
    up.on('error', () => undefined);
    down.on('error', () => undefined);
  });
  return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, flipped: () => flipped, sawPlain: () => sawPlain, close: () => wss.close() };
}

test('a token-less relay that flips one bit of a gradient is refused; it could read nothing; the run completes', async () => {
  const logs: string[] = [];
  const run = await openSoloRun({ config: testConfig({ maxSteps: 6, workers: 2, minWorkers: 1 }), host: '127.0.0.1', port: 0, token: TOKEN, out: tempDir('relay'), waitTimeoutMs: 20_000, log: (l) => logs.push(l) });
  const relay = await bitFlipRelay(`ws://127.0.0.1:${run.port}`);
  const summaryP = run.run();
  const ws = await Promise.all([worker(`ws://127.0.0.1:${run.port}`, 'direct', TOKEN), worker(relay.url, 'relayed', TOKEN)]);
  const summary = await summaryP;
  await Promise.all(ws.map((w) => w.done));
  relay.close();
  assert.equal(summary.status, 'completed', summary.error);
  assert.ok(relay.flipped(), 'the relay flipped a bit');
  assert.equal(relay.sawPlain(), false, 'the relay could read an assignment');
  assert.ok(logs.some((l) => /relayed@.*ERR_AUTH_FAILED: a frame failed session authentication/.test(l)), logs.join('\n'));
  const steps = readMetrics(run.coord.runDir.dir).filter((r): r is StepRecord => r.type === 'step');
  assert.ok(steps.every((r) => r.samples === 32 && Number.isFinite(r.loss) && r.loss < 10), JSON.stringify(steps.map((r) => r.loss)));
});
