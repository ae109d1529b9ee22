// `sweep` / `experiment momentum` options: --dry-run, and list options checked against their choices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_PATH } from '../../src/cli/path.js';
import { tempDir } from '../integration/harness.js';

process.env['DTRAIN_CACHE'] = tempDir('cache');
const dtrain = (args: string[]) => spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: 60_000 });

test('sweep --dry-run lists every run with its steps and an estimated time, and starts nothing', () => {
  const out = join(tempDir('dry'), 'sweep');
  const r = dtrain(['sweep', '--model', 'tiny-cnn', '--dataset', 'synthetic', '--train-size', '640', '--test-size', '64', '--epochs', '2',
    '--batch-sizes', '32,64', '--optimizers', 'sgd,momentum', '--backend', 'wasm', '--out', out, '--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[0]!, /^b32-sgd-none-w0-constant-lr0\.01-s1: 32 steps of 32 \(16 per worker\), ~[\d.]+ min$/); // 512 training images / 32 x 2 epochs
  assert.match(lines[3]!, /^b64-momentum0\.9-none-w0-constant-lr0\.01-s1: 16 steps of 64 \(32 per worker\)/);
  assert.match(lines[4]!, /^4 runs, 96 steps; about [\d.]+ h of compute on 2 wasm worker\(s\)/);
  assert.equal(existsSync(out), false);
});

test('list options name the flag and the valid entries', () => {
  const r = dtrain(['experiment', 'momentum', '--forms', 'torch', '--dry-run', '--local', '0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--forms: unknown "torch"[\s\S]*hint: use a comma-separated list of: keras, ema, pytorch/);
});
