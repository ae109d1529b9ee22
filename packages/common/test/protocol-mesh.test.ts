import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decode,
  encode,
  encodeUnchecked,
  type ParseContext,
  parseCoordinatorMsg,
  parseWorkerMsg,
  TrainerError,
} from '@dtrain/common';

const ctx: ParseContext = { paramCount: 5, trainSize: 100, evalSize: 20 };
const code = (c: string) => (e: unknown) => e instanceof TrainerError && e.code === c;
const worker = (m: object) => parseWorkerMsg(decode(encodeUnchecked(m as never), 1 << 20), ctx);
const coordinator = (m: object) => parseCoordinatorMsg(decode(encodeUnchecked(m as never), 1 << 20), ctx);
const g = { kind: 'gradient', step: 1, version: 0, shardId: 0, count: 4, lossSum: 1, correct: 0, computeMs: 1 };
const assign = (node: object) => ({
  ...{ kind: 'assign', step: 1, version: 0, epoch: 0, shardId: 0, indices: new Uint32Array([1]) },
  node,
});
const part = (o: object = {}) => ({
  kind: 'part',
  epoch: 1,
  step: 3,
  version: 2,
  index: 1,
  lo: 0,
  hi: 2,
  groups: 4,
  grad: new Float32Array([1, 2]),
  ...o,
});

test('mesh messages round-trip: the mesh, its readiness, parts, slices, weight slices, a task node, a sliced gradient', () => {
  const mesh = { kind: 'mesh', epoch: 2, index: 1, owners: ['ws://10.0.0.1:4000', 'ws://[fe80::1]:4001'], chunks: 3 };
  assert.deepEqual(coordinator(mesh), mesh);
  assert.deepEqual(worker({ kind: 'meshReady', epoch: 2 }), { kind: 'meshReady', epoch: 2 });
  const p = worker(part());
  assert.equal(p.kind, 'part');
  assert.deepEqual(p.kind === 'part' && [...p.grad], [1, 2]);
  const s = worker({ kind: 'slice', epoch: 1, step: 3, version: 2, index: 0, grad: new Float32Array([4]) });
  assert.equal(s.kind === 'slice' && s.grad.length, 1);
  const w = parseCoordinatorMsg(
    decode(encode({ kind: 'weights', version: 4, slice: 1, data: new Float32Array(3) }), 1 << 20),
    ctx,
  );
  assert.equal(w.kind === 'weights' && w.slice, 1);
  const node = { lo: 1, hi: 2, groups: 4 };
  const a = coordinator({ ...assign(node), groupSize: 4 });
  assert.deepEqual(a.kind === 'assign' && a.node, node);
  const sliced = worker({ ...g, grad: new Float32Array(0), sliced: true });
  assert.equal(sliced.kind === 'gradient' && sliced.sliced, true);
});

test('mesh messages out of bounds are refused with a code', () => {
  const bad: [object, string][] = [
    [part({ hi: 5 }), 'ERR_BAD_FRAME'], // past the tree
    [part({ lo: 2, hi: 2 }), 'ERR_BAD_FRAME'], // empty node
    [part({ groups: 0 }), 'ERR_BAD_FRAME'],
    [part({ index: 256 * 16 }), 'ERR_BAD_FRAME'],
    [part({ grad: new Float32Array(6) }), 'ERR_SHAPE_MISMATCH'], // longer than the model
    [part({ grad: new Float32Array([1, Number.NaN]) }), 'ERR_NON_FINITE'],
    [part({ grad: [1, 2] }), 'ERR_BAD_FRAME'],
    [{ kind: 'slice', epoch: 1, step: 1, version: 0, index: 0, grad: new Float32Array([Infinity]) }, 'ERR_NON_FINITE'],
    [{ kind: 'meshReady', epoch: -1 }, 'ERR_BAD_FRAME'],
  ];
  for (const [m, c] of bad)
    assert.throws(
      () => worker(m),
      code(c),
      JSON.stringify(m, (_k, v) => (ArrayBuffer.isView(v) ? [...(v as Float32Array)] : v)),
    );
  assert.throws(() => worker({ ...g, grad: new Float32Array(5), sliced: true }), code('ERR_SHAPE_MISMATCH'));
  const meshes: object[] = [
    { kind: 'mesh', epoch: 1, index: 2, owners: ['ws://a:1', 'ws://b:2'] }, // index past the owners
    { kind: 'mesh', epoch: 1, index: 0, owners: [] },
    { kind: 'mesh', epoch: 1, index: 0, owners: ['http://a:1'] },
    { kind: 'mesh', epoch: 1, index: 0, owners: ['ws://a:1/path'] },
    { kind: 'mesh', epoch: 1, index: 0, owners: [`ws://${'a'.repeat(400)}:1`] },
    { kind: 'mesh', epoch: 1, index: 0, owners: Array.from({ length: 257 }, () => 'ws://a:1'), chunks: 1 },
    { kind: 'mesh', epoch: 1, index: 0, owners: ['ws://a:1'], chunks: 0 },
    { kind: 'mesh', epoch: 1, index: 0, owners: ['ws://a:1'], chunks: 17 },
    { kind: 'mesh', epoch: 1, index: 0, owners: ['ws://a:1'] },
  ];
  for (const m of meshes) assert.throws(() => coordinator(m), code('ERR_BAD_FRAME'), JSON.stringify(m).slice(0, 80));
  const node = assign;
  for (const n of [
    { lo: 0, hi: 5, groups: 4 },
    { lo: 3, hi: 3, groups: 4 },
    { lo: 0, hi: 1 },
  ])
    assert.throws(() => coordinator(node(n)), code('ERR_BAD_FRAME'));
  assert.throws(
    () => coordinator({ kind: 'weights', version: 1, slice: 0, data: new Float32Array(6) }),
    code('ERR_SHAPE_MISMATCH'),
  );
});

test("deferFinite leaves a gradient message's fp32 values to its sum; parts and slices are checked all the same", () => {
  const deferred = (m: object) =>
    parseWorkerMsg(decode(encodeUnchecked(m as never), 1 << 20), { ...ctx, deferFinite: true });
  const nan = new Float32Array([1, Number.NaN, 0, 0, 0]);
  assert.ok(Number.isNaN((deferred({ ...g, grad: nan }) as { grad: Float32Array }).grad[1]!));
  assert.throws(() => worker({ ...g, grad: nan }), code('ERR_NON_FINITE'), 'checked without deferFinite');
  assert.throws(() => deferred(part({ grad: new Float32Array([1, Number.NaN]) })), code('ERR_NON_FINITE'));
  const slice = { kind: 'slice', epoch: 1, step: 1, version: 0, index: 0, grad: new Float32Array([Infinity]) };
  assert.throws(() => deferred(slice), code('ERR_NON_FINITE'));
});
