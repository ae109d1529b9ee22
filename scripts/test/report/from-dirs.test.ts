import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { TrainerError } from '@dtrain/common';
import { writePartialSweepReport, writeReport } from '../../src/report/from-dirs.js';
import { runRecords, summary } from '../experiment/fixtures.js';
import { tempDir } from '../integration/harness.js';

function fakeRun(root: string, name: string, speed: number): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'metrics.jsonl'),
    runRecords(30, speed)
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary(0.6)));
  return dir;
}

test("dtrain report overlays the runs given, links each one's report and refreshes it", () => {
  const root = tempDir('report-cmd');
  const dirs = [fakeRun(root, 'sgd', 1), fakeRun(root, 'momentum', 1.2)];
  const out = writeReport(dirs, join(root, 'both.html'), 'two runs');
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<title>two runs<\/title>/);
  assert.match(html, /href="momentum\/report.html"/);
  assert.equal((html.match(/<canvas /g) ?? []).length, 3);
  assert.ok(dirs.every((d) => existsSync(join(d, 'report.html'))));
});

test('an archived run (metrics.jsonl.gz, as bench/archive-run.mjs leaves it) is a run too', () => {
  const dir = fakeRun(tempDir('archived'), 'old', 1);
  writeFileSync(join(dir, 'metrics.jsonl.gz'), gzipSync(readFileSync(join(dir, 'metrics.jsonl'))));
  rmSync(join(dir, 'metrics.jsonl'));
  const html = readFileSync(writeReport([dir], join(dir, '..', 'one.html'), 'one run'), 'utf8');
  assert.equal((html.match(/<canvas /g) ?? []).length, 3);
});

test('a directory that is not a run is refused by name', () => {
  assert.throws(
    () => writeReport([tempDir('empty')], 'x.html', 't'),
    (e: unknown) =>
      e instanceof TrainerError && /is not a run directory \(no metrics.jsonl, nor an archived .gz\)/.test(e.message),
  );
});

test("dtrain report --sweep rebuilds a sweep's report from its finished runs; an empty directory is refused", () => {
  const root = tempDir('partial-sweep');
  for (const [name, speed] of [
    ['b32-sgd-lr0.1-s1', 1],
    ['b64-sgd-lr0.1-s1', 1.2],
  ] as const) {
    const dir = fakeRun(root, name, speed);
    const s = {
      ...summary(0.6),
      config: {
        dataset: {
          name: 'synthetic',
          trainSize: 640,
          testSize: 100,
          seed: 1,
          valFraction: 0.2,
          normalize: false,
          augment: false,
        },
        epochs: 2,
        maxSteps: 0,
        batchSize: name.startsWith('b32') ? 32 : 64,
        lr: 0.1,
        seed: 1,
        scaling: 'none',
        baseBatchSize: 32,
        warmupSteps: 0,
        schedule: 'constant',
        stopAtValAccuracy: 0.3,
        optimizer: { momentum: 0, nesterov: false, form: 'pytorch' },
      },
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(s));
  }
  mkdirSync(join(root, 'unfinished'));
  const report = writePartialSweepReport(root);
  assert.match(readFileSync(report, 'utf8'), /<title>dtrain sweep \(2 finished runs\)<\/title>/);
  const best = readFileSync(join(root, 'best.csv'), 'utf8').trim().split('\n');
  assert.equal(best.length, 3, best.join('\n'));
  writePartialSweepReport(root, undefined, [0.3, 0.35]);
  const critical = readFileSync(join(root, 'critical-batch.csv'), 'utf8').trim().split('\n');
  assert.equal(critical.length, 3, 'one row per optimizer x target');
  assert.match(critical[0]!, /optimizer,target,batchSizes,sMin,bCrit,bCritLow,bCritHigh,bSimpleNearTarget/);
  assert.throws(() => writePartialSweepReport(tempDir('empty-sweep')), /holds no finished sweep run/);
  // a study's plan: cells no run covered are marked in the table and the figure
  const plan = { cells: [16, 32, 64, 128].map((batchSize) => ({ batchSize, optimizer: 'sgd none w0 constant' })) };
  writeFileSync(join(root, 'plan.json'), JSON.stringify(plan));
  const html = readFileSync(writePartialSweepReport(root), 'utf8');
  const [head, ...rows] = readFileSync(join(root, 'best.csv'), 'utf8').trim().split('\n');
  const steps = head!.split(',').indexOf('stepsToTarget');
  assert.deepEqual(
    rows.map((r) => [r.split(',')[0], r.split(',')[steps]]),
    [
      ['16', 'not run (budget)'],
      ['32', rows[1]!.split(',')[steps]],
      ['64', rows[2]!.split(',')[steps]],
      ['128', 'not run (budget)'],
    ],
  );
  assert.ok(rows.slice(1, 3).every((r) => r.split(',')[steps] !== 'not run (budget)'));
  assert.match(html, /SGD: planned, not run \(budget\)/);
  writeFileSync(join(root, 'plan.json'), '{"cells": [{"batchSize": 0}]}');
  assert.throws(() => writePartialSweepReport(root), /plan.json: cell 0 needs a whole batchSize >= 1/);
});
