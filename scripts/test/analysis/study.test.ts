import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '@dtrain/common';
import { criticalBatchRows, type StudyRun } from '../../src/analysis/study.js';

/** A run whose validation accuracy rises linearly, crossing `target` at `cross` steps, evaluated every `every`. */
function run(optimizer: string, batchSize: number, lr: number, cross: number, every: number, target: number): StudyRun {
  const evals = [];
  for (let step = every; step <= 3 * cross; step += every) evals.push({ step, accuracy: (target * step) / cross });
  const noise = Array.from({ length: Math.ceil(3 * cross) }, (_, i) => ({ step: i + 1, bSimple: 2 * batchSize + 100 }));
  return { optimizer, batchSize, lr, curves: { evals, noise } };
}

test('per optimizer and target: the fitted B_crit of synthetic curves, its interval, and B_simple near the crossing', () => {
  const rng = new Rng(9);
  const runs: StudyRun[] = [];
  const truth = { sgd: 60, momentum: 300 } as const;
  for (const [optimizer, bCrit] of Object.entries(truth)) {
    for (const batchSize of [16, 32, 64, 128, 256, 512, 1024]) {
      for (const [i, lr] of [0.05, 0.1, 0.2].entries()) {
        for (let seed = 0; seed < 3; seed++) {
          const steps = 500 * (1 + bCrit / batchSize) * (1 + 0.2 * Math.abs(i - 1)) * Math.exp(0.05 * rng.normal());
          runs.push(run(optimizer, batchSize, lr, steps, 7, 0.6));
        }
      }
    }
  }
  const rows = criticalBatchRows(runs, [0.6, 0.3], 300);
  assert.deepEqual(
    rows.map((r) => [r.optimizer, r.target]),
    [
      ['momentum', 0.6],
      ['momentum', 0.3],
      ['sgd', 0.6],
      ['sgd', 0.3],
    ],
  );
  for (const r of rows.filter((x) => x.target === 0.6)) {
    const b = truth[r.optimizer as keyof typeof truth];
    assert.ok(r.bCritLow! < b && b < r.bCritHigh!, `${r.optimizer}: ${r.bCritLow}..${r.bCritHigh} vs ${b}`);
    assert.equal(r.batchSizes, '16 32 64 128 256 512 1024');
  }
  // the crossing is interpolated (evaluations every 7 steps): half the target is crossed at half the steps,
  // so the same B_crit and half the S_min
  const [m6, m3] = [rows[0]!, rows[1]!];
  assert.ok(Math.abs(m3.sMin! / m6.sMin! - 0.5) < 0.02, `${m3.sMin} vs ${m6.sMin}`);
  assert.ok(m6.bSimpleNearTarget! > 100, 'B_simple read around the crossing');
});
