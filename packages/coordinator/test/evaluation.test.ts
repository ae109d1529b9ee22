import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EvalResultMsg } from '@dtrain/common';
import { evalRecord, evalSums } from '../src/evaluation.js';
import { evalShards } from '../src/tasks.js';

const result = (shardId: number, count: number, lossSum: number, correct: number): EvalResultMsg => ({
  kind: 'evalResult',
  evalId: 1,
  shardId,
  count,
  lossSum,
  correct,
  computeMs: 1,
});

test('chunk sums are joined along the tree whatever the chunk size: the same bits from chunks of 1, 2 or 4 groups', () => {
  const groupLoss = [0.1, 1e16, -1e16, 0.3, 0.7, 1e-9, 5]; // 7 groups of 4 samples over 28 samples
  const sumsWith = (chunk: number) => {
    const shards = evalShards(28, chunk, 4);
    const results = new Map<number, EvalResultMsg>();
    for (const s of [...shards].reverse()) {
      // each chunk's loss as a worker sums its groups: along the node's own tree
      const sumNode = (lo: number, hi: number): number => {
        if (hi - lo === 1) return groupLoss[lo]!;
        let half = 1;
        while (half * 2 < hi - lo) half *= 2;
        return sumNode(lo, lo + half) + sumNode(lo + half, hi);
      };
      results.set(
        s.shardId,
        result(s.shardId, s.indices.length, sumNode(s.node!.lo, s.node!.hi), s.node!.hi - s.node!.lo),
      );
    }
    return evalSums(results, shards, 7);
  };
  const one = sumsWith(4);
  assert.deepEqual(sumsWith(8), one);
  assert.deepEqual(sumsWith(16), one);
  assert.deepEqual(one.count, 28);
  const inOrder = groupLoss.reduce((a, v) => a + v, 0);
  assert.notEqual(one.lossSum, inOrder, 'the tree and left-to-right order differ here, so the test can fail');
});

test('plain chunks are summed in chunk order; the record divides by the samples', () => {
  const shards = evalShards(30, 10);
  const results = new Map([2, 0, 1].map((i) => [i, result(i, 10, [0.1, 1e16, -1e16][i]!, i)]));
  const sums = evalSums(results, shards, 0);
  assert.deepEqual(sums, { count: 30, lossSum: 0.1 + 1e16 - 1e16, correct: 3 });
  const r = evalRecord(sums, { step: 5, epoch: 1, split: 'test', ms: 2 });
  assert.equal(r.accuracy, 0.1);
  assert.equal(r.samples, 30);
});
