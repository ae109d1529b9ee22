// Experiments: plans, steps-to-target, back-to-back runs on one pool of workers (no restarts), resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricRecord } from '@dtrain/coordinator';
import { runPlan, toTarget } from '../../src/experiment/run-plan.js';
import { momentumPlan, sweepPlan } from '../../src/experiment/plans.js';
import { runCharts, sweepCharts, toCsv, writeSweepReport } from '../../src/experiment/report.js';
import { tempDir, testConfig, worker } from '../integration/harness.js';

test('the momentum plan has plain SGD and each (form, mu), named clearly', () => {
  const plan = momentumPlan(testConfig(), [0.9, 0.99], ['keras', 'ema'], true);
  assert.deepEqual(plan.map((r) => r.name), ['sgd', 'momentum-keras-0.9', 'momentum-keras-0.9-nesterov', 'momentum-keras-0.99', 'momentum-keras-0.99-nesterov', 'momentum-ema-0.9', 'momentum-ema-0.9-nesterov', 'momentum-ema-0.99', 'momentum-ema-0.99-nesterov']);
  assert.equal(plan[0]!.config.optimizer.momentum, 0);
  assert.equal(plan[5]!.config.optimizer.form, 'ema');
});

test('the sweep grid crosses every axis once (plain SGD ignores momentum)', () => {
  const plan = sweepPlan(testConfig(), { batchSizes: [32, 64], optimizers: ['sgd', 'momentum'], momenta: [0.9, 0.95], scalings: ['none', 'linear'], warmups: [0], schedules: ['constant'], seeds: [1, 2] });
  assert.equal(plan.length, 2 * (1 + 2) * 2 * 2);
  assert.equal(new Set(plan.map((r) => r.name)).size, plan.length);
  const r = plan.find((p) => p.name === 'b64-momentum0.95-linear-w0-constant-s2')!;
  assert.equal(r.config.batchSize, 64);
  assert.equal(r.config.scaling, 'linear');
  assert.equal(r.config.seed, 2);
});

test('steps, examples and seconds to target come from the first validation eval at the target', () => {
  const recs = [
    { type: 'step', step: 1, stepMs: 100 }, { type: 'eval', split: 'val', step: 1, epoch: 0.5, accuracy: 0.3 },
    { type: 'step', step: 2, stepMs: 100 }, { type: 'eval', split: 'test', step: 2, epoch: 1, accuracy: 0.9 },
    { type: 'eval', split: 'val', step: 2, epoch: 1, accuracy: 0.6 }, { type: 'eval', split: 'val', step: 3, epoch: 1.5, accuracy: 0.7 },
  ] as unknown as MetricRecord[];
  assert.deepEqual(toTarget(recs, 0.5, 32), { bestValAccuracy: 0.7, stepsToTarget: 2, examplesToTarget: 64, epochsToTarget: 1, secondsToTarget: 0.2 });
  assert.equal(toTarget(recs, 0.8, 32).stepsToTarget, null);
});

test('runs go back to back on one pool of workers, and a finished sweep is skipped on resume', async () => {
  const out = tempDir('sweep');
  const plan = sweepPlan(testConfig({ maxSteps: 3, workers: 2, minWorkers: 2, evalEvery: 3 }), { batchSizes: [16, 32], optimizers: ['momentum'], momenta: [0.9], scalings: ['none'], warmups: [0], schedules: ['constant'], seeds: [1] });
  const pool = { host: '127.0.0.1', port: 0, token: undefined, cifarDir: '', waitTimeoutMs: 20_000, log: () => undefined };
  let workers: Awaited<ReturnType<typeof worker>>[] = [];
  const outcomes = await runPlan(plan, out, 0.05, pool, {
    onPoolReady: (port) => void Promise.all([worker(`ws://127.0.0.1:${port}`, 'a'), worker(`ws://127.0.0.1:${port}`, 'b')]).then((w) => (workers = w)),
  });
  assert.deepEqual(outcomes.map((o) => [o.summary.status, o.summary.steps, o.skipped]), [['completed', 3, false], ['completed', 3, false]]);
  const results = await Promise.all(workers.map((w) => w.done));
  assert.deepEqual(results.map((r) => r.steps), [6, 6], 'each worker served both runs without restarting');
  const again = await runPlan(plan, out, 0.05, pool);
  assert.ok(again.every((o) => o.skipped));
  const report = writeSweepReport(out, 'test sweep', outcomes, 0.05, (o) => String(o.labels['optimizer']));
  const html = readFileSync(report, 'utf8');
  assert.match(html, /Chart\.register|new Chart/);
  assert.equal((html.match(/<canvas /g) ?? []).length, 3);
  assert.ok(existsSync(join(out, 'results.csv')) && existsSync(join(out, 'results.json')));
  assert.equal(readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').length, 3);
});

test('chart data: perfect-scaling line from the smallest batch that reached the target', () => {
  const o = (b: number, steps: number | null) => ({ batchSize: b, stepsToTarget: steps, labels: { optimizer: 'm' }, summary: { final: {}, imagesPerSecond: 1 } }) as never;
  const charts = sweepCharts([o(32, 100), o(64, 60), o(128, null)], () => 'm');
  const perfect = charts[0]!.series.find((s) => s.label === 'perfect scaling')!;
  assert.deepEqual(perfect.data, [{ x: 32, y: 100 }, { x: 64, y: 50 }, { x: 128, y: 25 }]);
  assert.equal(runCharts([]).length, 7);
  assert.equal(toCsv([{ a: 1, b: 'x,y' }]), 'a,b\n1,"x,y"\n');
});

test('a diverging point of a sweep is recorded as diverged and the others still run', async () => {
  const out = tempDir('diverge');
  const base = testConfig({ maxSteps: 4, workers: 2, minWorkers: 2, evalEvery: 1000 });
  const plan = [
    { name: 'huge-lr', config: { ...base, lr: 1e20 }, labels: { lr: 1e20 } },
    { name: 'fine', config: base, labels: { lr: base.lr } },
  ];
  const pool = { host: '127.0.0.1', port: 0, token: undefined, cifarDir: '', waitTimeoutMs: 20_000, log: () => undefined };
  let workers: Awaited<ReturnType<typeof worker>>[] = [];
  const outcomes = await runPlan(plan, out, 0.05, pool, {
    onPoolReady: (port) => void Promise.all([worker(`ws://127.0.0.1:${port}`, 'a'), worker(`ws://127.0.0.1:${port}`, 'b')]).then((w) => (workers = w)),
  });
  await Promise.all(workers.map((w) => w.done));
  assert.deepEqual(outcomes.map((o) => o.summary.status), ['diverged', 'completed']);
  assert.match(outcomes[0]!.summary.error ?? '', /training diverged at step \d+ \(lr 1\.00e\+20\)[\s\S]*hint: lower --lr/);
  const again = await runPlan(plan, out, 0.05, { ...pool, waitTimeoutMs: 500 });
  assert.ok(again.every((o) => o.skipped), 'a diverged run is an outcome: not redone on resume');
});
