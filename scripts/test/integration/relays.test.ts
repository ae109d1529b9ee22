// Hierarchical aggregation over real sockets: relays with local workers behind them, against workers
// attached directly; a local worker killed behind a relay, and a relay killed mid-run.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { epochOrder, indicesDigest, planBatch, type TrainConfig } from '@dtrain/common';
import type { StepRecord } from '@dtrain/coordinator';
import { Relay } from '@dtrain/coordinator/relay';
import { quiet, records, startRun, tempDir, testConfig, testRelay, train, worker } from './harness.js';

const config = (o: Partial<TrainConfig> = {}): TrainConfig =>
  testConfig({ maxSteps: 8, workers: 1, minWorkers: 1, ...o });

/** A run whose workers are `relays` relays with `local` in-process workers each. */
async function viaRelays(
  c: TrainConfig,
  relays: number,
  local: number,
  hooks: {
    onStep?: (step: number, ctl: { relays: Relay[]; locals: Awaited<ReturnType<typeof worker>>[] }) => void;
    /** Local workers dial a Unix socket in this directory instead of loopback TCP. */
    unixDir?: string;
  } = {},
) {
  const run = await startRun(c);
  const summaryP = run.run();
  const rs: Relay[] = [];
  const locals: Awaited<ReturnType<typeof worker>>[] = [];
  const done = Array.from({ length: relays }, (_, r) => {
    const relay = testRelay(run.url, `relay${r}`, local, {
      ...(hooks.unixDir ? { socketPath: join(hooks.unixDir, `relay${r}.sock`) } : {}),
      onListening: (port) => {
        const url = hooks.unixDir ? `ws+unix:${join(hooks.unixDir, `relay${r}.sock`)}` : `ws://127.0.0.1:${port}`;
        for (let i = 0; i < local; i++) void worker(url, `r${r}w${i}`).then((w) => locals.push(w));
      },
    });
    rs.push(relay);
    return relay.run();
  });
  run.coord.on('step', (rec) => hooks.onStep?.(rec.step, { relays: rs, locals }));
  const summary = await summaryP;
  await Promise.allSettled(done);
  await Promise.allSettled(locals.map((l) => l.done));
  return { summary, out: run.out, weights: (await import('@dtrain/coordinator')).readCheckpoint(run.out).weights };
}

function exactSamples(out: string, c: TrainConfig): void {
  const steps = records(out).filter((r): r is StepRecord => r.type === 'step');
  const n =
    c.dataset.name === 'synthetic' ? c.dataset.trainSize - Math.floor(c.dataset.trainSize * c.dataset.valFraction) : 0;
  const perEpoch = Math.floor(n / c.batchSize);
  assert.deepEqual(
    steps.map((s) => s.step),
    Array.from({ length: c.maxSteps }, (_, i) => i + 1),
  );
  for (const s of steps)
    assert.equal(
      s.samplesDigest,
      indicesDigest(
        planBatch(epochOrder(n, c.seed, Math.floor((s.step - 1) / perEpoch)), (s.step - 1) % perEpoch, c.batchSize),
      ),
      `step ${s.step}`,
    );
}

test(
  'one relay with 2 local workers = 2 workers attached directly (same samples; weights equal to float tolerance); bitwise across two relay runs',
  { timeout: 120_000 },
  async () => {
    const direct = await train(config({ workers: 2, minWorkers: 2 }), 2);
    const a = await viaRelays(config(), 1, 2);
    const b = await viaRelays(config(), 1, 2);
    assert.equal(a.summary.status, 'completed', a.summary.error);
    exactSamples(a.out, config());
    let maxRel = 0;
    a.weights.forEach(
      (w, i) =>
        (maxRel = Math.max(maxRel, Math.abs(w - direct.weights[i]!) / Math.max(1e-6, Math.abs(direct.weights[i]!)))),
    );
    assert.ok(maxRel < 1e-4, `max relative difference ${maxRel}`);
    assert.deepEqual(a.weights, b.weights, 'the same topology twice: bit for bit');
    const s = records(a.out).filter((r): r is StepRecord => r.type === 'step');
    assert.ok(
      s.every((r) => r.workers === 1),
      'the coordinator saw one worker: the relay',
    );
  },
);

test("two relays of 2: the coordinator's link carries 2 gradients per step, not 4", { timeout: 120_000 }, async () => {
  const c = config({ workers: 2, minWorkers: 2 });
  const r = await viaRelays(c, 2, 2);
  assert.equal(r.summary.status, 'completed', r.summary.error);
  exactSamples(r.out, c);
  const s = records(r.out).filter((x): x is StepRecord => x.type === 'step');
  const perGradient = 18_234 * 4;
  assert.ok(
    s.every((x) => x.bytesIn >= 2 * perGradient && x.bytesIn < 2.1 * perGradient),
    `bytes in: ${s.map((x) => x.bytesIn).join(' ')}`,
  );
});

