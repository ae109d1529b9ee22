// The flag table is the one source of the training options, their config and their resume roles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPERATIONAL_KEYS, STEP_TIMEOUT_MS, validateConfig } from '@dtrain/common';
import yargs from 'yargs';
import { type TrainInput, toTrainConfig, trainOptions } from '../../src/options/options.js';
import { type FlagRow, TRAIN_FLAGS } from '../../src/options/train-flags.js';

const rows = Object.entries(TRAIN_FLAGS) as [string, FlagRow][];
const parse = (argv: string[]): TrainInput => trainOptions(yargs(argv)).strict().parseSync() as unknown as TrainInput;

test("operational rows are exactly common's OPERATIONAL_KEYS; process rows have no config path, all others one", () => {
  const operational = rows.filter(([, r]) => r.role === 'operational').map(([, r]) => r.path);
  assert.deepEqual(operational.sort(), [...OPERATIONAL_KEYS].sort());
  for (const [flag, r] of rows) assert.equal(r.path === undefined, r.role === 'process', flag);
});

test('the defaults give the config the flags always gave (synthetic), and it validates', () => {
  const c = toTrainConfig(parse([]));
  assert.deepEqual(c, {
    model: 'reference-cnn',
    dataset: {
      name: 'synthetic',
      trainSize: 10000,
      testSize: 2000,
      seed: 1,
      valFraction: 0.2,
      normalize: false,
      augment: false,
    },
    seed: 1,
    batchSize: 64,
    epochs: 4,
    maxSteps: 0,
    lr: 0.01,
    schedule: 'constant',
    decaySteps: 1000,
    gamma: 0.1,
    minLr: 0,
    warmupSteps: 0,
    scaling: 'none',
    baseBatchSize: 64,
    optimizer: { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, form: 'pytorch' },
    workers: 2,
    minWorkers: 2,
    evalEvery: 0,
    evalChunk: 500,
    checkpointEvery: 0,
    keepCheckpoints: 0,
    checkpointSeconds: 0,
    stepTimeoutMs: STEP_TIMEOUT_MS,
    balance: 'even',
    groupSize: 'auto',
  });
  assert.equal(validateConfig(c).stepsPerEpoch, 125);
});

test('each flag lands at its path: cifar10 fields only for cifar10, conversions, omitted defaults', () => {
  const c = toTrainConfig(
    parse([
      '--dataset',
      'cifar10',
      '--limit-train',
      '500',
      '--train-size',
      '7',
      '--seed',
      '3',
      '--workers',
      '4',
      '--step-timeout',
      '2.5',
      '--grad-wire',
      'int8',
      '--patience',
      '2',
      '--momentum-form',
      'ema',
    ]),
  );
  assert.deepEqual(c.dataset, {
    name: 'cifar10',
    limitTrain: 500,
    limitTest: 0,
    seed: 3,
    valFraction: 0.2,
    normalize: false,
    augment: false,
  });
  assert.equal(c.seed, 3);
  assert.equal(c.minWorkers, 4);
  assert.equal(c.stepTimeoutMs, 2500);
  assert.equal(c.gradWire, 'int8');
  assert.equal(c.patienceEpochs, 2);
  assert.equal(c.optimizer.form, 'ema');
});

test('yargs options come from the table: every row is an option in --help, with its group', async () => {
  const help = await trainOptions(yargs([])).getHelp();
  for (const [flag, row] of rows) assert.match(help, new RegExp(`--${flag}\\b`), flag);
  for (const group of new Set(rows.map(([, r]) => r.group))) assert.ok(help.includes(String(group)), String(group));
});

test("--bn-group is --group-size (the groups are batch norm's batches); --model path.json carries the file's spec", () => {
  assert.equal(toTrainConfig(parse(['--bn-group', '16'])).groupSize, 16);
  assert.equal(toTrainConfig(parse(['--group-size', '4'])).groupSize, 4);
  const c = toTrainConfig(parse(['--model', 'examples/models/keras-cifar-cnn.json']));
  assert.equal(c.model, 'examples/models/keras-cifar-cnn.json');
  assert.equal(c.modelSpec?.name, 'sequential');
  assert.equal(toTrainConfig(parse(['--model', 'resnet8'])).modelSpec, undefined);
});
