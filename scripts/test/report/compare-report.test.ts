import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareCharts, compareRows } from '../../src/report/compare-report.js';
import { chartConfig, MAX_POINTS, runCharts, stepSeries } from '../../src/report/run-report.js';
import { runRecords, summary } from '../experiment/fixtures.js';

const runs = [
  { name: 'sgd', dir: '/x/sgd', records: runRecords(30, 1), summary: summary(0.5, { momentum: 0 }) },
  { name: 'momentum-0.9', dir: '/x/m9', records: runRecords(30, 1.2), summary: summary(0.6, { momentum: 0.9 }) },
  { name: 'momentum-0.99', dir: '/x/m99', records: runRecords(30, 1.1), summary: summary(0.55, { momentum: 0.99 }) },
];

test('validation accuracy and loss by epoch, overlaid: one series per run, each its own colour', () => {
  const [acc, loss] = compareCharts(runs);
  assert.equal(acc!.x, 'epoch');
  assert.deepEqual(
    acc!.series.map((s) => s.label),
    ['sgd', 'momentum-0.9', 'momentum-0.99'],
  );
  assert.deepEqual(acc!.series[0]!.data, [
    { x: 1, y: 0.2 + 10 / 60 },
    { x: 2, y: 0.2 + 20 / 60 },
    { x: 3, y: 0.7 },
  ]);
  assert.deepEqual(
    loss!.series[1]!.data.map((p) => p.y),
    [1.25, 1.25, 1.25],
  );
  const colours = chartConfig(acc!).data.datasets.map((d) => d['borderColor']);
  assert.equal(new Set(colours).size, 3);
});

test("the table names each run's optimizer and links its report", () => {
  const rows = compareRows(runs, '/x');
  assert.deepEqual(
    rows.map((r) => r['optimizer']),
    ['sgd', 'momentum 0.9 (pytorch)', 'momentum 0.99 (pytorch)'],
  );
  assert.deepEqual(rows[1]!['run'], { href: 'm9/report.html', text: 'momentum-0.9' });
});

test("a long run's per-step series are drawn as at most MAX_POINTS window means", () => {
  const rows = Array.from({ length: 2500 }, (_, i) => ({ step: i + 1, v: i % 2 }));
  const pts = stepSeries(rows, (r) => r.v);
  assert.equal(pts.length, 834); // windows of 3
  assert.deepEqual(pts[0], { x: 3, y: 1 / 3 });
  assert.equal(stepSeries(rows.slice(0, 10), (r) => r.v).length, 10);
  assert.ok(runCharts(runRecords(3000)).every((c) => c.series.every((s) => s.data.length <= MAX_POINTS)));
});
