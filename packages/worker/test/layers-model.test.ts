import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildManifest, getModelSpec, paramCount, TrainerError } from '@dtrain/common';
import { saveLayersModel, selectBackend, toLayersModel, WEIGHTS_FILE } from '@dtrain/worker';

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
