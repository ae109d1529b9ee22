import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildManifest,
  forwardFlops,
  getModelSpec,
  hasBatchNorm,
  initWeights,
  isRunningStat,
  modelFingerprint,
  modelSpecOf,
  paramCount,
  trainableCount,
  updateRunningStats,
  withClasses,
} from '@dtrain/common';

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

test("residual networks: the papers' parameter counts, batch-norm statistics after the trained values, FLOPs", () => {
  const counts = Object.fromEntries(
    ['resnet8', 'resnet20', 'resnet56', 'resnet18'].map((m) => {
      const manifest = buildManifest(getModelSpec(m));
      return [m, [trainableCount(manifest), paramCount(manifest)]];
    }),
  );
  // He et al. 2016 Table 6: ResNet-20 0.27M, ResNet-56 0.85M (option A: parameter-free shortcuts); the
  // CIFAR ResNet-18 11.17M; running means and variances (2 x channels per batch norm) after them
  assert.deepEqual(counts, {
    resnet8: [75_290, 75_770],
    resnet20: [269_722, 271_098],
    resnet56: [853_018, 857_082],
    resnet18: [11_173_962, 11_183_562],
  });
  const manifest = buildManifest(getModelSpec('resnet20'));
  const firstStat = manifest.findIndex((p) => isRunningStat(p.name));
  assert.ok(
    manifest.slice(firstStat).every((p) => isRunningStat(p.name)),
    'statistics only at the end',
  );
  assert.equal(manifest.filter((p) => p.name.endsWith('/gamma')).length, 19, '19 batch norms: 6n + 1 convolutions');
  const w = initWeights(manifest, 1);
  const at = (name: string) => w[manifest.find((p) => p.name === name)!.offset];
  assert.deepEqual(
    [
      'batch_normalization_1/gamma',
      'batch_normalization_1/beta',
      'batch_normalization_1/moving_mean',
      'batch_normalization_1/moving_variance',
    ].map(at),
    [1, 0, 0, 1],
  );
  assert.ok(hasBatchNorm(getModelSpec('resnet8')) && !hasBatchNorm(getModelSpec('reference-cnn')));
  assert.equal(trainableCount(buildManifest(getModelSpec('reference-cnn'))), 122_570);
  // 40.55M multiply-adds for ResNet-20 (the commonly cited 41M), 0.56G for the CIFAR ResNet-18
  assert.equal(Math.round(forwardFlops(getModelSpec('resnet20')) / 2e4) / 100, 40.55);
  assert.equal(Math.round(forwardFlops(getModelSpec('resnet18')) / 2e7) / 100, 0.56);
});

test('running statistics follow the moments with PyTorch momentum 0.1', () => {
  const running = Float32Array.of(0, 1);
  updateRunningStats(running, Float32Array.of(2, 3));
  assert.deepEqual([...running], [Math.fround(0.2), Math.fround(1.2)]);
});

test('a zoo model for a dataset of other classes: its last layer that wide (CIFAR-100: 100), fingerprint its own', () => {
  const dataset = {
    name: 'cifar100',
    seed: 1,
    valFraction: 0,
    normalize: false,
    augment: false,
    limitTrain: 0,
    limitTest: 0,
  } as const;
  const spec = modelSpecOf({ model: 'resnet20', dataset });
  assert.equal(spec.classes, 100);
  assert.deepEqual(spec.layers.at(-1), { type: 'dense', units: 100, activation: 'linear' });
  assert.equal(paramCount(buildManifest(spec)) - paramCount(buildManifest(getModelSpec('resnet20'))), 90 * 65);
  assert.notEqual(modelFingerprint(spec), modelFingerprint(getModelSpec('resnet20')));
  const ten = { ...dataset, name: 'cifar10' as const };
  assert.equal(
    modelSpecOf({ model: 'resnet20', dataset: ten }),
    getModelSpec('resnet20'),
    'the same spec where the classes agree',
  );
  assert.equal(withClasses(getModelSpec('tiny-cnn'), 10), getModelSpec('tiny-cnn'));
});
