import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeOnlyRatio, measureComputeOnly } from '../../src/bench/compute-only.js';

test('compute-only ratio: 2 x alone over the slower of the pair; bad times refused', () => {
  assert.equal(computeOnlyRatio(50, [54, 60]).ratio, 1.667); // 2 x 50 / 60 = 1.6667
  assert.equal(computeOnlyRatio(50, [50, 50]).ratio, 2);
  assert.throws(() => computeOnlyRatio(0, [50, 50]), /positive/);
  assert.throws(() => computeOnlyRatio(50, [50, Number.NaN]), /positive/);
});

test('compute-only ratio: measured from real bench compute processes', async () => {
  const c = await measureComputeOnly('tiny-cnn', 'wasm', 8, 3);
  assert.ok(c.aloneMs > 0 && c.pairMs.length === 2 && c.pairMs.every((m) => m > 0), JSON.stringify(c));
  assert.ok(c.ratio > 0 && Number.isFinite(c.ratio), JSON.stringify(c)); // the formula itself: the test above
});
