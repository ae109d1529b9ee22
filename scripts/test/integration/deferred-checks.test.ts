// The coordinator checks received gradients' values in their sum, not one by one (ParseContext.deferFinite):
// a worker that sends a NaN makes the step's sum not finite, the step runs again with every value checked on
// arrival, and that worker is refused at the boundary (ERR_NON_FINITE) with none of its values applied.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeGradient, paramCount } from '@dtrain/common';
import { readCheckpoint, readMetrics } from '@dtrain/coordinator';
import { CoordinatorLink } from '@dtrain/worker/link';
import { startRun, testConfig, worker } from './harness.js';

/** A ready worker that answers every assignment with the right fields and a NaN among its values. */
async function nanSender(url: string): Promise<number> {
  const link = await CoordinatorLink.open(url);
  const welcome = await link.join({ token: undefined, name: 'nan-sender' });
  const grad = new Float32Array(paramCount(welcome.manifest)).fill(0.001);
  grad[17] = Number.NaN;
  let answered = 0;
  for (let m = await link.next(); m; m = await link.next()) {
    if (m.kind !== 'assign') continue;
    const count = m.indices.length;
    const fields = { kind: 'gradient' as const, step: m.step, version: m.version, shardId: m.shardId };
    link.sendFrame(
      encodeGradient({ ...fields, count, lossSum: count, correct: 0, computeMs: 1 }, { wire: 'fp32', data: grad }),
    );
    answered++;
  }
  return answered;
}

test('a NaN from a ready worker: its step runs again with every value checked, it is refused, the weights are the honest run', async () => {
  const c = testConfig({ groupSize: 'auto', maxSteps: 5 }); // invariant: the same bits on any number of workers
  const honestOnly = await startRun({ ...c, workers: 1 });
  const aloneP = honestOnly.run();
  const alone = await worker(honestOnly.url, 'honest');
  assert.equal((await aloneP).status, 'completed');
  await alone.done;

  const run = await startRun(c);
  const summaryP = run.run();
  const honest = await worker(run.url, 'honest');
  const sent = await nanSender(run.url);
  const summary = await summaryP;
  await honest.done;
  assert.equal(summary.status, 'completed', summary.error);
  assert.ok(sent >= 2, `the NaN sender answered ${sent} assignments (its first step's and the rerun's)`);
  const log = readFileSync(join(run.out, 'run.log'), 'utf8');
  assert.match(log, /step 1: the summed gradient is not finite; the step runs again, every value checked on arrival/);
  assert.match(log, /nan-sender.*ERR_NON_FINITE/);
  assert.ok(readMetrics(run.out).every((r) => r.type !== 'step' || r.samples === c.batchSize));
  assert.deepEqual(readCheckpoint(run.out).weights, readCheckpoint(honestOnly.out).weights);
});
