import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NoiseScaleTracker, noiseEstimate, Rng, shardSmallBatches, sumSquares } from '@dtrain/common';

/** Mean estimates over many steps of per-example gradients g = G + sigma * z, z ~ N(0, I), cut into shards of `sizes`. */
function estimate(sizes: number[], trials: number) {
  const d = 40;
  const sigma = 0.5;
  const rng = new Rng(11);
  const G = Float32Array.from({ length: d }, () => rng.uniform(-0.3, 0.3));
  const total = sizes.reduce((a, b) => a + b, 0);
  let gSum = 0;
  let sSum = 0;
  const tracker = new NoiseScaleTracker(0.99);
  let bSimple: number | null = null;
  for (let t = 0; t < trials; t++) {
    const shards = sizes.map((count) => {
      const grad = new Float32Array(d);
      for (let e = 0; e < count; e++) for (let i = 0; i < d; i++) grad[i] = grad[i]! + G[i]! + sigma * rng.normal();
      return { count, grad };
    });
    const mean = new Float32Array(d);
    for (const s of shards) for (let i = 0; i < d; i++) mean[i] = mean[i]! + s.grad[i]! / total;
    const small = shardSmallBatches(shards.map((s) => ({ count: s.count, sumSq: sumSquares(s.grad) })));
    const e = noiseEstimate(small, total, sumSquares(mean))!;
    gSum += e.gradNormSq;
    sSum += e.traceSigma;
    bSimple = tracker.update(e);
  }
  const trueG = G.reduce((a, v) => a + v * v, 0);
  return { g: gSum / trials, s: sSum / trials, bSimple, trueG, trueS: d * sigma * sigma };
}

test('two-batch estimators recover |G|^2 and tr(Sigma) on synthetic per-example gradients', () => {
  const r = estimate([8, 8, 8, 8], 400);
  assert.ok(Math.abs(r.g - r.trueG) / r.trueG < 0.15, `|G|^2 ${r.g} vs ${r.trueG}`);
  assert.ok(Math.abs(r.s - r.trueS) / r.trueS < 0.05, `tr(S) ${r.s} vs ${r.trueS}`);
  assert.ok(
    r.bSimple !== null && Math.abs(r.bSimple - r.trueS / r.trueG) / (r.trueS / r.trueG) < 0.3,
    `B_simple ${r.bSimple} vs ${r.trueS / r.trueG}`,
  );
});

test('shards of unequal sizes (uneven batches, --balance speed) give unbiased estimates too', () => {
  const r = estimate([4, 12, 6, 10], 400);
  assert.ok(Math.abs(r.g - r.trueG) / r.trueG < 0.15, `|G|^2 ${r.g} vs ${r.trueG}`);
  assert.ok(Math.abs(r.s - r.trueS) / r.trueS < 0.05, `tr(S) ${r.s} vs ${r.trueS}`);
});

test('no estimate from a single shard', () => {
  assert.equal(noiseEstimate(shardSmallBatches([{ count: 4, sumSq: 1 }]), 4, 1), null);
});
