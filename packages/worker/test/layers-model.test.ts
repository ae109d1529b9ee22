import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildManifest,
  getModelSpec,
  initWeights,
  paramCount,
  specFromLayersJson,
  syntheticDataset,
  TrainerError,
} from '@dtrain/common';
import { Network, saveLayersModel, selectBackend, toLayersModel, WEIGHTS_FILE } from '@dtrain/worker';
import * as tfjs from '@tensorflow/tfjs';

test('the tiny CNN as a LayersModel holds the flat weights in manifest order and saves model.json + weights', async () => {
  await selectBackend('wasm');
  const spec = getModelSpec('tiny-cnn');
  const n = paramCount(buildManifest(spec));
  const flat = Float32Array.from({ length: n }, (_, i) => (i % 97) / 97);
  const model = toLayersModel(spec, flat);
  const back = new Float32Array(model.getWeights().flatMap((w) => [...(w.dataSync() as Float32Array)]));
  assert.deepEqual(back, flat);
  const dir = mkdtempSync(join(tmpdir(), 'layers-'));
  await saveLayersModel(model, dir);
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    format: string;
    weightsManifest: { paths: string[] }[];
  };
  assert.equal(json.format, 'layers-model');
  assert.deepEqual(json.weightsManifest[0]!.paths, [WEIGHTS_FILE]);
  assert.equal(readFileSync(join(dir, WEIGHTS_FILE)).length, 4 * n);
  assert.ok(existsSync(join(dir, 'model.json')));
  model.dispose();
});

test('weights of another size are refused by name', async () => {
  await selectBackend('wasm');
  const spec = getModelSpec('tiny-cnn');
  assert.throws(
    () => toLayersModel(spec, new Float32Array(paramCount(buildManifest(spec)) - 1)),
    (e: unknown) =>
      e instanceof TrainerError &&
      e.code === 'ERR_SHAPE_MISMATCH' &&
      /tiny-cnn has 18234 parameters; the weights given have 18233/.test(e.message),
  );
});

test('a residual network exports as a functional LayersModel: loaded back, its logits are the evaluation logits', async () => {
  await selectBackend('wasm');
  const spec = getModelSpec('resnet8');
  const manifest = buildManifest(spec);
  const flat = initWeights(manifest, 4);
  for (const p of manifest) {
    // running statistics and scales away from their initial 0 and 1, so a misplaced tensor shows
    if (p.name.endsWith('/moving_mean') || p.name.endsWith('/beta'))
      for (let i = 0; i < p.length; i++) flat[p.offset + i] = 0.05 * Math.sin(i);
    if (p.name.endsWith('/moving_variance') || p.name.endsWith('/gamma'))
      for (let i = 0; i < p.length; i++) flat[p.offset + i] = 1 + 0.3 * Math.cos(i);
  }
  const model = toLayersModel(spec, flat);
  const dir = mkdtempSync(join(tmpdir(), 'layers-'));
  await saveLayersModel(model, dir);
  model.dispose();
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bytes = readFileSync(join(dir, WEIGHTS_FILE));
  const loaded = await tfjs.loadLayersModel(
    tfjs.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
    }),
  );
  const classNames = loaded.layers.map((l) => l.getClassName());
  for (const c of ['BatchNormalization', 'Add', 'GlobalAveragePooling2D', 'Conv2D', 'Dense'])
    assert.ok(classNames.includes(c), c);
  const ds = syntheticDataset({ trainSize: 50, testSize: 10, seed: 2 }, 0);
  const x = new Float32Array(6 * 3072);
  const y = new Int32Array(6);
  ds.fillBatch('test', [0, 1, 2, 3, 4, 5], x, y);
  const net = new Network(spec);
  net.setWeights(flat);
  const ours = net.probabilities(x, 6);
  const theirs = tfjs.tidy(() =>
    tfjs.softmax(loaded.predict(tfjs.tensor4d(x, [6, 32, 32, 3])) as tfjs.Tensor).dataSync(),
  );
  const worst = Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i]!)));
  assert.ok(worst < 1e-5, `largest probability difference ${worst}`);
  net.disposeParams();
  loaded.dispose();
});

test('what dtrain export writes is a model file dtrain trains: the zoo models read back to their own layers', async () => {
  await selectBackend('wasm');
  for (const name of ['reference-cnn', 'tiny-cnn', 'resnet8', 'resnet18']) {
    const spec = getModelSpec(name);
    const model = toLayersModel(spec, initWeights(buildManifest(spec), 1));
    const dir = mkdtempSync(join(tmpdir(), 'export-'));
    await saveLayersModel(model, dir);
    model.dispose();
    const read = specFromLayersJson(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')), 'model');
    assert.deepEqual(read.layers, spec.layers, name);
    assert.deepEqual([read.inputShape, read.classes, read.bnEpsilon], [spec.inputShape, spec.classes, undefined], name);
  }
});
