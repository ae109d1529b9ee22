// CIFAR-100 from its archive: the MD5 gate, the manifest every later load checks, the fine labels, and a run
// on it with a 100-way model (the zoo's widened to the dataset's classes).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CIFAR100_CLASSES, CIFAR100_MANIFEST, type TrainConfig } from '@dtrain/common';
import { buildDataset } from '@dtrain/common/files';
import { readCheckpoint } from '@dtrain/coordinator';
import * as tar from 'tar';
import { cifar100Installed, fetchCifar100, installCifar100Archive } from '../../src/data/fetch-cifar100.js';
import { startRun, tempDir, testConfig, worker } from '../integration/harness.js';

/** Records of CIFAR-100's layout: coarse label, fine label, 3,072 pixel bytes. */
function records(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n * 3074);
  for (let r = 0; r < n; r++) {
    b[r * 3074] = r % 20;
    b[r * 3074 + 1] = (r * 7 + seed) % 100;
    for (let i = 2; i < 3074; i++) b[r * 3074 + i] = (r * 31 + i * seed) % 256;
  }
  return b;
}

async function archive(): Promise<{ file: string; md5: string }> {
  const dir = tempDir('c100src');
  mkdirSync(join(dir, 'cifar-100-binary'));
  writeFileSync(join(dir, 'cifar-100-binary', 'train.bin'), records(200, 3));
  writeFileSync(join(dir, 'cifar-100-binary', 'test.bin'), records(40, 5));
  writeFileSync(join(dir, 'cifar-100-binary', 'fine_label_names.txt'), CIFAR100_CLASSES.join('\n'));
  writeFileSync(join(dir, 'cifar-100-binary', 'coarse_label_names.txt'), 'aquatic_mammals\n');
  const file = join(dir, 'cifar-100-binary.tar.gz');
  await tar.c({ gzip: true, file, cwd: dir }, ['cifar-100-binary']);
  return { file, md5: createHash('md5').update(readFileSync(file)).digest('hex') };
}

test('an archive whose MD5 is not the official one installs nothing; the right one installs files and their manifest', async () => {
  const { file, md5 } = await archive();
  const dir = join(tempDir('c100'), 'cifar100');
  await assert.rejects(
    installCifar100Archive(file, dir, () => undefined),
    /has MD5 [0-9a-f]{32}; the official cifar-100-binary.tar.gz has 03b5dce0/,
  );
  assert.equal(cifar100Installed(dir), false);
  await installCifar100Archive(file, dir, () => undefined, md5);
  assert.equal(cifar100Installed(dir), true);
  const manifest = JSON.parse(readFileSync(join(dir, CIFAR100_MANIFEST), 'utf8'));
  assert.match(manifest['train.bin'], /^[0-9a-f]{64}$/);
  const logs: string[] = [];
  assert.equal(await fetchCifar100(dir, (l) => logs.push(l)), dir); // already there: nothing fetched
  assert.match(logs[0]!, /present and verified/);
  const ds = buildDataset(
    { name: 'cifar100', seed: 1, valFraction: 0.1, normalize: false, augment: false, limitTrain: 0, limitTest: 0 },
    { cifarDir: dir },
  );
  assert.deepEqual([ds.size('train'), ds.size('val'), ds.size('test'), ds.classes], [180, 20, 40, 100]);
  const x = new Float32Array(3072);
  const y = new Int32Array(1);
  ds.fillBatch('test', [1], x, y);
  assert.equal(y[0], (1 * 7 + 5) % 100, 'the fine label');
  writeFileSync(join(dir, 'test.bin'), records(40, 6)); // changed after it was verified
  assert.throws(
    () =>
      buildDataset(
        { name: 'cifar100', seed: 1, valFraction: 0.1, normalize: false, augment: false, limitTrain: 0, limitTest: 0 },
        { cifarDir: dir },
      ),
    /changed since it was extracted/,
  );
});

test('a run on CIFAR-100 trains the zoo model widened to 100 classes on every side', async () => {
  const { file, md5 } = await archive();
  const cifarDir = join(tempDir('c100run'), 'cifar100');
  await installCifar100Archive(file, cifarDir, () => undefined, md5);
  const dataset = {
    name: 'cifar100',
    seed: 1,
    valFraction: 0.1,
    normalize: true,
    augment: false,
    limitTrain: 0,
    limitTest: 0,
  } as const;
  const config: TrainConfig = testConfig({ dataset, batchSize: 20, maxSteps: 3, workers: 1 });
  const run = await startRun(config, { data: { cifarDir } });
  const summary = run.run();
  const w = await worker(run.url, 'w', undefined, { cifarDir });
  assert.equal((await summary).status, 'completed');
  await w.done;
  const ckpt = readCheckpoint(run.out);
  assert.equal(ckpt.state.modelSpec!.classes, 100);
  assert.equal(ckpt.state.modelSpec!.name, 'tiny-cnn');
  assert.deepEqual(ckpt.state.manifest.at(-1)!.shape, [100]);
  assert.equal(ckpt.state.inputs!.classes.length, 100);
  assert.equal(ckpt.state.inputs!.classes[0], 'apple');
});
