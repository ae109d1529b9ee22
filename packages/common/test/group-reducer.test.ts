import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addInto, GroupReducer, groupSmallBatches, noiseEstimate, TreeStack } from '@dtrain/common';

const G = 4;
const B = 22; // 6 groups: five of 4, the last of 2
const groupGrad = (k: number) => Float32Array.from({ length: 3 }, (_, i) => Math.sin(k * 3 + i) * 10 ** ((k % 3) - 1));

/** A node's result as a worker computes it: its groups along the tree. */
function node(shardId: number, lo: number, hi: number) {
  const s = new TreeStack<{ grad: Float32Array; lossSum: number; correct: number; meanSqSum: number }>((a, b) => ({
    grad: addInto(a.grad, b.grad),
    lossSum: a.lossSum + b.lossSum,
    correct: a.correct + b.correct,
    meanSqSum: a.meanSqSum + b.meanSqSum,
  }));
  let count = 0;
  for (let k = lo; k < hi; k++) {
    const c = Math.min(G, B - k * G);
    const grad = groupGrad(k);
    count += c;
    s.push({ grad, lossSum: 0.1 * k, correct: k % 2, meanSqSum: grad.reduce((a, v) => a + v * v, 0) / (c * c) });
  }
  return { shardId, count, ...s.finish() };
}

function reduceAs(nodes: [number, number][], order: number[]) {
  const r = new GroupReducer(
    new Float32Array(3),
    nodes.map(([lo, hi]) => ({ lo, hi })),
    B,
    G,
  );
  for (const i of order) r.add(node(i, nodes[i]![0], nodes[i]![1]));
  assert.equal(r.complete, true);
  return r.finish();
}

test('the reduction of any cut into tree nodes, in any order, equals one node holding every group', () => {
  const whole = reduceAs([[0, 6]], [0]);
  const cut = reduceAs(
    [
      [0, 2],
      [2, 3],
      [3, 4],
      [4, 6],
    ],
    [3, 1, 0, 2],
  );
  assert.deepEqual(cut, whole);
  assert.equal(whole.samples, B);
  assert.equal(whole.accuracy, 3 / B);
  assert.deepEqual(whole.small, { k: 6, invCountSum: 5 / 4 + 1 / 2, meanSqSum: whole.small.meanSqSum });
  assert.ok(noiseEstimate(whole.small, B, whole.meanNormSq) !== null);
});

test('a node twice, or one that is not in the plan, is refused; missing samples are noticed', () => {
  const r = new GroupReducer(
    new Float32Array(3),
    [
      { lo: 0, hi: 4 },
      { lo: 4, hi: 6 },
    ],
    B,
    G,
  );
  r.add(node(0, 0, 4));
  assert.throws(() => r.add(node(0, 0, 4)), /not expected/);
  assert.throws(() => r.add(node(2, 4, 6)), /not expected/);
  assert.throws(() => r.finish(), /missing/);
  const short = new GroupReducer(new Float32Array(3), [{ lo: 0, hi: 6 }], B, G);
  short.add({ ...node(0, 0, 6), count: B - 1 });
  assert.throws(() => short.finish(), /21 of 22 samples/);
});

test('the groups as small batches: harmonic sizes with a short last group', () => {
  assert.deepEqual(groupSmallBatches(64, 16, 2), { k: 4, invCountSum: 4 / 16, meanSqSum: 2 });
  assert.deepEqual(groupSmallBatches(16, 16, 2), { k: 1, invCountSum: 1 / 16, meanSqSum: 2 });
  assert.equal(noiseEstimate(groupSmallBatches(16, 16, 2), 16, 1), null, 'one group: no estimate');
});

test('finish says whether the mean is finite, in and outside the norm (running statistics)', () => {
  const result = (shardId: number, grad: number[]) => ({
    shardId,
    count: G,
    lossSum: 0,
    correct: 0,
    meanSqSum: 0,
    grad: Float32Array.from(grad),
  });
  const reduce = (grads: number[][]) => {
    const r = new GroupReducer(
      new Float32Array(3),
      [
        { lo: 0, hi: 1 },
        { lo: 1, hi: 2 },
      ],
      2 * G,
      G,
      2,
    );
    grads.forEach((g, i) => r.add(result(i, g)));
    return r.finish().finite;
  };
  assert.equal(
    reduce([
      [1, 2, 3],
      [4, 5, 6],
    ]),
    true,
  );
  assert.equal(
    reduce([
      [3e38, 0, 0],
      [3e38, 0, 0],
    ]),
    false,
  ); // finite nodes, a sum past float32
  assert.equal(
    reduce([
      [0, 0, 3e38],
      [0, 0, 3e38],
    ]),
    false,
  ); // the same outside the norm
});
