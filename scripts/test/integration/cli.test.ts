// The command line end to end: `launch` runs a coordinator and local worker processes to completion and
// exits with the coordinator's status; doctor; the momentum experiment (refusals: ../cli/refusals.test.ts).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tryNative } from '@dtrain/worker';
import { CLI_PATH as CLI } from '../../src/processes/path.js';
import { tempDir } from './harness.js';

// The processes started here keep their generated images in a cache of this test run, not the user's.
process.env['DTRAIN_CACHE'] = tempDir('cache');
const dtrain = (args: string[], timeout = 60_000) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout });

test('dtrain launch trains with 2 local worker processes and writes the run directory', () => {
  const out = join(tempDir('launch'), 'run');
  const r = dtrain([
    'launch',
    '--workers',
    '2',
    '--model',
    'tiny-cnn',
    '--train-size',
    '400',
    '--test-size',
    '100',
    '--max-steps',
    '6',
    '--batch-size',
    '32',
    '--out',
    out,
    '--backend',
    'wasm',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /global batch 32 = 2 workers x 16/);
  assert.match(r.stderr, /run completed: 6 steps/);
  for (const f of [
    'config.json',
    'metrics.jsonl',
    'summary.json',
    'report.html',
    'run.log',
    'checkpoints/step-00000000/weights.f32',
    'checkpoints/step-00000006/state.json',
  ]) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
    workers: { backend: string }[];
    steps: number;
  };
  assert.equal(summary.steps, 6);
  assert.deepEqual(
    summary.workers.map((w) => w.backend),
    ['wasm', 'wasm'],
  );
});

test('dtrain doctor reports versions, backends and a speed probe', () => {
  const r = dtrain(['doctor']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /@tensorflow\/tfjs-core: 4\.22\.0/);
  assert.match(r.stdout, /native @tensorflow\/tfjs-node-gpu: /);
  assert.match(r.stdout, /auto backend: \w+ \(/);
  assert.match(r.stdout, /worker scheduling \(--sched batch\): (SCHED_BATCH|normal: )/);
  assert.match(r.stdout, /speed probe .*: [\d.]+ images\/s/);
  assert.match(
    r.stdout,
    /beside a busy core(: skipped \(one CPU\)| .*: [\d.]+ vs [\d.]+ images\/s alone \([+-]\d+%\): (no slowdown measured|.* near [\d.]+x one))/,
  );
});

test('dtrain experiment momentum runs plain SGD and momentum on local workers, prints the table, writes reports', () => {
  const out = join(tempDir('exp'), 'm');
  const args = [
    'experiment',
    'momentum',
    '--dataset',
    'synthetic',
    '--model',
    'tiny-cnn',
    '--train-size',
    '400',
    '--test-size',
    '100',
    '--epochs',
    '1',
    '--batch-size',
    '32',
    '--lr',
    '0.05',
    '--target',
    '0.05',
    '--out',
    out,
    '--backend',
    'wasm',
  ];
  const r = dtrain(args, 120_000);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^run\s+test acc\s+test loss\s+best val acc\s+steps to 5\.00%\s+epochs to target/m);
  assert.match(r.stdout, /^sgd\s+\d+\.\d+%/m);
  assert.match(r.stdout, /^momentum-keras-0\.9\s+\d+\.\d+%/m);
  assert.match(r.stderr, /run 2\/2: momentum-keras-0\.9/);
  for (const f of ['report.html', 'results.csv', 'results.json', 'sgd/report.html', 'momentum-keras-0.9/summary.json'])
    assert.ok(existsSync(join(out, f)), f);
  const again = dtrain(args, 120_000);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /sgd already completed; kept/);
});

test('launch fails within seconds when its workers cannot run, with their reason (here: no native TensorFlow)', () => {
  const nativeLoads = tryNative('@tensorflow/tfjs-node-gpu') === null || tryNative('@tensorflow/tfjs-node') === null;
  const out = join(tempDir('launch-dead'), 'run');
  const t0 = Date.now();
  const r = dtrain([
    'launch',
    '--workers',
    '2',
    '--model',
    'tiny-cnn',
    '--train-size',
    '200',
    '--test-size',
    '50',
    '--max-steps',
    '2',
    '--batch-size',
    '32',
    '--out',
    out,
    '--backend',
    'tensorflow',
  ]);
  if (nativeLoads) {
    assert.equal(r.status, 0, r.stderr); // a machine with the native binding: the same launch simply trains
    return;
  }
  assert.equal(r.status, 1, r.stderr);
  assert.ok(Date.now() - t0 < 30_000, 'not the 600 s --wait-timeout');
  assert.match(
    r.stderr,
    /all 2 workers this command started exited .* they said: "dtrain: ERR_BACKEND: the native TensorFlow backend is unavailable/,
  );
  assert.match(r.stderr, /hint: fix what the workers report/);
});
