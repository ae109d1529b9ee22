// Reports render in a real browser: headless Chromium (Debian's package) loads the page offline and
// every chart draws on its canvas.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeCompareReport } from '../../src/report/compare-report.js';
import { logTicks, writeRunReport } from '../../src/report/run-report.js';
import { writeSweepReport } from '../../src/report/sweep-report.js';
import { fixtureSweep, runRecords, summary } from '../experiment/fixtures.js';

function chromium(): string {
  if (process.env['CHROMIUM_PATH']) return process.env['CHROMIUM_PATH'];
  const r = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  assert.ok(
    path,
    'headless Chromium is needed: apt-get install chromium (scripts/ensure-chromium.sh does it as root), or set CHROMIUM_PATH',
  );
  return path;
}

function renderedBody(file: string): string {
  const dom = execFileSync(
    chromium(),
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${mkdtempSync(join(tmpdir(), 'chromium-'))}`,
      '--dump-dom',
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return /<body[^>]*>/.exec(dom)?.[0] ?? '';
}

function screenshot(file: string, png: string): void {
  execFileSync(
    chromium(),
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--hide-scrollbars',
      `--user-data-dir=${mkdtempSync(join(tmpdir(), 'chromium-'))}`,
      '--window-size=1280,1500',
      `--screenshot=${png}`,
      `file://${file}`,
    ],
    { timeout: 60_000, stdio: 'ignore' },
  );
}

/** Where screenshots go for a person to look at (REPORT_SCREENSHOTS=DIR), else a temporary directory. */
const shots = process.env['REPORT_SCREENSHOTS'] ?? mkdtempSync(join(tmpdir(), 'report-shots-'));

test('run, sweep and comparison reports render every chart in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-'));
  const run = writeRunReport(dir, runRecords(), summary(0.7));
  assert.match(renderedBody(run), /data-rendered="7" data-drawn="7"/);
  const sweepDir = mkdtempSync(join(tmpdir(), 'sweep-report-'));
  writeFileSync(join(sweepDir, '.keep'), '');
  const sweep = writeSweepReport(sweepDir, 'sweep', fixtureSweep(), 0.5);
  assert.match(renderedBody(sweep), /data-rendered="3" data-drawn="3"/);
  const runs = [
    ['sgd', 1, 0],
    ['momentum-0.9', 1.2, 0.9],
    ['momentum-0.99', 1.1, 0.99],
  ] as const;
  const compare = writeCompareReport(
    join(dir, 'compare.html'),
    dir,
    'compare',
    runs.map(([name, speed, mu]) => ({
      name,
      dir,
      records: runRecords(30, speed),
      summary: summary(0.6, { momentum: mu }),
    })),
    'three runs',
  );
  assert.match(renderedBody(compare), /data-rendered="3" data-drawn="3"/);
  screenshot(sweep, join(shots, 'sweep.png'));
  screenshot(compare, join(shots, 'compare.png'));
  assert.ok(statSync(join(shots, 'sweep.png')).size > 10_000);
});

test('log-scale y ticks: 1 and 3 times the powers of ten from below the lowest value to above the highest, none crowding', () => {
  assert.deepEqual(
    logTicks([
      {
        label: 'lr',
        data: [
          { x: 16, y: 0.05 },
          { x: 4096, y: 12.8 },
          { x: 64, y: null },
        ],
      },
    ]),
    [0.03, 0.1, 0.3, 1, 3, 10, 30],
  );
  assert.deepEqual(
    logTicks([
      {
        label: 'steps',
        data: [
          { x: 1, y: 420 },
          { x: 2, y: 4921 },
        ],
      },
    ]),
    [300, 1000, 3000, 10000],
  );
  assert.deepEqual(
    logTicks([
      {
        label: 'flat',
        data: [
          { x: 1, y: 420 },
          { x: 2, y: 600 },
        ],
      },
    ]),
    [300, 1000],
  );
  assert.deepEqual(
    logTicks([
      {
        label: 'exact',
        data: [
          { x: 1, y: 0.1 },
          { x: 2, y: 3 },
        ],
      },
    ]),
    [0.03, 0.1, 0.3, 1, 3, 10],
  );
  assert.equal(logTicks([{ label: 'none', data: [{ x: 1, y: 0 }] }]), null);
});
