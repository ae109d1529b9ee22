// Experiments: plans, steps-to-target, back-to-back runs on one pool of workers (no restarts), resume.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateOptimizer } from '@dtrain/common';
import type { MetricRecord } from '@dtrain/coordinator';
import { lrGrid, momentumPlan, sweepPlan } from '../../src/experiment/plans.js';
import { resumable, runPlan, toTarget } from '../../src/experiment/run-plan.js';
import { writeSweepReport } from '../../src/report/sweep-report.js';
import { startRun, tempDir, testConfig, train, worker } from '../integration/harness.js';

test('the momentum plan has plain SGD and each (form, mu), named clearly', () => {
  const plan = momentumPlan(testConfig(), [0.9, 0.99], ['keras', 'ema'], true);
  assert.deepEqual(
    plan.map((r) => r.name),
    [
      'sgd',
      'momentum-keras-0.9',
      'momentum-keras-0.9-nesterov',
      'momentum-keras-0.99',
      'momentum-keras-0.99-nesterov',
      'momentum-ema-0.9',
      'momentum-ema-0.9-nesterov',
      'momentum-ema-0.99',
      'momentum-ema-0.99-nesterov',
    ],
  );
  assert.equal(plan[0]!.config.optimizer.momentum, 0);
  assert.equal(plan[5]!.config.optimizer.form, 'ema');
});

test('the sweep grid crosses every axis once (plain SGD ignores momentum)', () => {
  const plan = sweepPlan(testConfig(), {
    batchSizes: [32, 64],
    optimizers: ['sgd', 'momentum'],
    momenta: [0.9, 0.95],
    scalings: ['none', 'linear'],
    warmups: [0],
    schedules: ['constant'],
    lrs: [0.05],
    seeds: [1, 2],
  });
  assert.equal(plan.length, 2 * (1 + 2) * 2 * 2);
  assert.equal(new Set(plan.map((r) => r.name)).size, plan.length);
  const r = plan.find((p) => p.name === 'b64-momentum0.95-linear-w0-constant-lr0.05-s2')!;
  assert.equal(r.config.batchSize, 64);
  assert.equal(r.config.scaling, 'linear');
  assert.equal(r.config.seed, 2);
});

test('the sweep takes every optimizer: --momenta for momentum, nesterov and lars; adam-family named, no momentum', () => {
  const base = testConfig();
  const plan = sweepPlan(
    { ...base, optimizer: { ...base.optimizer, beta1: 0.8, trustCoefficient: 0.002 } },
    {
      batchSizes: [64],
      optimizers: ['sgd', 'nesterov', 'adamw', 'lars'],
      momenta: [0.9, 0.95],
      scalings: ['none'],
      warmups: [0],
      schedules: ['constant'],
      lrs: [0.01],
      seeds: [1],
    },
  );
  assert.deepEqual(
    plan.map((r) => r.name.split('-')[1]),
    ['sgd', 'nesterov0.9', 'nesterov0.95', 'adamw', 'lars0.9', 'lars0.95'],
  );
  const opt = (name: string) => plan.find((r) => r.name.split('-')[1] === name)!.config.optimizer;
  assert.equal(opt('sgd').kind, undefined, 'sgd-family keeps the kind implicit, as sweeps before --optimizer did');
  assert.equal(opt('nesterov0.95').nesterov, true);
  assert.deepEqual([opt('adamw').kind, opt('adamw').momentum, opt('adamw').beta1], ['adamw', 0, 0.8]);
  assert.deepEqual(
    [opt('lars0.95').kind, opt('lars0.95').momentum, opt('lars0.95').trustCoefficient],
    ['lars', 0.95, 0.002],
  );
  assert.deepEqual(
    [opt('sgd').beta1, opt('lars0.9').beta1, opt('adamw').trustCoefficient],
    [undefined, undefined, undefined],
  );
  for (const r of plan) validateOptimizer(r.config.optimizer);
});

