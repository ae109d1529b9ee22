// --weight-wire (weight-delta.ts, EF21-P): weights as bf16/int8 deltas from the view every process holds.
// The bytes the coordinator sends shrink, training stays close to fp32's, the views stay equal bit for bit
// (the in-band digest every 100 versions never disagrees), and a resume from a checkpoint is bitwise.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TrainConfig } from '@dtrain/common';
import { listCheckpoints, type StepRecord } from '@dtrain/coordinator';
import { records, testConfig, train } from './harness.js';

const rel = (a: Float32Array, b: Float32Array): number => {
  let [diff, norm] = [0, 0];
  a.forEach((v, i) => {
    diff += (v - b[i]!) ** 2;
    norm += b[i]! ** 2;
  });
  return Math.sqrt(diff / norm);
};

/** Two workers, up to 10 epochs of the embedded data (16 steps each). */
const longer = (o: Partial<TrainConfig>): TrainConfig => testConfig({ epochs: 10, workers: 2, minWorkers: 2, ...o });

const bytesOutPerStep = (out: string): number => {
  const steps = records(out).filter((x): x is StepRecord => x.type === 'step' && x.step > 1); // step 1: whole
  return steps.reduce((a, s) => a + s.bytesOut, 0) / steps.length;
};

test('--weight-wire bf16 and int8 cut the bytes the coordinator sends by 2x and 4x and train close to fp32', async () => {
  const config = testConfig({ maxSteps: 8, workers: 2, minWorkers: 2 });
  const fp32 = await train(config, 2);
  for (const [weightWire, most] of [
    ['bf16', 0.55],
    ['int8', 0.3],
  ] as const) {
    const r = await train({ ...config, weightWire }, 2);
    assert.equal(r.summary.status, 'completed', `${weightWire}: ${r.summary.error}`);
    const ratio = bytesOutPerStep(r.out) / bytesOutPerStep(fp32.out);
    assert.ok(ratio < most, `${weightWire}: bytes out per step ${ratio.toFixed(3)} of fp32's`);
    const d = rel(r.weights, fp32.weights);
    assert.ok(d < 1e-2 && d > 0, `${weightWire}: relative distance ${d} from the fp32 weights`);
  }
});

test('int8 weights for 120 steps: every digest agrees (no worker reconnects), and a resume from a checkpoint is bitwise', async () => {
  const cfg = longer({ maxSteps: 120, checkpointEvery: 30, evalEvery: 40, weightWire: 'int8' });
  const full = await train(cfg, 2);
  assert.equal(full.summary.status, 'completed', full.summary.error);
  const log = readFileSync(join(full.out, 'run.log'), 'utf8');
  assert.doesNotMatch(
    log,
    /ERR_VIEW_MISMATCH|left \((?!closed normally)/,
    'a worker whose view differed would reconnect',
  );
  const ck = listCheckpoints(full.out).find((d) => d.endsWith('step-00000030'));
  assert.ok(ck, 'checkpoint at step 30');
  const resumed = await train(cfg, 2, { resume: ck! });
  assert.equal(resumed.summary.steps, 120);
  assert.deepEqual(Buffer.from(resumed.weights.buffer), Buffer.from(full.weights.buffer));
});

test('int8 both ways: a resume from a checkpoint is bitwise (the gradients of a checkpointed step go uncompressed, residuals start over)', async () => {
  const cfg = longer({ maxSteps: 40, checkpointEvery: 15, gradWire: 'int8', weightWire: 'int8' });
  const full = await train(cfg, 2);
  assert.equal(full.summary.status, 'completed', full.summary.error);
  const ck = listCheckpoints(full.out).find((d) => d.endsWith('step-00000015'));
  assert.ok(ck, 'checkpoint at step 15');
  const resumed = await train(cfg, 2, { resume: ck! });
  assert.deepEqual(Buffer.from(resumed.weights.buffer), Buffer.from(full.weights.buffer));
  const steps = records(full.out).filter((x): x is StepRecord => x.type === 'step');
  const int8Bytes = steps.find((s) => s.step === 14)!.bytesIn;
  assert.ok(steps.find((s) => s.step === 15)!.bytesIn > 3.5 * int8Bytes, 'step 15 came in as fp32');
});
