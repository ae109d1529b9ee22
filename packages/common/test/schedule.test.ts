import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learningRate, type ScheduleConfig, scaledLr, validateSchedule } from '@dtrain/common';

const base: ScheduleConfig = {
  lr: 0.1,
  schedule: 'constant',
  decaySteps: 10,
  gamma: 0.5,
  minLr: 0,
  warmupSteps: 0,
  scaling: 'none',
  baseBatchSize: 64,
  batchSize: 64,
  totalSteps: 100,
};
const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('constant, step, exponential, cosine', () => {
  near(learningRate(base, 57), 0.1);
  const step = { ...base, schedule: 'step' as const };
  near(learningRate(step, 9), 0.1);
  near(learningRate(step, 10), 0.05);
  near(learningRate(step, 25), 0.025);
  near(learningRate({ ...base, schedule: 'exponential' }, 5), 0.1 * Math.pow(0.5, 0.5));
  const cos = { ...base, schedule: 'cosine' as const, minLr: 0.01 };
  near(learningRate(cos, 0), 0.1);
  near(learningRate(cos, 50), 0.055);
  near(learningRate(cos, 100), 0.01);
});

test('linear warmup reaches the peak at the end of warmup, then the schedule starts', () => {
  const w = { ...base, warmupSteps: 4, schedule: 'step' as const };
  near(learningRate(w, 0), 0.025);
  near(learningRate(w, 3), 0.1);
  near(learningRate(w, 4 + 10), 0.05);
});

test('batch-size scaling rules', () => {
  near(scaledLr({ ...base, batchSize: 256, scaling: 'linear' }), 0.4);
  near(scaledLr({ ...base, batchSize: 256, scaling: 'sqrt' }), 0.2);
  near(scaledLr({ ...base, batchSize: 256, scaling: 'none' }), 0.1);
});

test('bad schedule values are refused', () => {
  assert.throws(() => validateSchedule({ ...base, lr: -1 }), /learning rate/);
  assert.throws(() => validateSchedule({ ...base, gamma: 0 }), /lr-gamma/);
  assert.throws(() => validateSchedule({ ...base, warmupSteps: 1.5 }), /warmup/);
});
