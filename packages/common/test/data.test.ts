import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syntheticDataset } from '@dtrain/common';

test('the embedded dataset is deterministic, CIFAR-shaped and balanced enough', () => {
  const a = syntheticDataset({ trainSize: 300, testSize: 50, seed: 9 }, 0.2);
  const b = syntheticDataset({ trainSize: 300, testSize: 50, seed: 9 }, 0.2);
  const c = syntheticDataset({ trainSize: 300, testSize: 50, seed: 10 }, 0.2);
  assert.equal(a.fingerprint, b.fingerprint);
  assert.notEqual(a.fingerprint, c.fingerprint);
  assert.equal(a.size('train'), 240);
  assert.equal(a.size('val'), 60);
  assert.equal(a.size('test'), 50);
  const x = new Float32Array(2 * 3072);
  const y = new Int32Array(2);
  a.fillBatch('val', [0, 59], x, y);
  assert.ok(x.every((v) => v >= 0 && v <= 1));
  assert.ok(y.every((v) => v >= 0 && v < 10));
  const counts = new Array(10).fill(0);
  const yy = new Int32Array(240);
  a.fillBatch('train', [...Array(240).keys()], new Float32Array(240 * 3072), yy);
  for (const l of yy) counts[l]++;
  assert.ok(
    counts.every((n) => n > 5),
    `class counts ${counts}`,
  );
});

test('indices outside a split are refused', () => {
  const a = syntheticDataset({ trainSize: 100, testSize: 10, seed: 1 }, 0.2);
  assert.throws(() => a.fillBatch('val', [20], new Float32Array(3072), new Int32Array(1)), /outside the val split/);
});