test('steps, examples, epochs and seconds to target: the crossing interpolated between validation evaluations', () => {
  const recs = [
    { type: 'step', step: 1, stepMs: 100 },
    { type: 'eval', split: 'val', step: 1, epoch: 0.5, accuracy: 0.3 },
    { type: 'step', step: 2, stepMs: 100 },
    { type: 'eval', split: 'test', step: 2, epoch: 1, accuracy: 0.9 },
    { type: 'eval', split: 'val', step: 2, epoch: 1, accuracy: 0.6 },
    { type: 'eval', split: 'val', step: 3, epoch: 1.5, accuracy: 0.7 },
  ] as unknown as MetricRecord[];
  // 0.5 lies 2/3 of the way from 0.3 (step 1, epoch 0.5, 0.1 s) to 0.6 (step 2, epoch 1, 0.2 s)
  const t = toTarget(recs, 0.5, 32);
  assert.equal(t.bestValAccuracy, 0.7);
  for (const [got, want] of [
    [t.stepsToTarget, 1 + 2 / 3],
    [t.examplesToTarget, 32 * (1 + 2 / 3)],
    [t.epochsToTarget, 0.5 + (2 / 3) * 0.5],
    [t.secondsToTarget, 0.1 + (2 / 3) * 0.1],
  ])
    assert.ok(Math.abs(got! - want!) < 1e-9, `${got} vs ${want}`);
  assert.equal(toTarget(recs, 0.3, 32).stepsToTarget, 1, 'reached at the first evaluation: that step');
  assert.equal(toTarget(recs, 0.7, 32).stepsToTarget, 3, 'reached exactly at an evaluation: its step');
  assert.equal(toTarget(recs, 0.8, 32).stepsToTarget, null);
});

