// Reports render in a real browser: headless Chromium (Debian's package) loads the page offline and
// every chart draws on its canvas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricRecord, RunSummary } from '@dtrain/coordinator';
import type { RunOutcome } from '../../src/experiment/run-plan.js';
import { writeRunReport, writeSweepReport } from '../../src/experiment/report.js';

function chromium(): string {
  if (process.env['CHROMIUM_PATH']) return process.env['CHROMIUM_PATH'];
  const r = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  assert.ok(path, 'headless Chromium is needed: apt-get install chromium (scripts/ensure-chromium.sh does it as root), or set CHROMIUM_PATH');
  return path;
}

function renderedBody(file: string): string {
  const dom = execFileSync(chromium(), ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${mkdtempSync(join(tmpdir(), 'chromium-'))}`, '--dump-dom', `file://${file}`],
  { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
  return /<body[^>]*>/.exec(dom)?.[0] ?? '';
}

const summary = (acc: number, ips: number) => ({
  runId: 'r', steps: 30, epochs: 3, samplesSeen: 960, imagesPerSecond: ips, wallSeconds: 5, final: { test: { loss: 1, accuracy: acc, step: 30 }, val: { loss: 1, accuracy: acc, step: 30 } },
  config: { optimizer: { momentum: 0.9, form: 'keras', nesterov: false } },
}) as unknown as RunSummary;

test('a run report and a sweep report render all their charts in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-'));
  const records: MetricRecord[] = [];
  for (let s = 1; s <= 30; s++) {
    records.push({ type: 'step', step: s, epoch: s / 10, loss: 2.3 / Math.sqrt(s), accuracy: 0.1 + s / 40, lr: 0.01, samples: 32, samplesDigest: '', workers: 2, computeMs: {}, links: {}, stepMs: 50, waitMs: 40, decodeMs: 1, reduceUpdateMs: 1, broadcastMs: 1, assignMs: 1, coordMs: 4, bytesIn: 1, bytesOut: 1, reassigned: 0, gradNormSq: 1, traceSigma: 50, bSimple: 50 + s, time: 0 });
    if (s % 10 === 0) for (const split of ['val', 'test'] as const) records.push({ type: 'eval', step: s, epoch: s / 10, split, loss: 1.5, accuracy: 0.2 + s / 60, samples: 100, ms: 5, time: 0 });
  }
  const run = writeRunReport(dir, records, summary(0.7, 500));
  assert.match(renderedBody(run), /data-rendered="7" data-drawn="7"/);
  const outcomes = [32, 64, 128, 256].map((b, i) => ({
    name: `b${b}`, labels: { optimizer: 'momentum' }, dir, summary: summary(0.7 - i * 0.05, 300 * (i + 1)), skipped: false, batchSize: b,
    bestValAccuracy: 0.7, stepsToTarget: Math.round(4000 / b) + 5 * i, examplesToTarget: 1, epochsToTarget: 1, secondsToTarget: 1,
  })) as RunOutcome[];
  const sweepDir = mkdtempSync(join(tmpdir(), 'sweep-report-'));
  writeFileSync(join(sweepDir, '.keep'), '');
  const sweep = writeSweepReport(sweepDir, 'sweep', outcomes, 0.5, () => 'momentum');
  assert.match(renderedBody(sweep), /data-rendered="3" data-drawn="3"/);
});
