// Training on CIFAR-10-format files (small, generated here): workers load the data themselves and get
// only indices; a worker with different data is refused at the handshake.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, encodeCifarBatch, Rng, type TrainConfig } from '@dtrain/common';
import { startRun, testConfig, worker } from './harness.js';

function fakeCifarDir(perFile: number, seed: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'cifar-run-'));
  [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE].forEach((f, i) => {
    const rng = new Rng(seed * 100 + i);
    writeFileSync(
      join(dir, f),
      encodeCifarBatch(
        Uint8Array.from({ length: perFile * 3072 }, () => rng.int(256)),
        Array.from({ length: perFile }, () => rng.int(10)),
      ),
    );
  });
  return dir;
}

const cifarConfig = (): TrainConfig =>
  testConfig({
    dataset: {
      name: 'cifar10',
      limitTrain: 0,
      limitTest: 0,
      seed: 1,
      valFraction: 0.2,
      normalize: true,
      augment: true,
    },
    maxSteps: 4,
    batchSize: 16,
    workers: 2,
    minWorkers: 2,
  });

test('coordinator and 2 workers train on CIFAR-10 files with augmentation and normalization', async () => {
  const data = { cifarDir: fakeCifarDir(20, 1), verify: false };
  const run = await startRun(cifarConfig(), { data });
  const summaryP = run.run();
  const ws = await Promise.all([worker(run.url, 'a', undefined, data), worker(run.url, 'b', undefined, data)]);
  const summary = await summaryP;
  await Promise.all(ws.map((w) => w.done));
  assert.equal(summary.status, 'completed');
  assert.equal(summary.samplesSeen, 4 * 16);
  assert.equal(summary.final.test?.step, 4);
});

test('a worker whose dataset differs is refused with a message saying how to fix it', async () => {
  const run = await startRun(
    { ...cifarConfig(), workers: 1, minWorkers: 1, maxSteps: 1 },
    { data: { cifarDir: fakeCifarDir(20, 1), verify: false } },
  );
  const summaryP = run.run();
  const odd = await worker(run.url, 'odd', undefined, { cifarDir: fakeCifarDir(20, 2), verify: false });
  const refused = await odd.done;
  assert.equal(refused.ok, false);
  assert.match(refused.reason, /ERR_DATASET_MISMATCH/);
  assert.match(refused.reason, /--data-dir/);
  const good = await worker(run.url, 'good', undefined, { cifarDir: fakeCifarDir(20, 1), verify: false });
  assert.equal((await summaryP).status, 'completed');
  await good.done;
});
