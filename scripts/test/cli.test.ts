// The command line: bad values refused before anything starts; `launch` runs a coordinator and local
// worker processes to completion and exits with the coordinator's status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './harness.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
// The processes started here keep their generated images in a cache of this test run, not the user's.
process.env['DTRAIN_CACHE'] = tempDir('cache');
const dtrain = (args: string[], timeout = 60_000) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout });

test('bad values are refused before anything starts, naming the value and the fix', () => {
  const r = dtrain(['launch', '--workers', '4', '--batch-size', '2']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--batch-size 2 is smaller than --workers 4/);
  assert.match(r.stderr, /hint: use --batch-size 4 or more/);
  assert.equal(dtrain(['coordinator', '--momentum', '1.5']).status, 2);
  assert.match(dtrain(['launch', '--lr-schedule', 'zigzag']).stderr, /Invalid values/);
  assert.match(dtrain(['worker', '--connect', 'localhost:7070']).stderr, /not a ws:\/\/ address/);
  assert.match(dtrain(['--help']).stdout, /launch/);
  const used = tempDir('used');
  writeFileSync(join(used, 'metrics.jsonl'), '{}\n');
  const again = dtrain(['launch', '--model', 'tiny-cnn', '--out', used]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already holds a run/);
  assert.match(again.stderr, /--resume|--overwrite/);
  const unwritable = dtrain(['coordinator', '--model', 'tiny-cnn', '--train-size', '200', '--test-size', '16', '--batch-size', '32', '--out', join(used, 'metrics.jsonl', 'run')], 20_000);
  assert.equal(unwritable.status, 2, unwritable.stderr);
  assert.match(unwritable.stderr, /cannot create the run directory .*ENOTDIR/);
});

test('dtrain launch trains with 2 local worker processes and writes the run directory', () => {
  const out = join(tempDir('launch'), 'run');
  const r = dtrain(['launch', '--workers', '2', '--model', 'tiny-cnn', '--train-size', '400', '--test-size', '100', '--max-steps', '6', '--batch-size', '32', '--out', out, '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /global batch 32 = 2 workers x 16/);
  assert.match(r.stderr, /run completed: 6 steps/);
  for (const f of ['config.json', 'metrics.jsonl', 'summary.json', 'checkpoints/step-00000000/weights.f32', 'checkpoints/step-00000006/state.json']) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { workers: { backend: string }[]; steps: number };
  assert.equal(summary.steps, 6);
  assert.deepEqual(summary.workers.map((w) => w.backend), ['wasm', 'wasm']);
});

test('dtrain doctor reports versions, backends and a speed probe', () => {
  const r = dtrain(['doctor']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /@tensorflow\/tfjs-core: 4\.22\.0/);
  assert.match(r.stdout, /native @tensorflow\/tfjs-node-gpu: /);
  assert.match(r.stdout, /auto backend: \w+ \(/);
  assert.match(r.stdout, /worker scheduling \(--sched batch\): (SCHED_BATCH|normal: )/);
  assert.match(r.stdout, /speed probe .*: [\d.]+ images\/s/);
  assert.match(r.stdout, /beside a busy core(: skipped \(one CPU\)| .*: [\d.]+ vs [\d.]+ images\/s alone \([+-]\d+%\): (no slowdown measured|.* near [\d.]+x one))/);
});

test('dtrain experiment momentum runs plain SGD and momentum on local workers, prints the table, writes reports', () => {
  const out = join(tempDir('exp'), 'm');
  const args = ['experiment', 'momentum', '--dataset', 'synthetic', '--model', 'tiny-cnn', '--train-size', '400', '--test-size', '100',
    '--epochs', '1', '--batch-size', '32', '--lr', '0.05', '--target', '0.05', '--out', out, '--backend', 'wasm'];
  const r = dtrain(args, 120_000);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^run\s+test acc\s+test loss\s+best val acc\s+epochs to 5\.00%/m);
  assert.match(r.stdout, /^sgd\s+\d+\.\d+%/m);
  assert.match(r.stdout, /^momentum-keras-0\.9\s+\d+\.\d+%/m);
  assert.match(r.stderr, /run 2\/2: momentum-keras-0\.9/);
  for (const f of ['report.html', 'results.csv', 'results.json', 'sgd/report.html', 'momentum-keras-0.9/summary.json']) assert.ok(existsSync(join(out, f)), f);
  const again = dtrain(args, 120_000);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /sgd already completed; kept/);
});
