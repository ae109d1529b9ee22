// The float64 recomputation of a residual network's steps (bench/reference/resnet_bn.py, PyTorch float64,
// independent of dtrain's code) in CI: ResNet-8 with ghost batch norm, 2 workers, momentum SGD with weight
// decay, augmented and normalized inputs (the embedded dataset here; bench/resnet-bn-reference.sh runs it on
// CIFAR-10). Every step must agree with float64 to 1e-4, or to 1e-4 with one near-zero ReLU taken the other way.
// Needs Debian's python3-torch (/usr/bin/python3, or $PYTHON).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_PATH } from '../../src/processes/path.js';
import { tempDir } from './harness.js';

const ROOT = join(import.meta.dirname, '../../../..');
const PYTHON = process.env['PYTHON'] ?? '/usr/bin/python3';

test('resnet8, 3 steps on 2 workers: every step agrees with an independent float64 recomputation', () => {
  const torch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(torch.status, 0, `${PYTHON} has no torch: apt-get install python3-torch (or set PYTHON)`);
  const run = join(tempDir('reference'), 'run');
  const args = ['launch', '--workers', '2', '--model', 'resnet8', '--train-size', '640', '--test-size', '32'];
  const train = [
    '--val-fraction',
    '0',
    '--augment',
    '--normalize',
    '--batch-size',
    '32',
    '--group-size',
    '8',
    '--max-steps',
    '3',
  ];
  const optim = [
    '--lr',
    '0.05',
    '--momentum',
    '0.9',
    '--weight-decay',
    '5e-4',
    '--checkpoint-every',
    '1',
    '--out',
    run,
  ];
  const launched = spawnSync(process.execPath, [CLI_PATH, ...args, ...train, ...optim], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, DTRAIN_CACHE: tempDir('cache') },
  });
  assert.equal(launched.status, 0, launched.stderr);
  execFileSync(process.execPath, [join(ROOT, 'bench/reference/dump-batches.mjs'), run, '3']);
  const check = spawnSync(PYTHON, [join(ROOT, 'bench/reference/resnet_bn.py'), run, '3'], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const steps = check.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => l.mode === 'from the previous checkpoint' && l.tensors !== 'velocity');
  assert.equal(steps.length, 6, 'weights and running statistics for each of 3 steps');
  assert.ok(steps.every((l) => l.ok === true));
});
