import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildManifest, forwardFlops, getModelSpec, initWeights, modelFingerprint, paramCount } from '@dtrain/common';

test('the reference CNN has 122,570 parameters in a contiguous manifest', () => {
  const m = buildManifest(getModelSpec('reference-cnn'));
  assert.equal(paramCount(m), 122_570);
  assert.deepEqual(
    m.map((p) => p.name),
    [
      'conv2d_1/kernel',
      'conv2d_1/bias',
      'conv2d_2/kernel',
      'conv2d_2/bias',
      'conv2d_3/kernel',
      'conv2d_3/bias',
      'dense_1/kernel',
      'dense_1/bias',
      'dense_2/kernel',
      'dense_2/bias',
    ],
  );
  assert.deepEqual(m[6]!.shape, [1024, 64]);
  let off = 0;
  for (const p of m) {
    assert.equal(p.offset, off);
    off += p.length;
  }
  // conv 1,555,200 + 6,230,016 + 1,179,648; dense 131,072 + 1,280
  assert.equal(forwardFlops(getModelSpec('reference-cnn')), 9_097_216);
});

test('initial weights are a pure function of the seed (Glorot uniform, zero bias)', () => {
  const m = buildManifest(getModelSpec('reference-cnn'));
  const a = initWeights(m, 5);
  assert.deepEqual(a, initWeights(m, 5));
  assert.notDeepEqual(a, initWeights(m, 6));
  const bias = m[1]!;
  assert.ok(a.subarray(bias.offset, bias.offset + bias.length).every((x) => x === 0));
  const k = m[0]!;
  const limit = Math.sqrt(6 / (27 + 9 * 32));
  assert.ok(a.subarray(k.offset, k.offset + k.length).every((x) => Math.abs(x) <= limit));
});

test('fingerprints tell models apart; unknown models are refused', () => {
  assert.notEqual(modelFingerprint(getModelSpec('reference-cnn')), modelFingerprint(getModelSpec('tiny-cnn')));
  assert.throws(() => getModelSpec('resnet-1000'), /unknown model/);
});
