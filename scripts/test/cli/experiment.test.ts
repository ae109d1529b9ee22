// `sweep` / `experiment momentum` options: --dry-run, and list options checked against their choices.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readMetrics } from '@dtrain/coordinator';
import { CLI_PATH } from '../../src/processes/path.js';
import { tempDir } from '../integration/harness.js';

process.env['DTRAIN_CACHE'] = tempDir('cache');
const dtrain = (args: string[]) =>
  spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: 60_000 });

test('sweep --dry-run lists every run with its steps and an estimated time, and starts nothing', () => {
  const out = join(tempDir('dry'), 'sweep');
  const r = dtrain([
    'sweep',
    '--model',
    'tiny-cnn',
    '--dataset',
    'synthetic',
    '--train-size',
    '640',
    '--test-size',
    '64',
    '--epochs',
    '2',
    '--batch-sizes',
    '32,64',
    '--optimizers',
    'sgd,momentum',
    '--backend',
    'wasm',
    '--out',
    out,
    '--dry-run',
  ]);
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

test(
  "SIGTERM to a sweep's process group, then again to the sweep (as `timeout` in a wrapper script does), " +
    'stops its current run at a step with a checkpoint (exit 130); the same command continues from it',
  { timeout: 120_000 },
  async () => {
    const out = join(tempDir('term'), 'sweep');
    const args = [
      CLI_PATH,
      'sweep',
      '--model',
      'tiny-cnn',
      '--dataset',
      'synthetic',
      '--train-size',
      '4000',
      '--test-size',
      '64',
      '--epochs',
      '4',
      '--batch-sizes',
      '16',
      '--optimizers',
      'sgd',
      '--backend',
      'wasm',
      '--local',
      '2',
      '--out',
      out,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // some steps into the run: two seconds after both workers are ready
      if ((stderr.match(/ ready \(backend/g) ?? []).length >= 2 && !timer) {
        timer = setTimeout(() => {
          process.kill(-child.pid!, 'SIGTERM'); // the sweep and its local workers
          child.kill('SIGTERM'); // the wrapper's forwarded copy: was taken for a second Ctrl-C and quit without a checkpoint
        }, 2000);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 130, stderr.slice(-1500));
    const run = join(out, 'b16-sgd-none-w0-constant-lr0.01-s1');
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')) as { status: string; steps: number };
    assert.equal(summary.status, 'stopped');
    assert.ok(summary.steps >= 1 && summary.steps < 1000, `stopped at step ${summary.steps}`);
    const saved = readdirSync(join(run, 'checkpoints')).sort().at(-1)!;
    assert.equal(saved, `step-${String(summary.steps).padStart(8, '0')}`, 'a checkpoint at the step it stopped at');
    const again = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 90_000 });
    assert.equal(again.status, 0, again.stderr.slice(-1500));
    assert.equal(
      (JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')) as { status: string }).status,
      'completed',
    );
    const steps = readMetrics(run).flatMap((r) => (r.type === 'step' ? [r.step] : []));
    assert.deepEqual(
      steps,
      Array.from({ length: 800 }, (_, i) => i + 1),
      'continued from the checkpoint: every step once',
    );
  },
);

test('sweep --local 1 without --workers runs each point on that one worker (it waited for the default 2), and says each result', () => {
  const out = join(tempDir('local1'), 'sweep');
  const args = [
    'sweep',
    '--model',
    'tiny-cnn',
    '--train-size',
    '320',
    '--test-size',
    '32',
    '--epochs',
    '1',
    '--batch-sizes',
    '32',
    '--optimizers',
    'sgd',
    '--local',
    '1',
    '--wait-timeout',
    '30',
    '--out',
    out,
  ];
  const r = dtrain(args);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /waiting for 1 worker\(s\)/);
  assert.match(r.stderr, /run 1\/1: b32-sgd\S* completed after 8 steps: best val [\d.]+%, test [\d.]+%, target/);
  // a second sweep into the same directory (a study in pieces): its report covers both sweeps' runs
  const again = dtrain(args.map((x, i) => (args[i - 1] === '--batch-sizes' ? '16' : x)));
  assert.equal(again.status, 0, again.stderr);
  const [head, ...rows] = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  const col = head!.split(',').indexOf('batchSize');
  assert.deepEqual(rows.map((l) => l.split(',')[col]).sort(), ['16', '32']);
});
