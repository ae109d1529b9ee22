// --trace FILE on a real run (2 workers over loopback, evaluations every 3 steps): Chrome trace events that
// cover every step on the coordinator's track, with each worker's compute per step, and nest on every track.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir, testConfig, train } from './harness.js';

interface Ev {
  name: string;
  ph: string;
  ts: number;
  dur: number;
  tid: number;
  args: { step?: number; name?: string };
}

/** Complete events of each track either nest or follow each other (what a trace viewer needs). */
function assertNests(events: Ev[]): void {
  const tracks = new Map<number, Ev[]>();
  for (const e of events.filter((e) => e.ph === 'X')) tracks.set(e.tid, [...(tracks.get(e.tid) ?? []), e]);
  for (const [tid, list] of tracks) {
    const open: Ev[] = [];
    for (const e of [...list].sort((a, b) => a.ts - b.ts || b.dur - a.dur)) {
      while (open.length && open.at(-1)!.ts + open.at(-1)!.dur <= e.ts) open.pop();
      const parent = open.at(-1);
      assert.ok(!parent || e.ts + e.dur <= parent.ts + parent.dur, `track ${tid}: ${e.name} overlaps ${parent?.name}`);
      open.push(e);
    }
  }
}

test('--trace: every step and evaluation on the coordinator track, each worker computing in every step, all nested', async () => {
  const path = join(tempDir('trace'), 'run.trace.json');
  const { summary } = await train(testConfig({ maxSteps: 6, evalEvery: 3, workers: 2, minWorkers: 2 }), 2, {
    trace: path,
  });
  assert.equal(summary.status, 'completed');
  const events = JSON.parse(readFileSync(path, 'utf8')) as Ev[];
  assertNests(events);
  const x = events.filter((e) => e.ph === 'X');
  const coord = x.filter((e) => e.tid === 0);
  assert.deepEqual(
    coord.filter((e) => e.name.startsWith('step ')).map((e) => e.args.step),
    [1, 2, 3, 4, 5, 6],
  );
  for (let step = 1; step <= 6; step++) {
    const inStep = coord.filter((e) => e.args.step === step).map((e) => e.name);
    assert.deepEqual(inStep.slice(0, 5), [`step ${step}`, 'assign', 'broadcast', 'wait', 'reduce + update']);
  }
  assert.deepEqual(
    coord.filter((e) => e.name.startsWith('evaluation')).map((e) => `${e.name}@${e.args.step}`),
    ['evaluation (val)@3', 'evaluation (test)@3', 'evaluation (val)@6', 'evaluation (test)@6'],
  );
  const workers = events.filter((e) => e.ph === 'M' && /^worker (?!.* link$)/.test(e.args.name ?? ''));
  assert.equal(workers.length, 2);
  for (const w of workers) {
    const steps = new Set(x.filter((e) => e.tid === w.tid && e.name === 'compute').map((e) => e.args.step));
    assert.deepEqual([...steps].sort(), [1, 2, 3, 4, 5, 6], w.args.name);
  }
});
