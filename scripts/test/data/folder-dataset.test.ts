// --dataset folder:PATH: your own images, one subfolder per class, PNG and JPEG of any size.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildDataset, folderDatasetSpec, loadFolderDataset } from '@dtrain/common/files';
import { readCheckpoint } from '@dtrain/coordinator';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { CLI_PATH } from '../../src/processes/path.js';
import { startRun, tempDir, testConfig, worker } from '../integration/harness.js';

const COLOURS: Record<string, [number, number, number]> = {
  cats: [200, 30, 30],
  dogs: [30, 200, 30],
  owls: [30, 30, 200],
};

function png(w: number, h: number, [r, g, b]: [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) p.data.set([r, g, b, 255], i * 4);
  return PNG.sync.write(p);
}

function jpg(w: number, h: number, [r, g, b]: [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([r, g, b, 255], i * 4);
  return jpeg.encode({ data, width: w, height: h }, 95).data;
}

/** 3 classes x 10 images: PNGs of 40x30 and 32x32, JPEGs of 64x48; each class one colour. */
function imageFolder(): string {
  const dir = tempDir('folder');
  for (const [name, colour] of Object.entries(COLOURS)) {
    mkdirSync(join(dir, name));
    for (let i = 0; i < 10; i++) {
      const file = i % 3 === 0 ? `${i}.jpg` : `${i}.png`;
      writeFileSync(
        join(dir, name, file),
        i % 3 === 0 ? jpg(64, 48, colour) : png(i % 2 ? 40 : 32, i % 2 ? 30 : 32, colour),
      );
    }
    writeFileSync(join(dir, name, 'notes.txt'), 'not an image');
  }
  return dir;
}

const base = { seed: 1, valFraction: 0.25, normalize: false, augment: false, testFraction: 0.2 };

test('a folder of class subfolders: names, counts, resized 32x32 RGB images, a fixed test draw by seed', () => {
  const dir = imageFolder();
  const spec = folderDatasetSpec(dir, base);
  assert.deepEqual([spec.classes, spec.images], [['cats', 'dogs', 'owls'], 30]);
  const ds = buildDataset(spec);
  assert.deepEqual([ds.size('train'), ds.size('val'), ds.size('test'), ds.classes], [18, 6, 6, 3]);
  const x = new Float32Array(6 * 3072);
  const y = new Int32Array(6);
  ds.fillBatch('test', [0, 1, 2, 3, 4, 5], x, y);
  for (let i = 0; i < 6; i++) {
    const want = Object.values(COLOURS)[y[i]!]!;
    const got = [x[i * 3072]!, x[i * 3072 + 1]!, x[i * 3072 + 2]!].map((v) => Math.round(v * 255));
    for (let c = 0; c < 3; c++)
      assert.ok(Math.abs(got[c]! - want[c]!) <= 3, `${got} vs ${want} (JPEG rounds a little)`);
  }
  assert.equal(ds.fingerprint, buildDataset(spec).fingerprint, 'the same folder and seed: the same data');
  assert.notEqual(
    ds.fingerprint,
    buildDataset({ ...spec, seed: 2 }).fingerprint,
    'another seed draws another test split',
  );
});

test("refused, by name: a corrupt image, a class without images, a copy that differs from the run's", () => {
  const dir = imageFolder();
  writeFileSync(join(dir, 'dogs', '3.png'), 'not a png');
  const spec = folderDatasetSpec(dir, base);
  assert.throws(() => buildDataset(spec), /dogs\/3\.png could not be decoded as PNG/);
  const empty = imageFolder();
  mkdirSync(join(empty, 'zebras'));
  assert.throws(() => folderDatasetSpec(empty, base), /class "zebras" has no images/);
  const other = imageFolder();
  const copy = imageFolder();
  rmSync(join(copy, 'owls', '1.png'));
  assert.throws(
    () => loadFolderDataset(folderDatasetSpec(other, base), base, copy),
    /has 3 classes and 29 images; the run's folder has 3 and 30/,
  );
  assert.throws(() => folderDatasetSpec(join(other, 'nowhere'), base), /--dataset folder:.*nowhere: ENOENT/);
});

test("a run on a folder dataset trains the zoo model widened to its classes; the checkpoint knows the classes' names", async () => {
  const dir = imageFolder();
  const config = testConfig({ dataset: folderDatasetSpec(dir, base), batchSize: 9, maxSteps: 2, workers: 1 });
  const run = await startRun(config);
  const summary = run.run();
  const w = await worker(run.url, 'w');
  assert.equal((await summary).status, 'completed');
  await w.done;
  const ckpt = readCheckpoint(run.out);
  assert.equal(ckpt.state.modelSpec!.classes, 3);
  assert.deepEqual(ckpt.state.inputs!.classes, ['cats', 'dogs', 'owls']);
});

/** The CLI in a child process, awaited (the coordinator runs in this one: it must keep answering). */
function cli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stderr }));
  });
}

test('a worker reads a folder only from its own --data-dir: a coordinator cannot choose a folder of its machine', async () => {
  const dir = imageFolder();
  const run = await startRun(
    testConfig({ dataset: folderDatasetSpec(dir, base), batchSize: 9, maxSteps: 1, workers: 1 }),
    {
      waitTimeoutMs: 20_000,
    },
  );
  const summary = run.run();
  const r = await cli(['worker', '--connect', run.url, '--backend', 'wasm', '--give-up', '5']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /trains on a folder dataset \(.*\); this worker has no --data-dir/);
  const ok = await cli(['worker', '--connect', run.url, '--backend', 'wasm', '--data-dir', dir, '--quiet']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal((await summary).status, 'completed');
});
