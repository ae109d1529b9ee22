// The dashboard server without a browser: token, methods, the viewer limit, and the event stream (a
// snapshot first, then steps, worker changes and a sweep's grid) from a stand-in run and pool.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { type Coordinator, Dashboard, MAX_VIEWERS, type RunPool } from '@dtrain/coordinator';

/** Read server-sent events from `url` until `enough` says so (or 5 s). */
async function events(url: string, enough: (evs: { event: string; data: any }[]) => boolean, act?: () => void) {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const evs: { event: string; data: any }[] = [];
  let buf = '';
  const end = Date.now() + 5000;
  act?.();
  while (!enough(evs) && Date.now() < end) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += new TextDecoder().decode(value);
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) evs.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return evs;
}

function standIns() {
  const coord = Object.assign(new EventEmitter(), {
    runId: 'r1',
    config: {
      model: 'tiny-cnn',
      dataset: { name: 'synthetic' },
      batchSize: 8,
      workers: 1,
      optimizer: { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, form: 'pytorch' },
    },
    derived: { totalSteps: 10 },
  }) as unknown as Coordinator;
  const conn = { label: 'w0@h#0', hello: { host: 'h', backend: 'wasm' } };
  const pool = Object.assign(new EventEmitter(), { ready: () => [conn] }) as unknown as RunPool;
  return { coord, pool, conn };
}

test('dashboard: token, GET only, a snapshot then each step and worker change, a sweep grid, and a viewer limit', async () => {
  const d = await Dashboard.open({ host: '127.0.0.1', port: 0, token: 't0k', log: () => undefined });
  try {
    const base = d.url.replace(/\?.*$/, '');
    assert.equal((await fetch(`${base}events?token=wrong`)).status, 401);
    assert.equal((await fetch(d.url, { method: 'DELETE' })).status, 405);
    assert.equal((await fetch(`${base}nothing?token=t0k`)).status, 404);
    d.setGrid([
      { name: 'b32', state: 'pending', steps: null, bestValAccuracy: null, testAccuracy: null, stepsToTarget: null },
    ]);
    const { coord, pool, conn } = standIns();
    d.attach(coord, pool);
    const step = {
      type: 'step',
      step: 1,
      epoch: 0.1,
      loss: 2,
      accuracy: 0.1,
      lr: 0.1,
      samples: 8,
      bSimple: null,
      stepMs: 10,
      waitMs: 5,
      coordMs: 1,
      computeMs: { 'w0@h#0': 4 },
      links: {},
    };
    const evs = await events(
      `${base}events?token=t0k`,
      (e) => e.some((x) => x.event === 'grid'),
      () => {
        setTimeout(() => {
          coord.emit('step', step as never);
          (pool as unknown as EventEmitter).emit('lost', conn, 'socket closed');
          d.updateGrid(0, { state: 'completed', stepsToTarget: 7 });
        }, 50);
      },
    );
    assert.equal(evs[0]!.event, 'snapshot');
    assert.equal(evs[0]!.data.run.runId, 'r1');
    assert.equal(evs[0]!.data.grid[0].name, 'b32');
    assert.deepEqual(evs.map((e) => e.event).slice(1), ['step', 'worker', 'grid']);
    assert.equal(evs[1]!.data.point.step, 1);
    assert.deepEqual([evs[2]!.data.worker.state, evs[2]!.data.worker.why], ['lost', 'socket closed']);
    assert.equal(evs[3]!.data.grid[0].stepsToTarget, 7);
    const open = await Promise.all(Array.from({ length: MAX_VIEWERS }, () => fetch(`${base}events?token=t0k`)));
    assert.equal((await fetch(`${base}events?token=t0k`)).status, 503, 'one viewer too many');
    for (const r of open) await r.body?.cancel();
  } finally {
    await d.close();
  }
});

test("dashboard: each worker's shards and samples count the results accepted from it", async () => {
  const d = await Dashboard.open({ host: '127.0.0.1', port: 0, token: undefined, log: () => undefined });
  try {
    const { coord, pool } = standIns();
    d.attach(coord, pool);
    const step = {
      type: 'step',
      step: 1,
      epoch: 0.1,
      loss: 2,
      accuracy: 0.1,
      lr: 0.1,
      samples: 8,
      bSimple: null,
      stepMs: 10,
      waitMs: 5,
      coordMs: 1,
      computeMs: { 'w0@h#0': 4 },
      links: {},
    };
    const evs = await events(
      `${d.url}events`,
      (e) => e.some((x) => x.event === 'step'),
      () => {
        setTimeout(() => {
          coord.emit('shard', 'w0@h#0', 5);
          coord.emit('shard', 'w0@h#0', 3);
          coord.emit('step', step as never);
        }, 50);
      },
    );
    const w = evs.find((e) => e.event === 'step')!.data.workers[0];
    assert.deepEqual([w.steps, w.shards, w.samples], [1, 2, 8]);
  } finally {
    await d.close();
  }
});
