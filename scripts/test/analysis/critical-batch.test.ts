import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '@dtrain/common';
import { bestPoints, criticalBatch, fitCriticalBatch, type LrCell } from '../../src/analysis/critical-batch.js';

const S_MIN = 800;
const B_CRIT = 250;
const curve = (b: number) => S_MIN * (1 + B_CRIT / b);

test('the fit recovers S_min and B_crit from exact points of S(B) = S_min (1 + B_crit / B)', () => {
  const fit = fitCriticalBatch([16, 64, 256, 1024, 4096].map((batchSize) => ({ batchSize, steps: curve(batchSize) })))!;
  assert.ok(Math.abs(fit.sMin - S_MIN) < 1e-6 && Math.abs(fit.bCrit - B_CRIT) < 1e-6, JSON.stringify(fit));
  assert.equal(fitCriticalBatch([{ batchSize: 64, steps: 100 }]), null, 'one batch size: nothing to fit');
  assert.equal(
    fitCriticalBatch([
      { batchSize: 16, steps: 100 },
      { batchSize: 64, steps: 400 },
    ]),
    null,
    'steps growing with the batch is not this curve',
  );
});

test('on noisy synthetic sweeps (3 seeds, 5 learning rates) the bootstrap interval holds the true B_crit', () => {
  const rng = new Rng(5);
  const cells: LrCell[] = [];
  for (const batchSize of [16, 32, 64, 128, 256, 512, 1024]) {
    for (const [i, lr] of [0.01, 0.02, 0.05, 0.1, 0.2].entries()) {
      const penalty = 1 + 0.3 * Math.abs(i - 2); // the middle learning rate is best
      const seedSteps = [0, 1, 2].map(() => curve(batchSize) * penalty * Math.exp(0.08 * rng.normal()));
      cells.push({ batchSize, lr, seedSteps });
    }
  }
  const r = criticalBatch(cells, 400, 3)!;
  assert.ok(r.interval && r.interval[0] < B_CRIT && B_CRIT < r.interval[1], JSON.stringify(r));
  assert.ok(Math.abs(r.bCrit - B_CRIT) / B_CRIT < 0.25, `B_crit ${r.bCrit}`);
  assert.deepEqual(criticalBatch(cells, 400, 3), r, 'deterministic in its seed');
  assert.equal(r.points.length, 7);
});

test('the best point per batch size: fewest median steps over learning rates; never-reached cells do not count', () => {
  const cells: LrCell[] = [
    { batchSize: 64, lr: 0.1, seedSteps: [100, 300, 200] },
    { batchSize: 64, lr: 0.2, seedSteps: [150, 160, Infinity] },
    { batchSize: 128, lr: 0.1, seedSteps: [Infinity, Infinity, 50] },
  ];
  assert.deepEqual(bestPoints(cells), [{ batchSize: 64, steps: 160 }]);
});
