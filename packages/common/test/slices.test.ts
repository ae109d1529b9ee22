import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addInto,
  chunksPerOwner,
  GroupReducer,
  ownerOfSlice,
  SlicedReducer,
  SliceJoin,
  sliceLayout,
  streamOrder,
  TreeStack,
} from '@dtrain/common';

test('slices are contiguous, cover the vector, start at block multiples and differ by at most one block', () => {
  for (const [n, h] of [
    [122_570, 8],
    [122_570, 3],
    [4096 * 8, 8],
    [10, 4],
    [0, 2],
  ] as const) {
    const s = sliceLayout(n, h);
    assert.equal(s.length, h);
    assert.equal(s[0]!.offset, 0);
    for (let i = 1; i < h; i++) assert.equal(s[i]!.offset, s[i - 1]!.offset + s[i - 1]!.length);
    assert.equal(s.at(-1)!.offset + s.at(-1)!.length, n);
    for (const x of s) assert.equal(x.offset % 4096, 0);
    const blocks = s.slice(0, -1).map((x) => x.length / 4096);
    if (blocks.length > 0) assert.ok(Math.max(...blocks) - Math.min(...blocks) <= 1, `${n} over ${h}`);
  }
  assert.deepEqual(
    sliceLayout(122_570, 8).map((x) => x.length / 4096),
    [3, 4, 4, 4, 3, 4, 4, 122_570 / 4096 - 26],
  );
  assert.deepEqual(sliceLayout(10, 4), [
    { offset: 0, length: 0 },
    { offset: 0, length: 0 },
    { offset: 0, length: 0 },
    { offset: 0, length: 10 },
  ]);
  assert.throws(() => sliceLayout(10, 0), /cannot cut/);
});

const G = 4;
const B = 44; // 11 groups, the last of 4
const N = 53; // values: 50 trained, 3 running statistics
const groupGrad = (k: number) =>
  Float32Array.from({ length: N }, (_, i) => Math.sin(k * 7 + i) * 10 ** (((k + i) % 5) - 2));

/** A node's sums as a host computes it: its groups along the tree. */
function nodeSums(lo: number, hi: number) {
  const s = new TreeStack<{ grad: Float32Array; lossSum: number; correct: number; meanSqSum: number }>((a, b) => ({
    grad: addInto(a.grad, b.grad),
    lossSum: a.lossSum + b.lossSum,
    correct: a.correct + b.correct,
    meanSqSum: a.meanSqSum + b.meanSqSum,
  }));
  for (let k = lo; k < hi; k++) {
    const grad = groupGrad(k);
    s.push({ grad, lossSum: 0.3 * k, correct: k % 3, meanSqSum: grad.reduce((a, v) => a + v * v, 0) / 16 });
  }
  return { count: Math.min(hi * G, B) - lo * G, ...s.finish() };
}

/** The hosts' nodes reduced at the coordinator, whole (relays), or sharded over `owners` with `order`. */
function reduce(nodes: [number, number][], owners: number | null, order: number[]) {
  const plan = nodes.map(([lo, hi]) => ({ lo, hi }));
  const sums = nodes.map(([lo, hi]) => nodeSums(lo, hi));
  if (owners === null) {
    const r = new GroupReducer(new Float32Array(N), plan, B, G, 50);
    for (const i of order) r.add({ shardId: i, ...sums[i]!, grad: sums[i]!.grad.slice() });
    return r.finish();
  }
  const slices = sliceLayout(N, owners, 8);
  const joins = slices.map((s) => new SliceJoin(11, s));
  const r = new SlicedReducer(new Float32Array(N), plan, slices, B, G, 50);
  for (const i of order) {
    const { grad, ...counts } = sums[i]!;
    slices.forEach((s, j) => joins[j]!.add(nodes[i]![0], nodes[i]![1], grad.slice(s.offset, s.offset + s.length)));
    r.add({ shardId: i, ...counts, grad: new Float32Array(0) });
  }
  for (const j of [...slices.keys()].reverse()) r.addSlice(j, joins[j]!.sum());
  assert.equal(r.complete, true);
  return r.finish();
}

test('sharded summation is bitwise the relays: any owners, any cut, any arrival order', () => {
  const cuts: [number, number][][] = [
    [[0, 11]],
    [
      [0, 8],
      [8, 10],
      [10, 11],
    ],
    [
      [0, 4],
      [4, 8],
      [8, 11],
    ],
  ];
  for (const nodes of cuts) {
    const order = [...nodes.keys()].reverse();
    const whole = reduce(nodes, null, order);
    for (const owners of [1, 2, 3, 7]) {
      const sharded = reduce(nodes, owners, order);
      assert.deepEqual(sharded, whole, `${nodes.length} nodes over ${owners} owners`);
    }
  }
  assert.equal(reduce(cuts[1]!, null, [0, 1, 2]).finite, true);
});

test('an owner drops a repeated node (a reassigned task) and refuses a part of the wrong length', () => {
  const j = new SliceJoin(2, { offset: 0, length: 2 });
  assert.equal(j.add(0, 1, Float32Array.of(1, 2)), true);
  assert.equal(j.add(0, 1, Float32Array.of(100, 100)), false);
  assert.equal(j.complete, false);
  assert.throws(() => j.add(1, 2, Float32Array.of(1)), /1 values, the slice 2/);
  assert.equal(j.add(1, 2, Float32Array.of(3, 4)), true);
  assert.deepEqual([...j.sum()], [4, 6]);
});

test('the coordinator refuses a repeated slice or task, a task with a gradient, and finishes only when whole', () => {
  const slices = sliceLayout(4, 2, 2);
  const r = new SlicedReducer(new Float32Array(4), [{ lo: 0, hi: 1 }], slices, G, G);
  const counts = { shardId: 0, count: G, lossSum: 1, correct: 1, meanSqSum: 0 };
  assert.throws(() => r.add({ ...counts, grad: new Float32Array(4) }), /came with a gradient/);
  r.add({ ...counts, grad: new Float32Array(0) });
  assert.throws(() => r.add({ ...counts, grad: new Float32Array(0) }), /not expected/);
  r.addSlice(1, Float32Array.of(4, 8));
  assert.throws(() => r.addSlice(1, Float32Array.of(4, 8)), /slice 1 is not expected/);
  assert.throws(() => r.addSlice(0, Float32Array.of(4)), /1 values, expected 2/);
  assert.equal(r.complete, false);
  assert.throws(() => r.finish(), /1 of 2 slices/);
  r.addSlice(0, Float32Array.of(0, 4));
  assert.deepEqual([...r.finish().meanGrad], [0, 1, 1, 2]);
});

test('owners hold runs of chunks of about a block each; slices go out chunk by chunk across owners', () => {
  assert.equal(chunksPerOwner(122_570, 8), 3); // 30 blocks
  assert.equal(chunksPerOwner(18_234, 3), 1); // 5 blocks
  assert.equal(chunksPerOwner(986_570, 8), 16); // 241 blocks, capped
  assert.equal(chunksPerOwner(10, 4), 1);
  assert.equal(chunksPerOwner(122_570, 8, 4), 1); // int8: 4 blocks make 16 kB
  assert.equal(chunksPerOwner(986_570, 8, 4), 7);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((s) => ownerOfSlice(s, 3)),
    [0, 0, 0, 1, 1, 1],
  );
  assert.deepEqual(streamOrder(2, 3), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(streamOrder(3, 1), [0, 1, 2]);
});
