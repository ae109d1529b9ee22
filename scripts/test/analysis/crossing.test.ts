import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricRecord } from '@dtrain/coordinator';
import { crossingResolution, crossingStep, curvesOf, noiseScaleNear } from '../../src/analysis/crossing.js';

test('the crossing is interpolated between the evaluations around the target', () => {
  const evals = [
    { step: 100, accuracy: 0.4 },
    { step: 200, accuracy: 0.5 },
    { step: 300, accuracy: 0.7 },
  ];
  assert.equal(crossingStep(evals, 0.6), 250);
  assert.equal(crossingStep(evals, 0.5), 200, 'exactly at an evaluation');
  assert.equal(crossingStep(evals, 0.3), 100, 'already above at the first evaluation');
  assert.equal(crossingStep(evals, 0.8), null);
});

test('curves from metric records; B_simple near a step is the median within the window', () => {
  const c = curvesOf([
    { type: 'step', step: 1, bSimple: null },
    { type: 'step', step: 90, bSimple: 10 },
    { type: 'step', step: 100, bSimple: 30 },
    { type: 'step', step: 110, bSimple: 20 },
    { type: 'step', step: 200, bSimple: 99 },
    { type: 'eval', split: 'val', step: 100, accuracy: 0.5 },
    { type: 'eval', split: 'test', step: 100, accuracy: 0.9 },
  ] as unknown[] as MetricRecord[]);
  assert.deepEqual(c.evals, [{ step: 100, accuracy: 0.5 }]);
  assert.equal(noiseScaleNear(c.noise, 100, 0.15), 20);
  assert.equal(noiseScaleNear(c.noise, 1000), null);
});

test("a crossing's resolution: the evaluations' spacing around it over its step", () => {
  const evals = [
    { step: 100, accuracy: 0.4 },
    { step: 200, accuracy: 0.55 },
    { step: 204, accuracy: 0.58 },
    { step: 208, accuracy: 0.61 },
  ];
  assert.equal(crossingResolution(evals, 0.5), 100 / crossingStep(evals, 0.5)!);
  assert.equal(crossingResolution(evals, 0.6), 4 / crossingStep(evals, 0.6)!);
  assert.ok(crossingResolution(evals, 0.6)! < 0.02);
  assert.equal(crossingResolution(evals, 0.3), 0, 'at the first evaluation');
  assert.equal(crossingResolution(evals, 0.7), null);
});