test('runs go back to back on one pool of workers, and a finished sweep is skipped on resume', async () => {
  const out = tempDir('sweep');
  const plan = sweepPlan(testConfig({ maxSteps: 3, workers: 2, minWorkers: 2, evalEvery: 3 }), {
    batchSizes: [16, 32],
    optimizers: ['momentum'],
    momenta: [0.9],
    scalings: ['none'],
    warmups: [0],
    schedules: ['constant'],
    lrs: [0.05],
    seeds: [1],
  });
  const pool = {
    host: '127.0.0.1',
    port: 0,
    token: undefined,
    cifarDir: '',
    waitTimeoutMs: 20_000,
    log: () => undefined,
  };
  let workers: Awaited<ReturnType<typeof worker>>[] = [];
  const outcomes = await runPlan(plan, out, 0.05, pool, {
    onPoolReady: (port) =>
      void Promise.all([worker(`ws://127.0.0.1:${port}`, 'a'), worker(`ws://127.0.0.1:${port}`, 'b')]).then(
        (w) => (workers = w),
      ),
  });
  assert.deepEqual(
    outcomes.map((o) => [o.summary.status, o.summary.steps, o.skipped]),
    [
      ['completed', 3, false],
      ['completed', 3, false],
    ],
  );
  const results = await Promise.all(workers.map((w) => w.done));
  assert.deepEqual(
    results.map((r) => r.steps),
    [6, 6],
    'each worker served both runs without restarting',
  );
  const again = await runPlan(plan, out, 0.05, pool);
  assert.ok(again.every((o) => o.skipped));
  const report = writeSweepReport(out, 'test sweep', outcomes, 0.05);
  const html = readFileSync(report, 'utf8');
  assert.match(html, /new Chart/);
  assert.equal((html.match(/<canvas /g) ?? []).length, 3);
  assert.ok(
    existsSync(join(out, 'results.csv')) && existsSync(join(out, 'results.json')) && existsSync(join(out, 'best.csv')),
  );
  assert.equal(readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').length, 3);
});

test('an interrupted sweep continues its current run from the newest checkpoint instead of redoing it', async () => {
  const out = tempDir('sweep-resume');
  const [run] = sweepPlan(testConfig({ maxSteps: 6, workers: 1, minWorkers: 1, evalEvery: 1000, checkpointEvery: 3 }), {
    batchSizes: [16],
    optimizers: ['momentum'],
    momenta: [0.9],
    scalings: ['none'],
    warmups: [0],
    schedules: ['constant'],
    lrs: [0.05],
    seeds: [1],
  });
  // the first attempt stops after step 3 (as a killed sweep leaves it: checkpoint at 3, no summary of a finished run)
  const first = await startRun(run!.config, { out: join(out, run!.name) });
  first.coord.on('step', (r) => r.step === 3 && first.coord.stop('the sweep was killed'));
  const firstDone = first.run();
  const w1 = await worker(first.url, 'first');
  assert.equal((await firstDone).status, 'stopped');
  await w1.done;
  const pool = {
    host: '127.0.0.1',
    port: 0,
    token: undefined,
    cifarDir: '',
    waitTimeoutMs: 20_000,
    log: () => undefined,
  };
  let w: Awaited<ReturnType<typeof worker>> | null = null;
  const [o] = await runPlan([run!], out, 0.05, pool, {
    onPoolReady: (port) => void worker(`ws://127.0.0.1:${port}`, 'a').then((x) => (w = x)),
  });
  assert.equal(o!.summary.status, 'completed');
  assert.equal(o!.summary.resumedFrom?.endsWith('step-00000003'), true, String(o!.summary.resumedFrom));
  assert.equal((await w!.done).steps, 3, 'only steps 4..6 were computed again');
});

test('diverging and stalled points of a sweep are recorded as such and the others still run', async () => {
  const out = tempDir('diverge');
  const base = testConfig({ maxSteps: 4, workers: 2, minWorkers: 2, evalEvery: 1000 });
  const plan = [
    { name: 'huge-lr', config: { ...base, lr: 1e20 }, labels: { lr: 1e20 } },
    {
      name: 'tiny-lr',
      config: { ...base, lr: 1e-30, maxSteps: 0, epochs: 3, evalEvery: 4, patienceEpochs: 1 },
      labels: { lr: 1e-30 },
    },
    { name: 'fine', config: base, labels: { lr: base.lr } },
  ];
  const pool = {
    host: '127.0.0.1',
    port: 0,
    token: undefined,
    cifarDir: '',
    waitTimeoutMs: 20_000,
    log: () => undefined,
  };
  let workers: Awaited<ReturnType<typeof worker>>[] = [];
  const outcomes = await runPlan(plan, out, 0.05, pool, {
    onPoolReady: (port) =>
      void Promise.all([worker(`ws://127.0.0.1:${port}`, 'a'), worker(`ws://127.0.0.1:${port}`, 'b')]).then(
        (w) => (workers = w),
      ),
  });
  await Promise.all(workers.map((w) => w.done));
  assert.deepEqual(
    outcomes.map((o) => o.summary.status),
    ['diverged', 'stalled', 'completed'],
  );
  assert.match(
    outcomes[0]!.summary.error ?? '',
    /training diverged at step \d+ \(lr 1\.00e\+20\)[\s\S]*hint: lower --lr/,
  );
  const again = await runPlan(plan, out, 0.05, { ...pool, waitTimeoutMs: 500 });
  assert.ok(
    again.every((o) => o.skipped),
    'diverged and stalled runs are outcomes: not redone on resume',
  );
});

test('an interrupted run continues under other operational settings (checkpointing, --patience), not under another lr', async () => {
  const cfg = testConfig({ maxSteps: 3, workers: 2, minWorkers: 2 });
  const { out } = await train(cfg, 2);
  const r = resumable(out, { ...cfg, checkpointSeconds: 60, patienceEpochs: 4 });
  assert.equal(r?.dir, out);
  assert.equal(r?.overrides.checkpointSeconds, 60);
  assert.equal(r?.overrides.patienceEpochs, 4);
  assert.equal(r?.overrides.keepCheckpoints, 0, 'a setting the plan does not give is switched off');
  assert.equal(resumable(out, { ...cfg, lr: 0.1 }), null);
  assert.equal(resumable(tempDir('empty'), cfg), null);
});

test('the learning-rate grid: a list, a geometric range, or --lr alone; bad grids are refused naming the flag', () => {
  assert.deepEqual(lrGrid('0.1,0.01,0.03', undefined, 0.5), [0.01, 0.03, 0.1]);
  assert.deepEqual(lrGrid(undefined, '0.001,0.1,3', 0.5), [0.001, 0.01, 0.1]);
  assert.deepEqual(lrGrid(undefined, '0.003,0.3,5', 0.5), [0.003, 0.00949, 0.03, 0.0949, 0.3]);
  assert.deepEqual(lrGrid(undefined, undefined, 0.5), [0.5]);
  const refused: [string | undefined, string | undefined, RegExp][] = [
    ['0.1,abc', undefined, /--lrs: "abc" is not a number/],
    ['0,0.1', undefined, /--lrs: learning rate 0 is not in/],
    [undefined, '0.1,0.01,3', /--lr-range "0.1,0.01,3" is not MIN,MAX,N/],
    [undefined, '0.01,0.1', /is not MIN,MAX,N/],
    [undefined, '0.01,0.1,1', /is not MIN,MAX,N/],
    ['0.1', '0.01,0.1,3', /--lrs and --lr-range both given/],
  ];
  for (const [lrs, range, re] of refused) assert.throws(() => lrGrid(lrs, range, 0.1), re, `${lrs} ${range}`);
});

test('sweep runs are named and configured by their learning rate', () => {
  const plan = sweepPlan(testConfig(), {
    batchSizes: [32],
    optimizers: ['sgd'],
    momenta: [0.9],
    scalings: ['none'],
    warmups: [0],
    schedules: ['constant'],
    lrs: [0.01, 0.1],
    seeds: [1],
  });
  assert.deepEqual(
    plan.map((r) => [r.name, r.config.lr, r.labels['lr']]),
    [
      ['b32-sgd-none-w0-constant-lr0.01-s1', 0.01, 0.01],
      ['b32-sgd-none-w0-constant-lr0.1-s1', 0.1, 0.1],
    ],
  );
});
