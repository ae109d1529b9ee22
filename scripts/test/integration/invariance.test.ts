// The worker-count-invariance contract (README, "Same bits on any cluster"): one seed and global batch
// give bitwise the same weights, optimizer state and metrics on 1, 2 or 3 workers, cut by speed, behind a
// relay, with a worker dying mid-step (its nodes recomputed elsewhere) and another leaving, and resumed on
// another number of workers.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildManifest, getModelSpec, type TrainConfig, trainableCount } from '@dtrain/common';
import { type EvalRecord, listCheckpoints, type StepRecord } from '@dtrain/coordinator';
import { Relay } from '@dtrain/coordinator/relay';
import { CoordinatorLink } from '@dtrain/worker/link';
import { quiet, records, startRun, tempDir, testConfig, train, worker } from './harness.js';

const config: TrainConfig = testConfig({
  dataset: { ...testConfig().dataset, normalize: true, augment: true } as TrainConfig['dataset'],
  batchSize: 48,
  groupSize: 8, // 6 groups: cut 6 | 3+3 | 2+2+2, and 4+2 behind the relay
  maxSteps: 6,
  evalEvery: 3,
  evalChunk: 30,
  checkpointEvery: 3,
  workers: 1,
  minWorkers: 1,
});

/** What must not depend on the cluster: the final checkpoint's tensors and every number a step or evaluation recorded about training. */
function fingerprint(out: string) {
  const last = listCheckpoints(out).at(-1)!;
  const sha = (f: string) =>
    createHash('sha256')
      .update(readFileSync(join(last, f)))
      .digest('hex');
  const metrics = records(out).flatMap((r) => {
    if (r.type === 'step') {
      const s = r as StepRecord;
      return [[s.step, s.loss, s.accuracy, s.samplesDigest, s.gradNormSq, s.traceSigma, s.bSimple]];
    }
    if (r.type === 'eval') {
      const e = r as EvalRecord;
      return [[e.step, e.split, e.loss, e.accuracy, e.samples]];
    }
    return [];
  });
  return { weights: sha('weights.f32'), velocity: sha('velocity.f32'), metrics };
}

/** One relay with two local workers, and one worker attached directly. */
async function withRelay(c: TrainConfig) {
  const run = await startRun({ ...c, workers: 2 });
  const summaryP = run.run();
  const locals: Promise<Awaited<ReturnType<typeof worker>>>[] = [];
  const relay = new Relay({
    ...{ url: run.url, token: undefined, host: '127.0.0.1', port: 0, localToken: undefined, localWorkers: 2 },
    ...{ stepTimeoutMs: 20_000, waitTimeoutMs: 20_000, giveUpMs: 5_000, log: quiet },
    onListening: (port) => {
      for (let i = 0; i < 2; i++) locals.push(worker(`ws://127.0.0.1:${port}`, `local${i}`));
    },
  });
  const relayDone = relay.run();
  const direct = await worker(run.url, 'direct');
  const summary = await summaryP;
  await Promise.allSettled([relayDone, direct.done, ...(await Promise.all(locals)).map((l) => l.done)]);
  return { summary, out: run.out };
}

/** Three workers: one drops its connection on its first assignment (its nodes go to the others), one leaves after step 4. */
async function withDeaths(c: TrainConfig) {
  const run = await startRun({ ...c, workers: 3 });
  const summaryP = run.run();
  const dying = CoordinatorLink.open(run.url).then(async (link) => {
    await link.join({ name: 'dies-mid-step' });
    for (let m = await link.next(); m; m = await link.next()) if (m.kind === 'assign') return link.close();
  });
  const ws = await Promise.all([worker(run.url, 'a'), worker(run.url, 'b')]);
  run.coord.on('step', (r) => r.step === 4 && ws[1]!.client.stop('leaving'));
  const summary = await summaryP;
  await Promise.allSettled([dying, ...ws.map((w) => w.done)]);
  return { summary, out: run.out };
}

