import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregateSeeds, bestPerBatch, optimizerKey, plainOptimizer } from '../../src/experiment/best.js';
import { fixtureSweep, outcome } from './fixtures.js';

test('runs that differ only in seed form one cell: median and range of steps, misses counted as never', () => {
  const cells = aggregateSeeds([
    outcome(64, 'momentum', 0.1, 1, 100),
    outcome(64, 'momentum', 0.1, 2, 140),
    outcome(64, 'momentum', 0.1, 3, null),
  ]);
  assert.equal(cells.length, 1);
  assert.deepEqual(cells[0]!.steps, { median: 140, min: 100, max: 140, reached: 2 });
  const two = aggregateSeeds([outcome(64, 'sgd', 0.1, 1, 100), outcome(64, 'sgd', 0.1, 2, null)]);
  assert.equal(two[0]!.steps.median, null, 'half the seeds never reached it: the median seed did not');
});

test('the best learning rate per batch size x optimizer has the fewest median steps; ties go to higher accuracy', () => {
  const best = bestPerBatch(aggregateSeeds(fixtureSweep()));
  assert.equal(best.length, 8);
  const m = best.filter((b) => b.optimizer === 'momentum0.9 none w0 constant');
  assert.deepEqual(
    m.map((b) => [b.batchSize, b.cell?.lr, b.cell?.steps.median]),
    [
      [32, 0.03, 840],
      [64, 0.03, 420],
      [128, 0.03, 210],
      [256, 0.03, 168],
    ],
  );
  const sgd256 = best.find((b) => b.optimizer === 'sgd none w0 constant' && b.batchSize === 256)!;
  assert.equal(sgd256.cell, null, 'no learning rate reached the target');
  const tie = bestPerBatch(aggregateSeeds([outcome(32, 'sgd', 0.01, 1, 50, 0.6), outcome(32, 'sgd', 0.1, 1, 50, 0.7)]));
  assert.equal(tie[0]!.cell!.lr, 0.1);
});

test('a best learning rate at the end of the grid is flagged', () => {
  const low = bestPerBatch(
    aggregateSeeds([outcome(32, 'sgd', 0.01, 1, 40), outcome(32, 'sgd', 0.03, 1, 50), outcome(32, 'sgd', 0.1, 1, 60)]),
  );
  assert.equal(low[0]!.atEdge, 'low');
  const mid = bestPerBatch(
    aggregateSeeds([outcome(32, 'sgd', 0.01, 1, 60), outcome(32, 'sgd', 0.03, 1, 50), outcome(32, 'sgd', 0.1, 1, 60)]),
  );
  assert.equal(mid[0]!.atEdge, null);
  assert.equal(optimizerKey(outcome(32, 'momentum', 0.1, 1, 1)), 'momentum0.9 none w0 constant');
});

test('optimizer keys in plain words: the optimizer, and only what differs across the sweep', () => {
  const keys = [
    'sgd none w0 constant',
    'momentum0.9 none w0 constant',
    'lars0.9 none w0 constant',
    'adamw none w0 constant',
  ];
  assert.deepEqual(
    keys.map((k) => plainOptimizer(k, keys)),
    ['SGD', 'momentum 0.9', 'LARS 0.9', 'AdamW'],
  );
  const varied = ['momentum0.9 none w0 constant', 'momentum0.9 sqrt w100 constant', 'momentum0.99 linear w0 cosine'];
  assert.deepEqual(
    varied.map((k) => plainOptimizer(k, varied)),
    [
      'momentum 0.9, no lr scaling, warmup 0, constant lr',
      'momentum 0.9, sqrt lr scaling, warmup 100, constant lr',
      'momentum 0.99, linear lr scaling, warmup 0, cosine lr',
    ],
  );
});
