// The sweep report's charts as data: series, axes and tick values are what the fixture says.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartConfig } from '../../src/report/run-report.js';
import { sweepCharts } from '../../src/report/sweep-report.js';
import { fixtureSweep } from '../experiment/fixtures.js';

const M = 'momentum 0.9'; // the keys "momentum0.9 none w0 constant" and "sgd none w0 constant", in plain words
const S = 'SGD';

/** The batch sizes of a series with the small offset that keeps optimizers apart undone (checked constant and < 5%). */
function batches(data: { x: number; y: number | null }[]): number[] {
  const xs = data.map((p) => 2 ** Math.round(Math.log2(p.x))); // the fixture's batch sizes are powers of two
  const factors = data.map((p, i) => p.x / xs[i]!);
  for (const f of factors) assert.ok(Math.abs(f - factors[0]!) < 1e-12 && f > 0.95 && f < 1.05, String(factors));
  return xs;
}

test('steps to target: log-log, ticks at the batch sizes run, one connected line per optimizer over the best runs', () => {
  const [steps] = sweepCharts(fixtureSweep(), 0.5);
  assert.ok(steps!.logX && steps!.logY);
  assert.deepEqual(steps!.ticksAt, [32, 64, 128, 256]);
  const m = steps!.series.find((s) => s.label === M)!;
  assert.deepEqual(batches(m.data), [32, 64, 128, 256]);
  assert.deepEqual(
    m.data.map((p) => p.y),
    [840, 420, 210, 168],
  );
  const sgd = steps!.series.find((s) => s.label === S)!;
  assert.notEqual(sgd.data[0]!.x, m.data[0]!.x, 'two optimizers at one batch size do not overlap');
  assert.equal(m.noLine, undefined, 'a connected line');
  const cfg = chartConfig(steps!);
  type Axis = { ticksAt: number[]; type: string; min: number; max: number };
  const scales = cfg.options['scales'] as { x: Axis; y: Axis };
  assert.equal(scales.x.type, 'logarithmic');
  assert.deepEqual(scales.x.ticksAt, [32, 64, 128, 256]);
  const xs = steps!.series.flatMap((s) => s.data.map((p) => p.x));
  assert.ok(
    scales.x.min < Math.min(32, ...xs) && scales.x.max > Math.max(256, ...xs),
    'every tick and point inside the x axis',
  );
  const ys = steps!.series.flatMap((s) => s.data.map((p) => p.y)).filter((y): y is number => y !== null);
  const t = scales.y.ticksAt;
  assert.ok(
    t[0]! <= Math.min(...ys) && t.at(-1)! >= Math.max(...ys),
    'log y: a tick at or beyond each end of the data',
  );
  assert.deepEqual([scales.y.min, scales.y.max], [t[0], t.at(-1)]);
});

test('perfect scaling is a dashed line from the smallest batch; seeds give error bars; misses are marked', () => {
  const [steps] = sweepCharts(fixtureSweep(), 0.5);
  const perfect = steps!.series.find((s) => s.label === `${M}: perfect scaling`)!;
  assert.equal(perfect.dashed, true);
  assert.deepEqual(perfect.data, [
    { x: 32, y: 840 },
    { x: 64, y: 420 },
    { x: 128, y: 210 },
    { x: 256, y: 105 },
  ]);
  const bars = steps!.series.find((s) => s.label === `${M}: range over seeds`)!;
  assert.deepEqual(batches(bars.data.slice(0, 3)), [32, 32, 32]);
  assert.deepEqual(
    bars.data.slice(0, 3).map((p) => p.y),
    [800, 880, null],
  );
  const missed = steps!.series.find((s) => s.label === `${S}: target not reached`)!;
  assert.equal(missed.noLine, true);
  assert.deepEqual(batches(missed.data), [256]);
  assert.ok(missed.data[0]!.y! > 1100, 'drawn above every point that reached it');
  assert.equal(
    steps!.series.find((s) => s.label === S)!.data.length,
    3,
    'the sgd line stops where the target was missed',
  );
});

test('the measured B_simple is a vertical line on the batch-size axis', () => {
  const [steps] = sweepCharts(fixtureSweep(), 0.5);
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
  const [, lr] = sweepCharts(fixtureSweep(), 0.5);
  assert.deepEqual(lr!.ticksAt, [32, 64, 128, 256]);
  const m = lr!.series.find((s) => s.label === M)!.data;
  assert.deepEqual(batches(m), [32, 64, 128, 256]);
  assert.deepEqual(
    m.map((p) => p.y),
    [0.03, 0.03, 0.03, 0.03],
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
  const cfg = chartConfig(sweepCharts(fixtureSweep(), 0.5)[0]!);
  const colour = (label: string) => cfg.data.datasets.find((d) => d['label'] === label)!['borderColor'];
  assert.equal(colour(M), colour(`${M}: perfect scaling`));
  assert.notEqual(colour(M), colour(S));
});

test('several targets: a steps chart for each from the same runs, crossings interpolated', () => {
  const charts = sweepCharts(fixtureSweep(), 0.5, [], [0.5, 0.4]);
  assert.deepEqual(
    charts.map((c) => c.id),
    ['steps', 'steps-40pct', 'lr', 'acc'],
  );
  const ys = (i: number) => charts[i]!.series.find((x) => x.label === M)!.data.map((p) => p.y);
  // the fixture's accuracy rises linearly to 0.5 at the steps it names: 40% comes at 0.8 of them
  assert.deepEqual(
    ys(1),
    ys(0).map((y) => Number((0.8 * y!).toFixed(6))),
  );
  assert.match(charts[1]!.title, /Steps to 40% validation accuracy/);
});

test('runs that stopped at their target get no final-accuracy panel (it would show where each stopped)', () => {
  const stopped = fixtureSweep().map((o) => ({
    ...o,
    summary: { ...o.summary, config: { ...o.summary.config, stopAtValAccuracy: 0.5 } },
  }));
  assert.deepEqual(
    sweepCharts(stopped, 0.5).map((c) => c.id),
    ['steps', 'lr'],
  );
});
