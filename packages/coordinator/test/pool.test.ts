// The pool's admission of results and its rounds, over real sockets with protocol-level workers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode, type GradientMsg } from '@dtrain/common';
import { type RoundTask, readyLine, WorkerPool } from '@dtrain/coordinator';
import { CoordinatorLink } from '@dtrain/worker/link';
import { tinyRun } from './fixtures.js';

const P = 4;
const grad = (step: number, shardId: number, count: number): GradientMsg => ({
  kind: 'gradient',
  step,
  version: 0,
  shardId,
  count,
  lossSum: 1,
  correct: 0,
  computeMs: 1,
  grad: new Float32Array(P).fill(shardId + 1),
});
const task = (shardId: number, count: number): RoundTask => ({
  id: shardId,
  count,
  frame: encode({
    kind: 'assign',
    step: 1,
    version: 0,
    epoch: 0,
    shardId,
    indices: Uint32Array.from({ length: count }, (_, i) => i),
  }),
});

async function poolWithWorkers(n: number): Promise<{ pool: WorkerPool; links: CoordinatorLink[]; logs: string[] }> {
  const logs: string[] = [];
  const pool = new WorkerPool({ host: '127.0.0.1', port: 0, token: undefined, maxParams: P, log: (l) => logs.push(l) });
  pool.setRun(tinyRun(P, 100), { paramCount: P, trainSize: 100, evalSize: 10 });
  const port = await pool.listen();
  const links: CoordinatorLink[] = [];
  for (let i = 0; i < n; i++) {
    const link = await CoordinatorLink.open(`ws://127.0.0.1:${port}`);
    await link.join({ name: `w${i}` });
    links.push(link);
    while (pool.ready().length < i + 1) await new Promise((r) => setTimeout(r, 5));
  }
  return { pool, links, logs };
}

test('admission: stale and duplicate results are dropped, not-assigned and misshapen ones close that worker, its task moves on', async () => {
  const { pool, links, logs } = await poolWithWorkers(3);
  const [a, b, c] = links as [CoordinatorLink, CoordinatorLink, CoordinatorLink];
  const accepted: string[] = [];
  const round = pool.runRound(
    {
      kind: 'step',
      step: 1,
      version: 0,
      tasks: [task(0, 2), task(1, 3)],
      timeoutMs: 10_000,
      onAccepted: (conn, g) => void accepted.push(`${conn.label.split('@')[0]}:${g.shardId}:${g.grad[0]}`),
    },
    new AbortController().signal,
  );
  assert.equal((await a.expect('assign')).shardId, 0); // task i goes to worker i mod 3, by id
  assert.equal((await b.expect('assign')).shardId, 1);

  c.send(grad(1, 0, 2)); // c holds no task
  assert.deepEqual(await c.closed, { code: 1008, reason: 'ERR_UNEXPECTED_MESSAGE' });
  a.send(grad(2, 0, 2)); // a step that is not open
  a.send(grad(1, 0, 2));
  a.send(grad(1, 0, 2)); // the same shard again
  b.send(grad(1, 1, 2)); // 2 samples where 3 were planned
  assert.deepEqual(await b.closed, { code: 1008, reason: 'ERR_SHAPE_MISMATCH' });
  assert.equal((await a.expect('assign')).shardId, 1, "the lost worker's task goes to the one left");
  a.send(grad(1, 1, 3));
  const outcome = await round;
  assert.deepEqual(accepted, ['w0:0:1', 'w0:1:2']);
  assert.equal(outcome?.reassigned, 1);
  assert.ok(
    logs.some((l) => /ERR_STALE_GRADIENT: gradient for step 2 while at step 1/.test(l)),
    logs.join('\n'),
  );
  assert.ok(
    logs.some((l) => /ERR_DUPLICATE_GRADIENT: task 0/.test(l)),
    logs.join('\n'),
  );
  await pool.shutdown('test over');
});

test('a round resolves null when its signal aborts, and weights reach a worker once per version', async () => {
  const { pool, links } = await poolWithWorkers(1);
  const link = links[0]!;
  pool.publishWeights(0, new Float32Array(P).fill(7));
  pool.publishWeights(0, new Float32Array(P).fill(7));
  pool.publishWeights(1, new Float32Array(P).fill(8));
  assert.deepEqual([(await link.expect('weights')).version, (await link.expect('weights')).version], [0, 1]);
  const halt = new AbortController();
  const round = pool.runRound(
    { kind: 'eval', evalId: 1, tasks: [], timeoutMs: 10_000, onAccepted: () => undefined },
    halt.signal,
  );
  const never = pool.runRound(
    { kind: 'step', step: 1, version: 1, tasks: [task(0, 1)], timeoutMs: 10_000, onAccepted: () => undefined },
    halt.signal,
  );
  assert.deepEqual(await round, { reassigned: 0, decodeMs: 0 }, 'a round with no tasks is done at once');
  halt.abort();
  assert.equal(await never, null);
  await pool.shutdown('test over');
});

test('a divergence report is believed only from the worker holding that shard: another one is closed, the step goes on', async () => {
  const { pool, links, logs } = await poolWithWorkers(2);
  const [a, b] = links as [CoordinatorLink, CoordinatorLink];
  const round = pool.runRound(
    {
      kind: 'step',
      step: 1,
      version: 0,
      tasks: [task(0, 2), task(1, 3)],
      timeoutMs: 10_000,
      onAccepted: () => undefined,
    },
    new AbortController().signal,
  );
  await a.expect('assign');
  await b.expect('assign');
  b.send({ kind: 'diverged', step: 1, version: 0, shardId: 0, what: 'loss' }); // shard 0 is a's
  assert.deepEqual(await b.closed, { code: 1008, reason: 'ERR_UNEXPECTED_MESSAGE' });
  assert.equal((await a.expect('assign')).shardId, 1, "b's shard moves to a");
  a.send(grad(1, 0, 2));
  a.send(grad(1, 1, 3));
  const outcome = await round;
  assert.equal(outcome?.diverged, undefined, 'the step did not end diverged');
  assert.ok(
    logs.some((l) => /divergence reported for shard 0, which this worker does not hold/.test(l)),
    logs.join('\n'),
  );
  await pool.shutdown('test over');
});

test("a worker's ready line says its backend's reason once, cut to a line; the next worker with the same says so", () => {
  const seen = new Set<string>();
  const reason = `@tensorflow/tfjs-node-gpu: no native binding (${'x'.repeat(300)})`;
  const first = readyLine('w0@a#0', 'wasm', reason, seen);
  assert.ok(first.length < 180, `${first.length} characters`);
  assert.match(
    first,
    /^worker w0@a#0 ready \(backend wasm: @tensorflow\/tfjs-node-gpu: no native binding \(x+\.\.\.\)$/,
  );
  assert.equal(readyLine('w1@a#1', 'wasm', reason, seen), 'worker w1@a#1 ready (backend wasm, as above)');
  assert.equal(readyLine('w2@b#0', 'cpu', 'asked for', seen), 'worker w2@b#0 ready (backend cpu: asked for)');
});
