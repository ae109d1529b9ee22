// --model path/model.json: a Keras-converted model file trains like a zoo model: its spec travels in the
// config, the welcome and the checkpoints (no worker and no resume needs the file), batch norm's groups give
// the same bits on any number of workers, and the CLI trains, exports and refuses by layer name.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { specFromLayersJson } from '@dtrain/common';
import { readModelFile } from '@dtrain/common/files';
import { listCheckpoints, readCheckpoint } from '@dtrain/coordinator';
import { CLI_PATH } from '../../src/processes/path.js';
import { tempDir, testConfig, train } from './harness.js';

const example = (name: string) => fileURLToPath(new URL(`../../../../examples/models/${name}`, import.meta.url));
const RESNET = example('keras-resnet8-v1.json');
const sha = (w: Float32Array) => createHash('sha256').update(w).digest('hex');

const config = testConfig({
  model: RESNET,
  modelSpec: readModelFile(RESNET),
  batchSize: 24,
  groupSize: 8,
  maxSteps: 3,
  workers: 1,
});

test('a Keras ResNet file trains with its batch norm on 1 and 3 workers to the same bits; the spec is in config and checkpoint', async () => {
  const one = await train(config, 1);
  const three = await train({ ...config, workers: 3, minWorkers: 3 }, 3);
  assert.equal(one.summary.status, 'completed');
  assert.equal(sha(one.weights), sha(three.weights));
  const ckpt = readCheckpoint(one.out);
  assert.deepEqual(ckpt.state.modelSpec, config.modelSpec);
  assert.deepEqual(JSON.parse(readFileSync(join(one.out, 'config.json'), 'utf8')).modelSpec, config.modelSpec);
  // resumed from its checkpoint alone (the model file is not read again)
  const resumed = await train({ ...config, model: '/nowhere/model.json' }, 1, {
    resume: listCheckpoints(one.out).at(-1)!,
    resumeOverrides: { maxSteps: 4 },
  });
  assert.equal(resumed.summary.status, 'completed');
  assert.equal(readCheckpoint(resumed.out).state.step, 4);
});

const dtrain = (args: string[]) =>
  spawnSync(process.execPath, [CLI_PATH, ...args], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, DTRAIN_CACHE: tempDir('cache') },
  });

test('dtrain launch --model file.json trains; dtrain export writes a model file that reads back to the same layers', () => {
  const out = join(tempDir('cli'), 'run');
  const small = ['--train-size', '200', '--test-size', '20', '--batch-size', '16', '--max-steps', '2'];
  const r = dtrain(['launch', '--workers', '2', '--model', example('keras-cifar-cnn.json'), ...small, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const exported = join(tempDir('export'), 'm');
  const e = dtrain(['export', out, '--out', exported]);
  assert.equal(e.status, 0, e.stderr);
  const back = specFromLayersJson(JSON.parse(readFileSync(join(exported, 'model.json'), 'utf8')), 'm');
  assert.deepEqual(back.layers, readModelFile(example('keras-cifar-cnn.json')).layers);
});

test('a model file that cannot be trained is refused before anything starts: exit 2, the layer and the reason, no stack', () => {
  const json = JSON.parse(readFileSync(example('keras-cifar-cnn.json'), 'utf8'));
  json.modelTopology.model_config.config.layers.splice(7, 0, {
    class_name: 'Dropout',
    config: { name: 'drop', rate: 0.5 },
  });
  const file = join(tempDir('bad'), 'model.json');
  writeFileSync(file, JSON.stringify(json));
  for (const [model, pattern] of [
    [file, /--model .*model\.json: layer "drop" \(Dropout\) cannot be trained: dropout is not implemented/],
    ['/nowhere/model.json', /--model \/nowhere\/model\.json: no such file/],
  ] as const) {
    const r = dtrain(['launch', '--workers', '1', '--model', model]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.match(r.stderr, /hint: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
