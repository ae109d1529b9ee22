// A trained run, used the way its users would: exported and loaded with tf.loadLayersModel over HTTP
// (as a browser app does), evaluated on any split, asked to predict images.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { SYNTHETIC_CLASSES } from '@dtrain/common';
import * as tfjs from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { readImages } from '../../src/model/images.js';
import {
  evaluateTrained,
  exportTfjs,
  openTrained,
  predictTrained,
  trainedDataset,
  trainedInputs,
} from '../../src/model/trained.js';
import { testConfig, train } from '../integration/harness.js';

const trained = train(testConfig({ maxSteps: 12, epochs: 1, lr: 0.1 }), 2);

test("export -> tf.loadLayersModel over HTTP -> the run's own test accuracy on its dataset", async () => {
  const { out, summary } = await trained;
  const t = openTrained(out);
  const dataset = trainedDataset(t, '');
  const dir = join(out, 'export');
  await exportTfjs(t, t.inputs!, dir);
  const server = createServer((req, res) => {
    try {
      res.end(readFileSync(join(dir, (req.url ?? '/').slice(1))));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const model = await tfjs.loadLayersModel(`http://127.0.0.1:${(server.address() as AddressInfo).port}/model.json`);
    const n = dataset.size('test');
    const x = new Float32Array(n * 32 * 32 * 3);
    const y = new Int32Array(n);
    dataset.fillBatch(
      'test',
      Uint32Array.from({ length: n }, (_, i) => i),
      x,
      y,
    );
    const logits = model.predict(tfjs.tensor4d(x, [n, 32, 32, 3])) as tfjs.Tensor2D;
    const predicted = logits.argMax(1).dataSync();
    const correct = y.reduce((a, label, i) => a + (predicted[i] === label ? 1 : 0), 0);
    assert.equal(correct / n, summary.final.test!.accuracy);
  } finally {
    server.close();
  }
});

test("evaluate gives the run's final test loss and accuracy; any split works", async () => {
  const { out, summary } = await trained;
  const t = openTrained(out);
  const e = await evaluateTrained(t, trainedDataset(t, ''), 'test', 'wasm');
  assert.equal(e.accuracy, summary.final.test!.accuracy);
  assert.ok(Math.abs(e.loss - summary.final.test!.loss) < 1e-4, `${e.loss} vs ${summary.final.test!.loss}`);
  const val = await evaluateTrained(t, trainedDataset(t, ''), 'val', 'wasm');
  assert.equal(val.accuracy, summary.final.val!.accuracy);
});

test('predict: a CIFAR binary record and the same image as a PNG get the same classes', async () => {
  const { out } = await trained;
  const t = openTrained(out);
  const dataset = trainedDataset(t, '');
  const x = new Float32Array(32 * 32 * 3);
  const y = new Int32Array(1);
  dataset.fillBatch('test', [0], x, y);
  const png = new PNG({ width: 32, height: 32 });
  const record = Buffer.alloc(3073);
  record[0] = y[0]!;
  for (let i = 0; i < 1024; i++)
    for (let c = 0; c < 3; c++) {
      const v = Math.round(x[i * 3 + c]! * 255);
      png.data[i * 4 + c] = v;
      record[1 + c * 1024 + i] = v;
    }
  png.data.fill(255, 0, 0);
  for (let i = 0; i < 1024; i++) png.data[i * 4 + 3] = 255;
  writeFileSync(join(out, 'img.png'), PNG.sync.write(png));
  writeFileSync(join(out, 'one.bin'), record);
  const preds = await predictTrained(t, t.inputs!, readImages([join(out, 'img.png'), join(out, 'one.bin')]), 'wasm');
  assert.deepEqual(
    preds[0]!.top.map((c) => c.cls),
    preds[1]!.top.map((c) => c.cls),
  );
  assert.equal(preds[1]!.label, y[0]);
  assert.ok(Math.abs(preds[0]!.top.reduce((a, c) => a + c.p, 0) - preds[1]!.top.reduce((a, c) => a + c.p, 0)) < 1e-6);
});

const noData = async (): Promise<never> => {
  throw new Error('the dataset was loaded');
};

test("a checkpoint knows its dataset's class names and input statistics: predict and export need no data", async () => {
  const { out } = await trained;
  const t = openTrained(out);
  assert.deepEqual(t.inputs, { classes: [...SYNTHETIC_CLASSES] }); // no --normalize: no statistics
  const inputs = await trainedInputs(
    { ...t, config: { ...t.config, dataset: { ...t.config.dataset, name: 'cifar10' } } } as never,
    noData,
  );
  assert.deepEqual(inputs.classes, [...SYNTHETIC_CLASSES]);
  const x = new Float32Array(32 * 32 * 3);
  trainedDataset(t, '').fillBatch('test', [0], x, new Int32Array(1));
  const png = new PNG({ width: 32, height: 32 });
  for (let i = 0; i < 1024; i++)
    for (let c = 0; c < 4; c++) png.data[i * 4 + c] = c === 3 ? 255 : Math.round(x[i * 3 + c]! * 255);
  writeFileSync(join(out, 'grating.png'), PNG.sync.write(png));
  const [pred] = await predictTrained(t, inputs, readImages([join(out, 'grating.png')]), 'wasm');
  assert.ok(SYNTHETIC_CLASSES.includes(pred!.top[0]!.name), `${pred!.top[0]!.name} is a name of the run's classes`);
  const dir = join(out, 'export-no-data');
  await exportTfjs(t, inputs, dir);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'preprocessing.json'), 'utf8')).classes, [...SYNTHETIC_CLASSES]);
});

test('with --normalize the checkpoint carries the training mean and std; an older checkpoint loads its data only then', async () => {
  const run = await train(
    testConfig({ maxSteps: 2, dataset: { ...testConfig().dataset, normalize: true } as never }),
    1,
  );
  const t = openTrained(run.out);
  const stats = trainedDataset(t, '').channelStats()!;
  assert.deepEqual(t.inputs, { classes: [...SYNTHETIC_CLASSES], mean: stats.mean, std: stats.std });
  const older = { ...t, inputs: null };
  assert.deepEqual(await trainedInputs(older, async () => trainedDataset(t, '')), t.inputs);
  await assert.rejects(trainedInputs(older, noData), /the dataset was loaded/);
  const plain = openTrained((await trained).out);
  assert.deepEqual(await trainedInputs({ ...plain, inputs: null }, noData), { classes: [...SYNTHETIC_CLASSES] });
});
