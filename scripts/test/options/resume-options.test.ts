import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainerError } from '@dtrain/common';
import { givenOptions, resumeOverrides } from '../../src/options/resume-options.js';
import { testConfig } from '../integration/harness.js';

test('given options: flags (with values, =, --no-), DTRAIN_* variables, --config keys', () => {
  const g = givenOptions(
    ['coordinator', '--epochs', '8', '--lr=0.1', '--no-augment', 'runs/x'],
    { DTRAIN_MAX_STEPS: '9', PATH: '/bin' },
    ['batch-size', 'evalEvery'],
  );
  assert.deepEqual([...g].sort(), ['augment', 'batch-size', 'epochs', 'eval-every', 'lr', 'max-steps']);
});

test('--epochs and --max-steps extend the run; operational options apply; the rest of the checkpoint stays', () => {
  const saved = testConfig({ epochs: 2, evalEvery: 0 });
  const requested = testConfig({ epochs: 6, maxSteps: 100, evalEvery: 5, lr: 0.9 });
  assert.deepEqual(resumeOverrides(new Set(['epochs', 'max-steps', 'eval-every']), requested, saved), {
    epochs: 6,
    maxSteps: 100,
    evalEvery: 5,
  });
});

test('options that would change the run are refused, each named with both values', () => {
  const saved = testConfig();
  const requested = testConfig({ lr: 0.5, batchSize: 64, seed: saved.seed });
  assert.throws(
    () => resumeOverrides(new Set(['lr', 'batch-size', 'seed', 'epochs']), requested, saved),
    (e: unknown) =>
      e instanceof TrainerError &&
      e.code === 'ERR_BAD_CONFIG' &&
      /--lr 0\.5 \(the run has 0\.05\)/.test(e.message) &&
      /--batch-size 64 \(the run has 32\)/.test(e.message) &&
      !/--seed/.test(e.message),
  );
  assert.doesNotThrow(() => resumeOverrides(new Set(['lr']), testConfig(), saved), 'the same value is no change');
});
