import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TraceWriter } from '@dtrain/coordinator';

interface Ev {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  tid: number;
  args?: { step?: number; name?: string };
}

test('a step: coordinator phases inside the step; per worker compute, and download and uploads on its link track', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'trace-')), 'run.trace.json');
  const t = new TraceWriter(path);
  const m = { t0: 1000, assigned: 1001, shared: 1003, reduce: 1050, end: 1052 };
  t.step(7, m, [
    { label: 'w0', atMs: 30, computeMs: 20, fetchMs: 2 },
    { label: 'w1', atMs: 45, computeMs: 40, fetchMs: 3 },
    { label: 'w0', atMs: 48, computeMs: 25, fetchMs: 0 }, // a second task: starts after the first ended
  ]);
  t.evaluation('val', 7, 1060, 1090);
  t.close();
  const events = JSON.parse(readFileSync(path, 'utf8')) as Ev[];
  const x = events.filter((e) => e.ph === 'X');
  const names = (tid: number) => x.filter((e) => e.tid === tid).map((e) => e.name);
  assert.deepEqual(names(0), ['step 7', 'assign', 'broadcast', 'wait', 'reduce + update', 'evaluation (val)']);
  const thread = (n: string) => events.find((e) => e.ph === 'M' && e.args?.name === `worker ${n}`)!.tid;
  const spans = (n: string) =>
    x.filter((e) => e.tid === thread(n)).map((e) => [e.name, e.ts / 1000, (e.ts + e.dur!) / 1000]);
  // w0: weights in at 1002, computes 20 ms, its result is in at 1030; its second task computes 1022-1047 and
  // that result is in at 1048 (uploads from the end of compute to the arrival, one after the other)
  assert.deepEqual(spans('w0'), [
    ['compute', 1002, 1022],
    ['compute', 1022, 1047],
  ]);
  assert.deepEqual(spans('w0 link'), [
    ['download', 1000, 1002],
    ['upload', 1022, 1030],
    ['upload', 1047, 1048],
  ]);
  assert.deepEqual(spans('w1'), [['compute', 1003, 1043]]);
  assert.deepEqual(spans('w1 link'), [
    ['download', 1000, 1003],
    ['upload', 1043, 1045],
  ]);
});

test('a trace cut short (no closing bracket, as after a crash) still reads as events with one appended', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'trace-')), 'cut.json');
  const t = new TraceWriter(path);
  t.step(1, { t0: 0, assigned: 1, shared: 2, reduce: 3, end: 4 }, []);
  const events = JSON.parse(readFileSync(path, 'utf8') + ']') as Ev[];
  assert.equal(events.filter((e) => e.name === 'step 1').length, 1);
});
