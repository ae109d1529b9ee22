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

test('grouped assignments: a node of groups gives the bits of its parts joined along the tree, whoever splits it', async () => {
  await selectBackend('wasm');
  const t = new WorkerTrainer(welcome());
  t.setWeights(0, initWeights(t.net.manifest, 5));
  const indices = Array.from({ length: 20 }, (_, i) => (i * 7) % 64); // 5 groups of 4
  const run = (ix: number[]) => {
    const grad = new Float32Array(t.net.paramCount);
    return { ...t.computeGradient({ ...assign(ix, 1), groupSize: 4 }, grad), grad };
  };
  const whole = run(indices);
  assert.equal(whole.count, 20);
  assert.ok(whole.meanSqSum! > 0);
  // the tree over 5 groups is [0, 4) + [4, 5); a relay or the coordinator joining those two nodes adds them so
  const left = run(indices.slice(0, 16));
  const right = run(indices.slice(16));
  for (let i = 0; i < left.grad.length; i++) left.grad[i] = left.grad[i]! + right.grad[i]!;
  assert.deepEqual(left.grad, whole.grad);
  assert.equal(left.lossSum + right.lossSum, whole.lossSum);
  assert.equal(left.meanSqSum! + right.meanSqSum!, whole.meanSqSum);
  const plain = new Float32Array(t.net.paramCount);
  t.computeGradient(assign(indices, 1), plain);
  assert.ok(
    plain.some((v, i) => v !== whole.grad[i]),
    'one 20-sample pass rounds differently: the test can fail',
  );
  const evaluate = (indices: number[]) =>
    t.evaluate({
      kind: 'evaluate',
      evalId: 1,
      split: 'test',
      shardId: 0,
      indices: Uint32Array.from(indices),
      groupSize: 4,
    });
  const ev = evaluate([...Array(16).keys()]);
  const evLeft = evaluate([0, 1, 2, 3, 4, 5, 6, 7]);
  const evRight = evaluate([8, 9, 10, 11, 12, 13, 14, 15]);
  assert.equal(evLeft.lossSum + evRight.lossSum, ev.lossSum);
  assert.equal(evLeft.correct + evRight.correct, ev.correct);
});
