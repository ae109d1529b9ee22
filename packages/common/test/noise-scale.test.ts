import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noiseEstimate, NoiseScaleTracker, Rng } from '@dtrain/common';

test('two-batch estimators recover |G|^2 and tr(Sigma) on synthetic per-example gradients', () => {
  // per-example gradient g = G + sigma * z, z ~ N(0, I): |G|^2 = sum G_i^2, tr(Sigma) = d * sigma^2
  const d = 40;
  const sigma = 0.5;
  const rng = new Rng(11);
  const G = Float32Array.from({ length: d }, () => rng.uniform(-0.3, 0.3));
  const trueG = G.reduce((a, v) => a + v * v, 0);
  const trueS = d * sigma * sigma;
  let gSum = 0;
  let sSum = 0;
  const trials = 400;
  const tracker = new NoiseScaleTracker(0.99);
  let bSimple: number | null = null;
  for (let t = 0; t < trials; t++) {
    const shards = [0, 1, 2, 3].map(() => {
      const grad = new Float32Array(d);
      for (let e = 0; e < 8; e++) for (let i = 0; i < d; i++) grad[i] = grad[i]! + G[i]! + sigma * rng.normal();
      return { count: 8, grad };
    });
    const mean = new Float32Array(d);
    for (const s of shards) for (let i = 0; i < d; i++) mean[i] = mean[i]! + s.grad[i]! / 32;
    const e = noiseEstimate(shards, mean)!;
    gSum += e.gradNormSq;
    sSum += e.traceSigma;
    bSimple = tracker.update(e);
  }
  assert.ok(Math.abs(gSum / trials - trueG) / trueG < 0.15, `|G|^2 ${gSum / trials} vs ${trueG}`);
  assert.ok(Math.abs(sSum / trials - trueS) / trueS < 0.05, `tr(S) ${sSum / trials} vs ${trueS}`);
  assert.ok(bSimple !== null && Math.abs(bSimple - trueS / trueG) / (trueS / trueG) < 0.3, `B_simple ${bSimple} vs ${trueS / trueG}`);
});

test('no estimate from a single shard or unequal shards', () => {
  assert.equal(noiseEstimate([{ count: 4, grad: new Float32Array(2) }], new Float32Array(2)), null);
  assert.equal(noiseEstimate([{ count: 4, grad: new Float32Array(2) }, { count: 5, grad: new Float32Array(2) }], new Float32Array(2)), null);
});
