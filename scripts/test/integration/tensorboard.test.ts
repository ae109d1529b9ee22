// Every run writes TensorBoard event files (coordinator/src/tensorboard.ts), read back here with TensorBoard's
// own event loader and hparams parser (its Python package, installed into a virtual environment from pip's
// configured index on first use): the steps' and evaluations' scalars, the hyperparameters, and a resume that
// redoes steps 4-6 shown once (its SessionLog START purges the first attempt's events after step 3).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTfRecords } from '@dtrain/common';
import { listCheckpoints } from '@dtrain/coordinator';
import { testConfig, train } from './harness.js';

const VENV = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'dtrain', 'tensorboard-venv');

/** The venv's python, the venv made first where missing (built aside and renamed: a failed install leaves none). */
function tensorboardPython(): string {
  const python = join(VENV, 'bin', 'python');
  if (!existsSync(python)) {
    const tmp = `${VENV}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    execFileSync('python3', ['-m', 'venv', tmp], { stdio: 'inherit' });
    // fail fast on an index that cannot be reached (machines with only a local mirror configured)
    const pip = ['install', '-q', '--retries', '0', '--timeout', '5', 'tensorboard'];
    execFileSync(join(tmp, 'bin', 'pip'), pip, { stdio: ['ignore', 'inherit', 'pipe'], timeout: 600_000 });
    renameSync(tmp, VENV);
  }
  return python;
}

const eventFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.'));

test('TensorBoard reads the event files: scalars per step and evaluation, hyperparameters, a resume shown once', async () => {
  const config = testConfig({ maxSteps: 6, evalEvery: 3, checkpointEvery: 3, workers: 1 });
  const first = await train(config, 1);
  assert.equal(eventFiles(first.out).length, 1);
  // the framing and CRCs, by dtrain's own reader: version, hparams, 6 steps, 2 x (val, test) evaluations
  const records = readTfRecords(readFileSync(join(first.out, eventFiles(first.out)[0]!)), false);
  assert.equal(records.length, 2 + 6 + 4);
  const resumed = await train(config, 1, {
    resume: listCheckpoints(first.out).find((c) => c.endsWith('step-00000003'))!,
    out: first.out,
    overwrite: true,
    resumeOverrides: { maxSteps: 8 },
  });
  assert.equal(resumed.summary.status, 'completed');
  assert.equal(eventFiles(first.out).length, 2);
  const read = JSON.parse(
    execFileSync(
      tensorboardPython(),
      [join(import.meta.dirname, '../../../test/integration/read_tfevents.py'), first.out],
      { encoding: 'utf8' },
    ),
  );
  const steps = (tag: string) => (read.scalars[tag] as [number, number][]).map(([s]) => s);
  assert.deepEqual(steps('train/loss'), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(steps('val/accuracy'), [3, 6, 8]);
  for (const tag of ['train/accuracy', 'train/lr', 'time/step_ms', 'throughput/samples_per_second', 'test/loss']) {
    assert.ok(read.scalars[tag]?.length > 0, tag);
  }
  assert.equal(read.scalars['train/lr'][0][1], Math.fround(0.05)); // simple_value is a float32
  assert.equal(read.hparams['batchSize'], 32);
  assert.equal(read.hparams['model'], 'tiny-cnn');
  assert.equal(read.hparams['optimizer.momentum'], 0.9);
});
