import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addInto, groupCount, Rng, TreeStack, TreeSum, treeCover, treeSplit } from '@dtrain/common';

/** The tree's definition written as recursion, over float32 vectors. */
function recursive(leaves: readonly Float32Array[], lo: number, hi: number): Float32Array {
  if (hi - lo === 1) return Float32Array.from(leaves[lo]!);
  const mid = treeSplit(lo, hi);
  return addInto(recursive(leaves, lo, mid), recursive(leaves, mid, hi));
}

function randomLeaves(rng: Rng, n: number, d: number): Float32Array[] {
  return Array.from({ length: n }, () =>
    Float32Array.from({ length: d }, () => rng.normal() * 10 ** (rng.next() * 8 - 4)),
  );
}

/** One "worker": its nodes each summed from their leaves by a TreeStack, as a worker does. */
function nodeSum(leaves: readonly Float32Array[], lo: number, hi: number): Float32Array {
  const s = new TreeStack<Float32Array>(addInto);
  for (let i = lo; i < hi; i++) s.push(Float32Array.from(leaves[i]!));
  return s.finish();
}

/** Random contiguous ranges covering [0, n). */
function randomCut(rng: Rng, n: number): [number, number][] {
  const cuts = new Set<number>([0, n]);
  const k = 1 + Math.floor(rng.next() * Math.min(n, 6));
  while (cuts.size < k + 1) cuts.add(1 + Math.floor(rng.next() * (n - 1)));
  const sorted = [...cuts].sort((a, b) => a - b);
  return sorted.slice(1).map((hi, i) => [sorted[i]!, hi]);
}

test('the tree splits off the largest power of two below the size', () => {
  assert.deepEqual(
    [2, 3, 4, 5, 6, 7, 8, 9, 16, 17].map((size) => treeSplit(10, 10 + size) - 10),
    [1, 2, 2, 4, 4, 4, 4, 8, 8, 16],
  );
  assert.equal(groupCount(48, 16), 3);
  assert.equal(groupCount(50, 16), 4);
});

test('treeCover gives the fewest tree nodes that cover a range exactly, left to right', () => {
  assert.deepEqual(treeCover(8, 0, 8), [[0, 8]]);
  assert.deepEqual(treeCover(8, 0, 3), [
    [0, 2],
    [2, 3],
  ]);
  assert.deepEqual(treeCover(8, 3, 6), [
    [3, 4],
    [4, 6],
  ]);
  assert.deepEqual(treeCover(7, 4, 7), [[4, 7]]);
  assert.throws(() => treeCover(8, 3, 9), /not within/);
});

test('a TreeStack over m leaves adds them exactly as the recursive definition does', () => {
  const rng = new Rng(7);
  for (let m = 1; m <= 40; m++) {
    const leaves = randomLeaves(rng, m, 64);
    assert.deepEqual(nodeSum(leaves, 0, m), recursive(leaves, 0, m), `m = ${m}`);
  }
});

test('any cut, any arrival order: the same bits as one process summing every group (and plain order differs)', () => {
  const rng = new Rng(11);
  let plainDiffers = false;
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rng.next() * 33);
    const leaves = randomLeaves(rng, n, 32);
    const whole = nodeSum(leaves, 0, n);
    const nodes = randomCut(rng, n).flatMap(([lo, hi]) => treeCover(n, lo, hi));
    const order = nodes.map((_, i) => i).sort(() => rng.next() - 0.5);
    const sum = new TreeSum<Float32Array>(n, addInto);
    for (const i of order) sum.add(nodes[i]![0], nodes[i]![1], nodeSum(leaves, nodes[i]![0], nodes[i]![1]));
    assert.equal(sum.complete, true);
    assert.deepEqual(sum.root(), whole, `n = ${n}, nodes ${JSON.stringify(nodes)}`);
    const plain = new Float32Array(32);
    for (const l of leaves) addInto(plain, l);
    plainDiffers ||= plain.some((v, i) => v !== whole[i]);
  }
  assert.ok(plainDiffers, 'left-to-right sums never differed from the tree: the test would not notice a wrong order');
});

test('TreeSum refuses a node twice and a range that is not a node; root() before the end names what is missing', () => {
  const sum = new TreeSum<number>(4, (a, b) => a + b);
  sum.add(0, 1, 1);
  assert.throws(() => sum.add(0, 1, 1), /came twice/);
  assert.throws(() => sum.add(1, 3, 1), /not a node/);
  assert.throws(() => sum.root(), /missing/);
  sum.add(1, 2, 2);
  sum.add(2, 4, 3);
  assert.equal(sum.root(), 6);
});
