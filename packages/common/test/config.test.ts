import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evalGroupSizeOf, groupSizeOf, type TrainConfig, TrainerError, validateConfig } from '@dtrain/common';

export const baseConfig: TrainConfig = {
  model: 'tiny-cnn',
  dataset: {
    name: 'synthetic',
    trainSize: 500,
    testSize: 100,
    seed: 1,
    valFraction: 0.2,
    normalize: false,
    augment: false,
  },
  seed: 1,
  batchSize: 32,
  epochs: 1,
  maxSteps: 0,
  lr: 0.01,
  schedule: 'constant',
  decaySteps: 100,
  gamma: 0.1,
  minLr: 0,
  warmupSteps: 0,
  scaling: 'none',
  baseBatchSize: 32,
  optimizer: { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, form: 'pytorch' },
  workers: 2,
  minWorkers: 2,
  evalEvery: 0,
  evalChunk: 100,
  checkpointEvery: 0,
  stepTimeoutMs: 10_000,
};

test('derived numbers, worked by hand', () => {
  const d = validateConfig(baseConfig);
  assert.equal(d.trainSamples, 400); // 500 - floor(500 x 0.2)
  assert.equal(d.stepsPerEpoch, 12); // floor(400 / 32): the last partial batch is dropped
  assert.equal(d.perWorkerBatch, 16); // 32 / 2 workers
  // tiny-cnn: conv 3x3x3x8 + 8 = 224; 30x30 -> pool -> 15x15x8 = 1,800 -> dense 1,800 x 10 + 10 = 18,010
  assert.equal(d.paramCount, 18_234);
  assert.equal(d.bytesPerBroadcast, 72_936); // 18,234 float32
  assert.equal(d.bytesPerStep, 291_744); // 2 workers x (gradient in + weights out) x 72,936
});

test('a global batch smaller than the worker count is refused, naming the fix', () => {
  assert.throws(
    () => validateConfig({ ...baseConfig, batchSize: 1 }),
    (e: TrainerError) =>
      e.code === 'ERR_BAD_CONFIG' &&
      /smaller than --workers 2/.test(e.message) &&
      /--batch-size 2 or more/.test(e.hint ?? ''),
  );
});

test('other bad values are refused', () => {
  assert.throws(() => validateConfig({ ...baseConfig, batchSize: 1000 }), /larger than the 400 training samples/);
  assert.throws(() => validateConfig({ ...baseConfig, minWorkers: 3 }), /--min-workers/);
  assert.throws(() => validateConfig({ ...baseConfig, epochs: 0 }), /--epochs/);
  assert.throws(() => validateConfig({ ...baseConfig, model: 'nope' }), /unknown model/);
  assert.throws(
    () => validateConfig({ ...baseConfig, dataset: { ...baseConfig.dataset, valFraction: 1 } }),
    /val-fraction/,
  );
});

test("'auto' group sizes depend on the batch size alone: B / 8 rounded down to a power of two, at least 1", () => {
  assert.deepEqual(
    [1, 8, 16, 24, 30, 32, 64, 100, 128, 4096].map((batchSize) => groupSizeOf({ batchSize, groupSize: 'auto' })),
    [1, 1, 2, 2, 2, 4, 8, 8, 16, 512],
  );
  assert.equal(groupSizeOf({ batchSize: 64 }), 0, 'an old config: off');
  assert.equal(groupSizeOf({ batchSize: 64, groupSize: 5 }), 5);
  assert.equal(evalGroupSizeOf({ batchSize: 64, groupSize: 'auto' }), 50);
  assert.equal(evalGroupSizeOf({ batchSize: 64, groupSize: 0 }), 0);
  assert.doesNotThrow(() => validateConfig({ ...baseConfig, batchSize: 16, groupSize: 'auto', workers: 8 }));
});

test('group sizes: whole numbers, and a batch with a group for every worker asked for', () => {
  assert.doesNotThrow(() => validateConfig({ ...baseConfig, groupSize: 16 }));
  assert.doesNotThrow(() => validateConfig({ ...baseConfig, groupSize: 0 }));
  assert.throws(() => validateConfig({ ...baseConfig, groupSize: -1 }), /--group-size -1 must be a whole number/);
  assert.throws(() => validateConfig({ ...baseConfig, groupSize: 2.5 }), /--group-size 2.5/);
  assert.throws(
    () => validateConfig({ ...baseConfig, groupSize: 'big' as 'auto' }),
    /--group-size big must be a whole number/,
  );
  assert.throws(
    () => validateConfig({ ...baseConfig, groupSize: 32, workers: 2 }),
    (e: TrainerError) =>
      /--batch-size 32 is 1 group\(s\) of --group-size 32: too few for --workers 2/.test(e.message) &&
      /--group-size 16 or less/.test(e.hint ?? ''),
  );
});

test('a batch-norm model needs groups (its normalization batches)', () => {
  assert.throws(
    () => validateConfig({ ...baseConfig, model: 'resnet8', groupSize: 0 }),
    (e: TrainerError) => /resnet8 has batch norm/.test(e.message) && /ghost batch norm/.test(e.hint ?? ''),
  );
  assert.doesNotThrow(() => validateConfig({ ...baseConfig, model: 'resnet8', groupSize: 'auto' }));
});
