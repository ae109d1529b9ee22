import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainerError } from '@dtrain/common';
import { writeReport } from '../../src/cli/report.js';
import { tempDir } from '../integration/harness.js';
import { runRecords, summary } from '../experiment/fixtures.js';

function fakeRun(root: string, name: string, speed: number): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'metrics.jsonl'), runRecords(30, speed).map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary(0.6)));
  return dir;
}

test('dtrain report overlays the runs given, links each one\'s report and refreshes it', () => {
  const root = tempDir('report-cmd');
  const dirs = [fakeRun(root, 'sgd', 1), fakeRun(root, 'momentum', 1.2)];
  const out = writeReport(dirs, join(root, 'both.html'), 'two runs');
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<title>two runs<\/title>/);
  assert.match(html, /href="momentum\/report.html"/);
  assert.equal((html.match(/<canvas /g) ?? []).length, 3);
  assert.ok(dirs.every((d) => existsSync(join(d, 'report.html'))));
});

test('a directory that is not a run is refused by name', () => {
  assert.throws(() => writeReport([tempDir('empty')], 'x.html', 't'), (e: unknown) => e instanceof TrainerError && /is not a run directory \(no metrics.jsonl\)/.test(e.message));
});
