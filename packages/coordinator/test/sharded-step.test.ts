// The coordinator's side of sharded summation against a fake pool: when a mesh is formed and ready, a
// step's slices, a late slice named with its owner, a slice from a stranger, an owner lost mid-step.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { type CoordinatorMsg, SlicedReducer, type SliceMsg, type TrainerError } from '@dtrain/common';
import type { PoolEvents, RoundOutcome, StepRound } from '../src/pool-types.js';
import type { WorkerConn } from '../src/server.js';
import { MeshPlan, meshUrl, shardedRound } from '../src/sharded-step.js';

const conn = (id: number, mesh?: number): WorkerConn =>
  ({ id, label: `h${id}`, address: `::ffff:10.0.0.${id}`, hello: mesh ? { mesh } : {} }) as unknown as WorkerConn;

class FakePool extends EventEmitter<PoolEvents> {
  sent: [number, CoordinatorMsg][] = [];
  rejected: [number, string][] = [];
  readonly speeds = undefined as never;
  readonly bytes = { in: 0, out: 0 };
  constructor(readonly conns: WorkerConn[]) {
    super();
  }
  ready = () => this.conns;
  setRun = () => undefined;
  publishWeights = () => undefined;
  waitForWorkers = async () => true;
  runRound = async (_spec: StepRound, signal: AbortSignal): Promise<RoundOutcome | null> =>
    signal.aborted ? null : { reassigned: 0, decodeMs: 0 };
  mesh = {
    send: (c: WorkerConn, m: CoordinatorMsg) => void this.sent.push([c.id, m]),
    publishSlice: () => undefined,
    hasVersion: () => false,
    forgetSent: () => undefined,
    reject: (c: WorkerConn, e: TrainerError) => void this.rejected.push([c.id, e.code]),
  };
}

