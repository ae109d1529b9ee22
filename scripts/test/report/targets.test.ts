// Steps to each target from the same runs: the best rate per target, the median and range over seeds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retargeted, targetRows } from '../../src/report/targets.js';
import { fixtureSweep } from '../experiment/fixtures.js';

test('retargeted: the interpolated crossing of another target replaces steps and examples', () => {
  const [o] = retargeted(fixtureSweep().slice(0, 1), 0.25); // b32 SGD lr 0.01 seed 1: 0.5 at 2,000 steps
  assert.ok(Math.abs(o!.stepsToTarget! - 1000) < 1e-6, String(o!.stepsToTarget));
  assert.ok(Math.abs(o!.examplesToTarget! - 32_000) < 1e-4);
  assert.equal(retargeted(fixtureSweep().slice(0, 1), 1.01)[0]!.stepsToTarget, null, 'never reached');
});

test('a row per target x optimizer x batch size: the best rate, steps median and range over the seeds', () => {
  const rows = targetRows(fixtureSweep(), [0.5, 0.25]);
  const row = (target: number, optimizer: string, batchSize: number) =>
    rows.find((r) => r['target'] === target && r['optimizer'] === optimizer && r['batchSize'] === batchSize)!;
  // momentum at 64: 400 steps with seed 1, 10% more with seed 2, at the middle lr of 0.01/0.03/0.1
  assert.deepEqual(
    { ...row(0.5, 'momentum 0.9', 64) },
    {
      target: 0.5,
      optimizer: 'momentum 0.9',
      batchSize: 64,
      bestBaseLr: 0.03,
      stepsMedian: 420,
      stepsMin: 400,
      stepsMax: 440,
      seedsReached: '2/2',
      lrEdge: '',
    },
  );
  assert.equal(row(0.25, 'momentum 0.9', 64)['stepsMedian'], 210, 'half the steps to half the accuracy');
  assert.equal(row(0.5, 'SGD', 256)['stepsMedian'], 'not reached');
  assert.equal(rows.length, 2 * 2 * 4);
});