test(
  'a relay of 3 beside one direct worker takes 3 of every 4 samples (shards cut by the workers behind each connection)',
  { timeout: 120_000 },
  async () => {
    const c = config({ workers: 2, minWorkers: 2 });
    const run = await startRun(c);
    const summaryP = run.run();
    const locals: Awaited<ReturnType<typeof worker>>[] = [];
    const relay = new Relay({
      url: run.url,
      token: undefined,
      host: '127.0.0.1',
      port: 0,
      localToken: undefined,
      localWorkers: 3,
      stepTimeoutMs: 20_000,
      waitTimeoutMs: 20_000,
      giveUpMs: 5_000,
      name: 'relay3',
      log: quiet,
      onListening: (port) => {
        for (let i = 0; i < 3; i++) void worker(`ws://127.0.0.1:${port}`, `r${i}`).then((w) => locals.push(w));
      },
    });
    const relayDone = relay.run();
    const direct = await worker(run.url, 'direct');
    const summary = await summaryP;
    await Promise.allSettled([relayDone, direct.done, ...locals.map((l) => l.done)]);
    assert.equal(summary.status, 'completed', summary.error);
    exactSamples(run.out, c);
    const samples = Object.fromEntries(summary.workers.map((w) => [w.label.split('@')[0], w.samples]));
    assert.deepEqual(samples, { relay3: 24 * c.maxSteps, direct: 8 * c.maxSteps }, JSON.stringify(summary.workers));
  },
);

test(
  'a local worker killed behind a relay: its part is recomputed by the other; every step uses exactly its samples',
  { timeout: 120_000 },
  async () => {
    const c = config({ maxSteps: 12 });
    let killed = false;
    const r = await viaRelays(c, 1, 2, {
      onStep: (step, ctl) => {
        if (step === 4 && !killed && ctl.locals[0]) {
          killed = true;
          ctl.locals[0].client.stop('killed by the test');
        }
      },
    });
    assert.ok(killed);
    assert.equal(r.summary.status, 'completed', r.summary.error);
    exactSamples(r.out, c);
    const log = readFileSync(join(r.out, 'run.log'), 'utf8');
    assert.match(
      log,
      /relay0@[^:]*: worker r0w0@\S+ left \(/,
      "the coordinator's log names the local worker behind the relay",
    );
  },
);

for (const wires of [{}, { gradWire: 'int8', weightWire: 'int8' }] as const)
  test(
    'a relay lost mid-run: the coordinator gives its shard to the other relay; every step uses exactly its samples' +
      ('gradWire' in wires ? ' (int8 both ways)' : ''),
    { timeout: 120_000 },
    async () => {
      const c = config({ maxSteps: 12, workers: 2, minWorkers: 1, ...wires });
      let killed = false;
      const r = await viaRelays(c, 2, 2, {
        onStep: (step, ctl) => {
          if (step === 4 && !killed) {
            killed = true;
            ctl.relays[0]!.stop();
          }
        },
      });
      assert.ok(killed);
      assert.equal(r.summary.status, 'completed', r.summary.error);
      exactSamples(r.out, c);
      const s = records(r.out).filter((x): x is StepRecord => x.type === 'step');
      assert.ok(
        s.some((x) => x.workers === 1),
        'it trained on with one relay',
      );
    },
  );

test(
  '--weight-wire int8 through a relay: it holds the view and forwards each delta as it came; bitwise across two relay runs, close to direct workers',
  { timeout: 120_000 },
  async () => {
    const c = (o: Partial<TrainConfig> = {}) => config({ weightWire: 'int8', maxSteps: 12, ...o });
    const direct = await train(c({ workers: 2, minWorkers: 2 }), 2);
    const a = await viaRelays(c(), 1, 2);
    const b = await viaRelays(c(), 1, 2);
    assert.equal(a.summary.status, 'completed', a.summary.error);
    exactSamples(a.out, c());
    assert.deepEqual(a.weights, b.weights, 'the same topology twice: bit for bit');
    let [diff, norm] = [0, 0];
    a.weights.forEach((w, i) => {
      diff += (w - direct.weights[i]!) ** 2;
      norm += direct.weights[i]! ** 2;
    });
    assert.ok(Math.sqrt(diff / norm) < 1e-3, `relative distance from direct workers ${Math.sqrt(diff / norm)}`);
    const steps = records(a.out).filter((r): r is StepRecord => r.type === 'step' && r.step > 1);
    const fp32Frame = 4 * a.weights.length;
    assert.ok(
      steps.every((s) => s.bytesOut < 0.3 * fp32Frame),
      'the relay was sent deltas, not whole weights',
    );
  },
);

test(
  '--grad-wire int8 through a relay: compressed at the host boundary (the relay sends 1 byte per value, its workers fp32)',
  {
    timeout: 120_000,
  },
  async () => {
    const c = config({ gradWire: 'int8', maxSteps: 10 });
    const [a, b] = [await viaRelays(c, 1, 2), await viaRelays(c, 1, 2)];
    assert.equal(a.summary.status, 'completed', a.summary.error);
    assert.deepEqual(a.weights, b.weights, 'one residual per host, the same topology twice: bit for bit');
    const steps = records(a.out).filter((r): r is StepRecord => r.type === 'step');
    assert.ok(
      steps.every((s) => s.bytesIn < 0.3 * 4 * a.weights.length),
      `bytes in per step ${steps.map((s) => s.bytesIn).join(', ')}`,
    );
  },
);

test('local workers on a Unix socket: the same bits as on loopback TCP', { timeout: 120_000 }, async () => {
  const tcp = await viaRelays(config(), 1, 2);
  const unix = await viaRelays(config(), 1, 2, { unixDir: tempDir('relay-unix') });
  assert.equal(unix.summary.status, 'completed', unix.summary.error);
  assert.deepEqual(unix.weights, tcp.weights);
});