test('a mesh forms over two or more host servers when every ready worker is one; a step waits for it to link up', async () => {
  const [a, b, w] = [conn(1, 4001), conn(2, 4002), conn(3)];
  const pool = new FakePool([a, b, w]);
  const logs: string[] = [];
  const plan = new MeshPlan(pool as never, 20_000, (l) => logs.push(l), 200);
  assert.equal(await plan.prepare([a, b, w]), false, 'a plain worker among them: the star');
  assert.equal(pool.sent.length, 0);
  assert.equal(await plan.prepare([a]), false, 'one host: the star');
  const linking = plan.prepare([b, a]);
  assert.deepEqual(
    pool.sent.map(([id, m]) => [
      id,
      m.kind === 'mesh' && m.index,
      m.kind === 'mesh' && m.owners,
      m.kind === 'mesh' && m.chunks,
    ]),
    [
      [1, 0, ['ws://10.0.0.1:4001', 'ws://10.0.0.2:4002'], 2],
      [2, 1, ['ws://10.0.0.1:4001', 'ws://10.0.0.2:4002'], 2],
    ],
  );
  pool.emit('meshReady', a, 1);
  pool.emit('meshReady', b, 0); // an old epoch's: not counted
  pool.emit('meshReady', b, 1);
  assert.equal(await linking, true, 'the step waited for the mesh');
  // 5 blocks over 2 owners: 2 slices each, about a block apiece; owner 0 holds slices 0 and 1
  assert.deepEqual(plan.layout, [
    { offset: 0, length: 4096 },
    { offset: 4096, length: 4096 },
    { offset: 8192, length: 4096 },
    { offset: 12288, length: 7712 },
  ]);
  assert.deepEqual(
    [0, 1, 2, 3].map((j) => plan.ownerOf(j)),
    [a, a, b, b],
  );
  pool.emit('lost', a, 'gone');
  const c = conn(4, 4004);
  assert.equal(await plan.prepare([b, c]), false, 'an owner lost: a new epoch, which never links up');
  assert.equal(plan.epoch, 2);
  assert.match(logs.join('\n'), /mesh: epoch 2 over 2 host servers/);
  assert.match(logs.join('\n'), /mesh: epoch 2 not ready after 0.2 s \(0 of 2 hosts/);
  assert.equal(meshUrl(conn(9, 5000)), 'ws://10.0.0.9:5000');
  assert.equal(meshUrl({ address: 'fe80::1', hello: { mesh: 7 } } as never), 'ws://[fe80::1]:7');
});

test('after an epoch that never linked up, the next epochs do not hold steps for the mesh until one links', async () => {
  const [a, b, c] = [conn(1, 4001), conn(2, 4002), conn(3, 4003)];
  const pool = new FakePool([a, b, c]);
  const logs: string[] = [];
  const plan = new MeshPlan(pool as never, 8192, (l) => logs.push(l), 150);
  let t = Date.now();
  assert.equal(await plan.prepare([a, b]), false);
  assert.ok(Date.now() - t >= 140, 'the first epoch is waited for');
  assert.match(logs.join('\n'), /later epochs do not wait for the mesh until one links up/);
  t = Date.now();
  assert.equal(await plan.prepare([a, b, c]), false, 'a host joins: epoch 2, not waited for');
  assert.equal(plan.epoch, 2);
  assert.ok(Date.now() - t < 100, `${Date.now() - t} ms`);
  pool.emit('meshReady', a, 2);
  pool.emit('meshReady', b, 2);
  pool.emit('meshReady', c, 2);
  assert.equal(await plan.prepare([a, b, c]), true, 'it links later: its steps use it');
  pool.emit('lost', c, 'gone');
  t = Date.now();
  assert.equal(await plan.prepare([a, b]), false, 'epoch 3 after one that linked: waited for again');
  assert.ok(Date.now() - t >= 140);
});

test('in fp32 (the same bits either way) a step does not wait for a new mesh: the star until it links up', async () => {
  const [a, b] = [conn(1, 4001), conn(2, 4002)];
  const pool = new FakePool([a, b]);
  const logs: string[] = [];
  const plan = new MeshPlan(pool as never, 8192, (l) => logs.push(l), 100, 1, false);
  const t0 = Date.now();
  assert.equal(await plan.prepare([a, b]), false, 'not linked yet: the star, at once');
  assert.ok(Date.now() - t0 < 50, 'no wait');
  assert.doesNotMatch(logs.join('\n'), /not ready/, 'no warning before its time');
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(await plan.prepare([a, b]), false);
  assert.match(logs.join('\n'), /mesh: epoch 1 not ready after 0.1 s/, 'said once the time passed');
  pool.emit('meshReady', a, 1);
  pool.emit('meshReady', b, 1);
  assert.equal(await plan.prepare([a, b]), true, 'linked: the mesh');
});

function readyPlan(timeoutMs: number) {
  const [a, b] = [conn(1, 4001), conn(2, 4002)];
  const pool = new FakePool([a, b]);
  const logs: string[] = [];
  const plan = new MeshPlan(pool as never, 8192, (l) => logs.push(l)); // 2 blocks: one slice per owner
  const linking = plan.prepare([a, b]);
  pool.emit('meshReady', a, 1);
  pool.emit('meshReady', b, 1);
  return { a, b, pool, plan, logs, linking, ...stepOf(plan, timeoutMs) };
}

function stepOf(plan: MeshPlan, timeoutMs: number) {
  const reducer = new SlicedReducer(new Float32Array(8192), [{ lo: 0, hi: 1 }], plan.layout, 4, 4);
  const spec: StepRound = { kind: 'step', step: 7, version: 6, tasks: [], timeoutMs, onAccepted: () => undefined };
  const slice = (index: number, step = 7): SliceMsg => ({
    kind: 'slice',
    epoch: 1,
    step,
    version: 6,
    index,
    grad: new Float32Array(plan.layout[index]!.length),
  });
  return { reducer, spec, slice };
}

test("a step's slices from their owners complete it; a stranger's or an old step's do not", async () => {
  const { a, b, pool, plan, reducer, spec, slice, linking } = readyPlan(5_000);
  assert.equal(await linking, true);
  const applied: number[] = [];
  const round = shardedRound(pool as never, plan, spec, reducer, new AbortController().signal, (j) => applied.push(j));
  pool.emit('slice', a, slice(1)); // not a's: refused
  pool.emit('slice', b, slice(1, 6)); // an earlier step's: dropped
  pool.emit('slice', b, slice(1));
  pool.emit('slice', a, slice(0));
  assert.deepEqual(await round, { reassigned: 0, decodeMs: 0 });
  assert.deepEqual(applied, [1, 0]);
  assert.deepEqual(pool.rejected, [[1, 'ERR_UNEXPECTED_MESSAGE']]);
});

test('a slice that does not come is named with its owner, and the step falls back to the star', async () => {
  const { b, pool, plan, logs, reducer, spec, slice, linking } = readyPlan(50);
  assert.equal(await linking, true);
  const round = shardedRound(pool as never, plan, spec, reducer, new AbortController().signal);
  pool.emit('slice', b, slice(1));
  assert.equal(await round, 'fallback');
  assert.match(logs.join('\n'), /step 7: slice 0 \(owner h1\) did not come within 0.1 s/);
  // a mesh whose slice stopped coming (a dead link between hosts) is not used again as it is: the next step
  // forms a new one, whose hosts link up anew (else every step would wait the whole step timeout)
  const next = plan.prepare([...pool.ready()]);
  assert.equal(plan.epoch, 2);
  for (const c of pool.ready()) pool.emit('meshReady', c, 2);
  assert.equal(await next, true);
});

test("a step's wait for its slices adapts: the step timeout until 8 steps were timed, then 4x their median, at least 2 s", () => {
  const { plan } = readyPlan(60_000);
  assert.equal(plan.sliceDeadline(60_000), 60_000);
  for (let i = 0; i < 8; i++) plan.slicesTook(100 + i);
  assert.equal(plan.sliceDeadline(60_000), 2_000, 'the floor');
  for (let i = 0; i < 64; i++) plan.slicesTook(1_500);
  assert.equal(plan.sliceDeadline(60_000), 6_000);
  assert.equal(plan.sliceDeadline(5_000), 5_000, 'never past --step-timeout');
});

test('an owner lost mid-step: the step falls back to the star at once', async () => {
  const { a, pool, plan, reducer, spec, linking } = readyPlan(60_000);
  assert.equal(await linking, true);
  pool.runRound = (_s, signal) => new Promise((r) => signal.addEventListener('abort', () => r(null)));
  const round = shardedRound(pool as never, plan, spec, reducer, new AbortController().signal);
  pool.emit('lost', a, 'gone');
  assert.equal(await round, 'fallback');
});
