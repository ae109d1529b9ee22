import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScaleResults, scaleCharts, scaleTable, writeScaleReport } from '../../src/report/scale-report.js';
import { tempDir } from '../integration/harness.js';

const point = (where: string, workers: number, flat: number | null) => ({
  model: 'reference-cnn',
  params: 122570,
  workers,
  steps: 10,
  computeMs: 0,
  gradWire: 'fp32',
  stepMs: 10 * workers,
  coordCpuMsPerStep: 4 * workers,
  coordMs: 1,
  bytesInPerStep: workers * 490_000,
  bytesOutPerStep: workers * 490_000,
  memcpyMsPerStep: 0.1 * workers,
  linkGbit: flat ? 1 : null,
  flatBoundMs: flat,
  ringBoundMs: flat ? flat / 2 : null,
  where,
});

test('scale results become a table and two charts; header lines and skipped points are left out', () => {
  const dir = tempDir('scale-report');
  writeFileSync(
    join(dir, 'a.jsonl'),
    [
      { bench: 'scale' },
      point('loopback', 1, null),
      point('loopback', 4, null),
      { model: 'x', workers: 64, skipped: 'too big' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  writeFileSync(
    join(dir, 'b.jsonl'),
    [point('8 hosts', 2, 8), point('8 hosts', 4, 16)].map((r) => JSON.stringify(r)).join('\n'),
  );
  const rows = readScaleResults(dir);
  assert.equal(rows.length, 4);
  const table = scaleTable(rows);
  assert.equal(table.length, 6);
  assert.match(
    table[3]!,
    /^\| loopback \| reference-cnn \| fp32 \| 4 \| 40\.0 \| 16\.0 \| 2\.0\/2\.0 \| 0\.40 \| 40\.0 \| - \| - \| - \| - \|$/,
  );
  assert.match(table[5]!, /\| 16\.0 \| 8\.0 \| 2\.50 \| 5\.00 \|$/);
  const [cpu, step] = scaleCharts(rows);
  assert.deepEqual(cpu!.ticksAt, [1, 2, 4]);
  assert.deepEqual(
    cpu!.series.map((s) => s.label),
    ['loopback', 'loopback memcpy', '1 Gbit/s', '1 Gbit/s memcpy'],
  );
  assert.deepEqual(cpu!.series[0]!.data, [
    { x: 1, y: 4 },
    { x: 4, y: 16 },
  ]);
  assert.deepEqual(
    step!.series.map((s) => s.label),
    ['1 Gbit/s step', '1 Gbit/s flat bound', '1 Gbit/s ring bound'],
  );
  assert.deepEqual(step!.series[1]!.data, [
    { x: 2, y: 8 },
    { x: 4, y: 16 },
  ]);
  writeScaleReport(dir);
  assert.ok(existsSync(join(dir, 'table.md')) && existsSync(join(dir, 'report.html')));
});
