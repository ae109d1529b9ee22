import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Round, type WorkerConn } from '@dtrain/coordinator';

const conn = (id: number) => ({ id, label: `w${id}` }) as unknown as WorkerConn;

function host(live: WorkerConn[], timeoutMs = 10_000) {
  const sent: [number, number][] = [];
  return {
    sent,
    live,
    h: {
      liveWorkers: () => [...live],
      send: (c: WorkerConn, f: Uint8Array) => sent.push([c.id, f[0]!]),
      timeoutMs,
      log: () => undefined,
    },
  };
}

const tasks = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, frame: new Uint8Array([i]), count: 1 }));

test("tasks go round robin, and a lost worker's tasks go to the others", async () => {
  const a = conn(0);
  const b = conn(1);
  const env = host([a, b]);
  const round = new Round<string>(env.h, tasks(4));
  const done = round.run();
  assert.deepEqual(env.sent, [
    [0, 0],
    [1, 1],
    [0, 2],
    [1, 3],
  ]);
  assert.equal(round.offer(a, 0, 'a0'), 'accepted');
  env.live.splice(1, 1);
  round.workerLost(b);
  assert.deepEqual(env.sent.slice(4), [
    [0, 1],
    [0, 3],
  ]);
  assert.equal(round.offer(b, 1, 'late'), 'not-assigned');
  for (const t of [1, 2, 3]) assert.equal(round.offer(a, t, `a${t}`), 'accepted');
  const results = await done;
  assert.deepEqual([...results.keys()].sort(), [0, 1, 2, 3]);
  assert.equal(round.reassigned, 2);
});

test('a task past its deadline is sent to another worker; the first result wins', async () => {
  const a = conn(0);
  const b = conn(1);
  const env = host([a, b], 30);
  const lines: string[] = [];
  const round = new Round<string>({ ...env.h, log: (l) => lines.push(l) }, tasks(2));
  const done = round.run();
  assert.equal(round.offer(b, 1, 'b1'), 'accepted');
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(
    env.sent.some(([w, t]) => w === 1 && t === 0),
    'task 0 re-sent to worker 1',
  );
  assert.deepEqual(lines, ['task 0: deadline of 30 ms passed (held by w0); reassigned to w1'], 'the late worker named');
  assert.equal(round.offer(b, 0, 'b0'), 'accepted');
  assert.equal(round.offer(a, 0, 'a0-late'), 'duplicate');
  assert.equal((await done).get(0), 'b0');
});

test('with no live worker, tasks wait for one to join', async () => {
  const env = host([]);
  const round = new Round<string>(env.h, tasks(2));
  const done = round.run();
  assert.equal(env.sent.length, 0);
  const c = conn(5);
  env.live.push(c);
  round.workerJoined();
  assert.equal(env.sent.length, 2);
  round.offer(c, 0, 'x');
  round.offer(c, 1, 'y');
  assert.equal((await done).size, 2);
});

test('a task waits behind the ones sent to its worker before it: its deadline covers their samples too', async () => {
  const asked: number[] = [];
  const a = conn(0);
  const b = conn(1);
  const env = host([a, b]);
  const round = new Round<string>(
    {
      ...env.h,
      timeoutMs: (samples: number) => {
        asked.push(samples);
        return 10_000;
      },
    },
    Array.from({ length: 6 }, (_, i) => ({ id: i, frame: new Uint8Array([i]), count: 10 * (i + 1) })),
  );
  const done = round.run();
  // a gets tasks 0, 2, 4 (10, 30, 50 samples), b tasks 1, 3, 5 (20, 40, 60), in that order
  assert.deepEqual(asked, [10, 20, 40, 60, 90, 120]);
  try {
    round.offer(a, 0, 'x');
    env.live.splice(1, 1);
    round.workerLost(b); // b's three go to a, behind what a still holds (30 + 50)
    assert.deepEqual(asked.slice(6), [100, 140, 200]);
    for (const id of [1, 2, 3, 4, 5]) round.offer(a, id, 'x');
    assert.equal((await done).size, 6);
  } finally {
    round.cancel();
  }
});
