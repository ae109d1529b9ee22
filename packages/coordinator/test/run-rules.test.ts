import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type TrainConfig, validateConfig } from '@dtrain/common';
import { RunRules } from '../src/run-rules.js';

const config = (o: Partial<TrainConfig> = {}): TrainConfig => ({
  model: 'tiny-cnn',
  dataset: {
    name: 'synthetic',
    trainSize: 640,
    testSize: 64,
    seed: 1,
    valFraction: 0.2,
    normalize: false,
    augment: false,
  },
  seed: 1,
  batchSize: 32,
  epochs: 1,
  maxSteps: 0,
  lr: 0.1,
  schedule: 'constant',
  decaySteps: 100,
  gamma: 0.1,
  minLr: 0,
  warmupSteps: 0,
  scaling: 'none',
  baseBatchSize: 32,
  optimizer: { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, form: 'pytorch' },
  workers: 1,
  minWorkers: 1,
  evalEvery: 100,
  evalChunk: 50,
  checkpointEvery: 0,
  stepTimeoutMs: 1000,
  ...o,
});

const dueAt = (r: RunRules, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i).filter((s) => r.evaluationDue(s, false));

test('near a target not yet reached: an evaluation every 2% of the steps so far, besides --eval-every; after it, the cadence again', () => {
  const r = new RunRules(config({ evalNearTargets: [0.6] }), () => 0, 0);
  assert.deepEqual(dueAt(r, 1, 199), [100]);
  r.observeValidation(100, 0.5, 1, 0.5, false); // 0.1 below: not near yet
  assert.deepEqual(dueAt(r, 101, 200), [200]);
  r.observeValidation(200, 1, 0.9, 0.57, false); // within 0.05: every floor(0.02 step) steps
  assert.deepEqual(dueAt(r, 201, 204), [204]);
  r.observeValidation(204, 1.02, 0.8, 0.58, false);
  assert.deepEqual(dueAt(r, 205, 208), [208]);
  r.observeValidation(208, 1.04, 0.8, 0.61, false); // reached
  assert.deepEqual(dueAt(r, 209, 300), [300]);
  const plain = new RunRules(config(), () => 0, 0);
  plain.observeValidation(200, 1, 0.9, 0.59, false);
  assert.deepEqual(dueAt(plain, 201, 300), [300], 'no targets: the cadence only');
});

test('--eval-near-targets: up to 8 accuracies in (0, 1)', () => {
  assert.doesNotThrow(() => validateConfig(config({ evalNearTargets: [0.55, 0.6, 0.65] })));
  assert.throws(
    () => validateConfig(config({ evalNearTargets: [60] })),
    /--eval-near-targets 60: up to 8 accuracies in \(0, 1\)/,
  );
});