test(
  '1, 2 and 3 workers, a relay, a death mid-step and a resume on another count: the same bits',
  { timeout: 300_000 },
  async () => {
    const one = await train(config, 1);
    const reference = fingerprint(one.out);
    assert.equal(one.summary.status, 'completed');
    assert.equal(reference.metrics.filter((m) => m.length === 7).length, 6);
    for (const n of [2, 3]) {
      const r = await train({ ...config, workers: n }, n);
      assert.equal(r.summary.status, 'completed');
      assert.deepEqual(fingerprint(r.out), reference, `${n} workers`);
    }
    const bySpeed = await train({ ...config, workers: 2, balance: 'speed' }, 2);
    assert.deepEqual(fingerprint(bySpeed.out), reference, '--balance speed: cuts that follow the timing');
    const relayed = await withRelay(config);
    assert.equal(relayed.summary.status, 'completed');
    assert.deepEqual(fingerprint(relayed.out), reference, 'a relay of 2 and a direct worker');
    const died = await withDeaths(config);
    assert.equal(died.summary.status, 'completed');
    const steps = records(died.out).filter((r): r is StepRecord => r.type === 'step');
    assert.deepEqual(
      [steps[0]!.workers, steps[0]!.reassigned > 0],
      [3, true],
      "step 1: the dead worker's nodes recomputed",
    );
    assert.equal(steps.at(-1)!.workers, 1, 'one worker at the end');
    assert.deepEqual(fingerprint(died.out), reference, 'a worker died mid-step, another left');
    const half = await train({ ...config, workers: 2 }, 2, { out: tempDir('half') });
    const step3 = listCheckpoints(half.out).find((d) => d.endsWith('step-00000003'))!;
    const resumed = await train({ ...config, workers: 3 }, 3, { resume: step3, out: tempDir('resumed') });
    assert.equal(resumed.summary.status, 'completed');
    assert.deepEqual(fingerprint(resumed.out).weights, reference.weights, 'resumed at step 3 on 3 workers');
    assert.deepEqual(fingerprint(resumed.out).velocity, reference.velocity);
  },
);

test(
  '--weight-wire int8 keeps the contract: 1 worker, 3 workers, and a relay of 2 beside a direct worker give the same bits',
  {
    timeout: 120_000,
  },
  async () => {
    const int8 = { ...config, weightWire: 'int8' as const };
    const reference = fingerprint((await train(int8, 1)).out);
    assert.notDeepEqual(
      reference.weights,
      fingerprint((await train(config, 1)).out).weights,
      'int8 weights change the bits',
    );
    assert.deepEqual(fingerprint((await train({ ...int8, workers: 3 }, 3)).out), reference, '3 workers');
    assert.deepEqual(fingerprint((await withRelay(int8)).out), reference, 'a relay of 2 and a direct worker');
  },
);

test('without groups the bits depend on the cut (so the test above can fail)', { timeout: 120_000 }, async () => {
  const legacy = { ...config, groupSize: 0 };
  const [one, two] = [await train(legacy, 1), await train({ ...legacy, workers: 2 }, 2)];
  assert.notEqual(fingerprint(one.out).weights, fingerprint(two.out).weights);
});

test(
  'a residual network with batch norm (resnet8): the same bits on 1, 2 and 3 workers, running statistics included',
  { timeout: 300_000 },
  async () => {
    const rn: TrainConfig = {
      ...config,
      model: 'resnet8',
      batchSize: 24,
      groupSize: 4,
      maxSteps: 3,
      evalEvery: 3,
      checkpointEvery: 0,
    };
    const one = await train(rn, 1);
    const reference = fingerprint(one.out);
    const stats = one.weights.subarray(trainableCount(buildManifest(getModelSpec('resnet8'))));
    assert.ok(
      stats.some((v) => v !== 0 && v !== 1),
      'the running statistics moved from their initial 0 and 1',
    );
    for (const n of [2, 3])
      assert.deepEqual(fingerprint((await train({ ...rn, workers: n }, n)).out), reference, `${n} workers`);
  },
);
