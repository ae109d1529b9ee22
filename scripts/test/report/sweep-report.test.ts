// The sweep report's charts as data: series, axes and tick values are what the fixture says.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartConfig } from '../../src/report/run-report.js';
import { sweepCharts } from '../../src/report/sweep-report.js';
import { fixtureSweep } from '../experiment/fixtures.js';

const M = 'momentum0.9 none w0 constant';
const S = 'sgd none w0 constant';

test('steps to target: log-log, ticks at the batch sizes run, one connected line per optimizer over the best runs', () => {
  const [steps] = sweepCharts(fixtureSweep());
  assert.ok(steps!.logX && steps!.logY);
  assert.deepEqual(steps!.ticksAt, [32, 64, 128, 256]);
  const m = steps!.series.find((s) => s.label === M)!;
  assert.deepEqual(m.data, [
    { x: 32, y: 840 },
    { x: 64, y: 420 },
    { x: 128, y: 210 },
    { x: 256, y: 168 },
  ]);
  assert.equal(m.noLine, undefined, 'a connected line');
  const cfg = chartConfig(steps!);
  const scales = cfg.options['scales'] as { x: { ticksAt: number[]; type: string }; y: { ticksAt: number[] } };
  assert.deepEqual(scales.x, {
    type: 'logarithmic',
    title: { display: true, text: 'batch size' },
    ticksAt: [32, 64, 128, 256],
  });
  const ys = steps!.series.flatMap((s) => s.data.map((p) => p.y)).filter((y): y is number => y !== null);
  assert.deepEqual(
    scales.y.ticksAt,
    [1, 3, 10, 30, 100, 300, 1000, 3000, 10000].filter((t) => t >= Math.min(...ys) && t <= Math.max(...ys)),
    'log y: 1 and 3 times the powers of ten the data spans',
  );
});

test('perfect scaling is a dashed line from the smallest batch; seeds give error bars; misses are marked', () => {
  const [steps] = sweepCharts(fixtureSweep());
  const perfect = steps!.series.find((s) => s.label === `${M}: perfect scaling`)!;
  assert.equal(perfect.dashed, true);
  assert.deepEqual(perfect.data, [
    { x: 32, y: 840 },
    { x: 64, y: 420 },
    { x: 128, y: 210 },
    { x: 256, y: 105 },
  ]);
  const bars = steps!.series.find((s) => s.label === `${M}: range over seeds`)!;
  assert.deepEqual(bars.data.slice(0, 3), [
    { x: 32, y: 800 },
    { x: 32, y: 880 },
    { x: 32, y: null },
  ]);
  const missed = steps!.series.find((s) => s.label === `${S}: target not reached`)!;
  assert.equal(missed.noLine, true);
  assert.deepEqual(
    missed.data.map((p) => p.x),
    [256],
  );
  assert.ok(missed.data[0]!.y! > 1100, 'drawn above every point that reached it');
  assert.equal(
    steps!.series.find((s) => s.label === S)!.data.length,
    3,
    'the sgd line stops where the target was missed',
  );
});

test('the measured B_simple is a vertical line on the batch-size axis', () => {
  const [steps] = sweepCharts(fixtureSweep());
  const b = steps!.series.find((s) => s.label.startsWith('B_simple measured'))!;
  // medians of 150 + B/4 over the best runs of both optimizers (sgd 32, 64, 128; momentum 32..256)
  const expected = [158, 166, 182, 158, 166, 182, 214].sort((x, y) => x - y)[3]!;
  assert.deepEqual(
    b.data.map((p) => p.x),
    [expected, expected],
  );
  assert.equal(b.label, `B_simple measured (${expected})`);
});

test('best learning rate vs batch size with linear and square-root reference lines from the smallest batch', () => {
  const [, lr] = sweepCharts(fixtureSweep());
  assert.deepEqual(lr!.ticksAt, [32, 64, 128, 256]);
  assert.deepEqual(
    lr!.series.find((s) => s.label === M)!.data,
    [32, 64, 128, 256].map((x) => ({ x, y: 0.03 })),
  );
  const linear = lr!.series.find((s) => s.label.startsWith('linear'))!;
  assert.deepEqual(
    linear.data.map((p) => Number(p.y!.toFixed(4))),
    [0.03, 0.06, 0.12, 0.24],
  );
  const sqrt = lr!.series.find((s) => s.label.startsWith('square-root'))!;
  assert.deepEqual(
    sqrt.data.map((p) => Number(p.y!.toFixed(4))),
    [0.03, 0.0424, 0.06, 0.0849],
  );
});

test('series of one optimizer share its colour; different optimizers differ', () => {
  const cfg = chartConfig(sweepCharts(fixtureSweep())[0]!);
  const colour = (label: string) => cfg.data.datasets.find((d) => d['label'] === label)!['borderColor'];
  assert.equal(colour(M), colour(`${M}: perfect scaling`));
  assert.notEqual(colour(M), colour(S));
});
