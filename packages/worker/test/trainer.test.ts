import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AssignMsg,
  buildManifest,
  type DatasetSpec,
  getModelSpec,
  initWeights,
  type WelcomeMsg,
} from '@dtrain/common';
import { selectBackend, WorkerTrainer } from '@dtrain/worker';

const DATASET: DatasetSpec = {
  name: 'synthetic',
  trainSize: 64,
  testSize: 16,
  seed: 3,
  valFraction: 0,
  normalize: true,
  augment: true,
};

function welcome(): WelcomeMsg {
  return {
    kind: 'welcome',
    workerId: 1,
    runId: 'r',
    model: 'tiny-cnn',
    modelFingerprint: '',
    manifest: buildManifest(getModelSpec('tiny-cnn')),
    dataset: DATASET,
    datasetFingerprint: '',
    maxShard: 256,
  };
}

const assign = (indices: number[], epoch: number): AssignMsg => ({
  kind: 'assign',
  step: 1,
  version: 0,
  epoch,
  shardId: 0,
  indices: Uint32Array.from(indices),
});

test('a batch prepared before the weights gives the same gradient; another assignment or an evaluation in between does not reuse it', async () => {
  await selectBackend('wasm');
  const t = new WorkerTrainer(welcome());
  t.setWeights(0, initWeights(t.net.manifest, 5));
  const grad = (): Float32Array => new Float32Array(t.net.paramCount);
  const a = assign([3, 1, 4, 15, 9, 2], 2);
  const b = assign([5, 35, 8, 9, 7, 9], 1);
  const plainA = t.computeGradient(a, grad());
  const plainB = t.computeGradient(b, grad());
  assert.notDeepEqual([...plainA.grad], [...plainB.grad]);

  t.prepare(a);
  const preparedA = t.computeGradient(a, grad());
  assert.deepEqual([...preparedA.grad], [...plainA.grad]);
  assert.equal(preparedA.lossSum, plainA.lossSum);

  t.prepare(a);
  assert.deepEqual([...t.computeGradient(b, grad()).grad], [...plainB.grad]);

  t.prepare(a);
  t.evaluate({ kind: 'evaluate', evalId: 1, split: 'test', shardId: 0, indices: Uint32Array.from([0, 1, 2]) });
  assert.deepEqual([...t.computeGradient(a, grad()).grad], [...plainA.grad]);
  t.dispose();
});
