// The last resort of real dtrain processes: a bug nothing caught loses at most the current step (the
// coordinator writes its checkpoint and summary.json status crashed, the run resumes to the undisturbed
// weights); a worker says why and exits nonzero; a closed output pipe never stops a run.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readCheckpoint } from '@dtrain/coordinator';
import { CLI_PATH as CLI } from '../../src/processes/path.js';
import { tempDir } from './harness.js';

process.env['DTRAIN_CACHE'] = tempDir('cache');
const INJECT = fileURLToPath(new URL('./inject-throw.js', import.meta.url));
const RUN = [
  '--workers',
  '2',
  '--model',
  'tiny-cnn',
  '--train-size',
  '320',
  '--test-size',
  '64',
  '--batch-size',
  '32',
  '--backend',
  'wasm',
  '--seed',
  '3',
];

const exited = (c: ChildProcess): Promise<number | null> => new Promise((r) => c.once('exit', (code) => r(code)));
const summaryOf = (out: string): { status: string; steps: number; error?: string; finalCheckpoint: string } =>
  JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
const steps = (out: string): number =>
  existsSync(join(out, 'metrics.jsonl'))
    ? readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"type":"step"')).length
    : 0;

async function until(what: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

test(
  'a bug nothing caught in the coordinator: checkpoint and summary.json (crashed) written, lock released, exit 1; --resume ends bitwise as an undisturbed run',
  { timeout: 120_000 },
  () => {
    const calm = join(tempDir('calm'), 'run');
    assert.equal(
      spawnSync(process.execPath, [CLI, 'launch', ...RUN, '--max-steps', '12', '--out', calm], { encoding: 'utf8' })
        .status,
      0,
    );
    const out = join(tempDir('crash'), 'run');
    const env = {
      ...process.env,
      DTRAIN_TEST_THROW_IN: 'launch',
      DTRAIN_TEST_THROW_FILE: join(out, 'metrics.jsonl'),
      DTRAIN_TEST_THROW_LINES: '4',
    };
    const r = spawnSync(
      process.execPath,
      ['--import', INJECT, CLI, 'launch', ...RUN, '--max-steps', '12', '--out', out],
      { encoding: 'utf8', env, timeout: 60_000 },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /dtrain launch: crashed: Error: injected fault/);
    assert.match(r.stderr, /kept the checkpoint .*step-0000000\d \(step \d+\) and summary\.json \(status crashed\)/);
    const s = summaryOf(out);
    assert.equal(s.status, 'crashed');
    assert.match(s.error ?? '', /injected fault/);
    assert.ok(s.steps >= 3 && s.steps < 12, `crashed at step ${s.steps}`);
    assert.equal(readCheckpoint(s.finalCheckpoint).state.step, s.steps);
    assert.ok(!existsSync(join(out, '.lock')), 'the lock was released');
    const resumed = spawnSync(process.execPath, [CLI, 'launch', '--resume', out, '--backend', 'wasm'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(
      Buffer.compare(Buffer.from(readCheckpoint(out).weights.buffer), Buffer.from(readCheckpoint(calm).weights.buffer)),
      0,
      'weights differ from the undisturbed run',
    );
  },
);

test('a bug nothing caught in a worker: it says why on stderr and exits 1', () => {
  const env = { ...process.env, DTRAIN_TEST_THROW_IN: 'worker', DTRAIN_TEST_THROW_FILE: '' };
  const r = spawnSync(
    process.execPath,
    ['--import', INJECT, CLI, 'worker', '--connect', 'ws://127.0.0.1:9', '--backend', 'wasm'],
    { encoding: 'utf8', env, timeout: 30_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /dtrain worker: crashed: Error: injected fault/);
});

test(
  'launch writing into a pipe whose reader is gone, then Ctrl-C: exit 130, checkpoint, summary (stopped), lock removed',
  { timeout: 60_000 },
  async () => {
    const out = join(tempDir('pipe'), 'run');
    const child = spawn(
      process.execPath,
      [CLI, 'launch', ...RUN, '--max-steps', '100000', '--epochs', '10000', '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const code = exited(child);
    child.stdout!.destroy(); // like tee ended by the same Ctrl-C: every later write to stdout and stderr fails with EPIPE
    child.stderr!.destroy();
    await until(() => steps(out) >= 3, 40_000);
    child.kill('SIGINT');
    assert.equal(await code, 130);
    const s = summaryOf(out);
    assert.equal(s.status, 'stopped');
    assert.equal(readCheckpoint(s.finalCheckpoint).state.step, s.steps);
    assert.ok(!existsSync(join(out, '.lock')), 'the lock was released');
  },
);

test(
  'a sweep (experiment momentum) writing into a pipe whose reader is gone, then Ctrl-C: exit 130, its run stopped with a checkpoint, no lock',
  { timeout: 90_000 },
  async () => {
    const out = join(tempDir('pipe-sweep'), 'm');
    const args = [
      'experiment',
      'momentum',
      '--model',
      'tiny-cnn',
      '--train-size',
      '320',
      '--test-size',
      '64',
      '--batch-size',
      '32',
      '--epochs',
      '10000',
      '--backend',
      'wasm',
      '--out',
      out,
    ];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = exited(child);
    child.stdout!.destroy();
    child.stderr!.destroy();
    await until(() => steps(join(out, 'sgd')) >= 3, 60_000); // the plan's first run
    child.kill('SIGINT');
    assert.equal(await code, 130);
    const s = summaryOf(join(out, 'sgd'));
    assert.equal(s.status, 'stopped');
    assert.equal(readCheckpoint(s.finalCheckpoint).state.step, s.steps);
    assert.ok(!existsSync(join(out, 'sgd', '.lock')), 'the lock was released');
  },
);
