// Sharded summation over real sockets (common/slices.ts, host-mesh.ts, sharded-step.ts): host servers
// (relays with a mesh port) each own a slice of the gradient's sum; the weights are bitwise those of the
// same relays sending their whole sums, and a host lost mid-run costs a step's repeat, never a sample.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { epochOrder, indicesDigest, planBatch, type TrainConfig, TrainerError } from '@dtrain/common';
import { type Coordinator, listCheckpoints, readCheckpoint, type StepRecord } from '@dtrain/coordinator';
import type { Relay } from '@dtrain/coordinator/relay';
import { records, startRun, tempDir, testConfig, testRelay, worker } from './harness.js';

const config = (o: Partial<TrainConfig> = {}): TrainConfig =>
  testConfig({ maxSteps: 8, workers: 3, minWorkers: 1, groupSize: 'auto', ...o });

/** A run on `hosts` relays of one in-process worker each; `mesh`: they take part in sharded summation. */
async function viaHosts(
  c: TrainConfig,
  hosts: number,
  mesh: boolean,
  onStep?: (step: number, rs: Relay[]) => void,
  runOptions: Parameters<typeof startRun>[1] = {},
  onStart?: (coord: Coordinator) => void,
) {
  const run = await startRun(c, runOptions);
  onStart?.(run.coord);
  const summaryP = run.run();
  const relays: Relay[] = [];
  const locals: Awaited<ReturnType<typeof worker>>[] = [];
  const done = Array.from({ length: hosts }, (_, r) => {
    const relay = testRelay(run.url, `host${r}`, 1, {
      ...(mesh ? { meshPort: 0, meshHost: '127.0.0.1' } : {}),
      onListening: (port) => void worker(`ws://127.0.0.1:${port}`, `h${r}w0`).then((w) => locals.push(w)),
    });
    relays.push(relay);
    return relay.run();
  });
  run.coord.on('step', (rec) => onStep?.(rec.step, relays));
  const summary = await summaryP;
  await Promise.allSettled(done);
  await Promise.allSettled(locals.map((l) => l.done));
  const log = readFileSync(join(run.out, 'run.log'), 'utf8');
  return { summary, out: run.out, log, weights: readCheckpoint(run.out).weights };
}

/** Every step applied exactly the planned samples, once. */
function exactSamples(out: string, c: TrainConfig): void {
  const steps = records(out).filter((r): r is StepRecord => r.type === 'step');
  const n = c.dataset.name === 'synthetic' ? c.dataset.trainSize - Math.floor(c.dataset.trainSize * 0.2) : 0;
  const perEpoch = Math.floor(n / c.batchSize);
  assert.deepEqual(
    steps.map((s) => s.step),
    Array.from({ length: c.maxSteps }, (_, i) => i + 1),
  );
  for (const s of steps) {
    const planned = planBatch(
      epochOrder(n, c.seed, Math.floor((s.step - 1) / perEpoch)),
      (s.step - 1) % perEpoch,
      c.batchSize,
    );
    assert.equal(s.samplesDigest, indicesDigest(planned), `step ${s.step}`);
  }
}

test('sharded summation over 3 host servers is bitwise the same hosts sending whole sums', async () => {
  await sameBits(config());
});

test('the same on a model of 30 blocks: each host owns a run of 10 slices, streamed chunk by chunk', async () => {
  await sameBits(config({ model: 'reference-cnn', maxSteps: 5 }), /3 host servers, 10 slices each/);
});

test('the same with Adam (slices applied as they land) and LARS (a whole update once every slice is in)', async () => {
  const kinds = [{ kind: 'adam' as const, momentum: 0 }, { kind: 'lars' as const }];
  for (const k of kinds) await sameBits(config({ maxSteps: 5, lr: 0.01, optimizer: { ...config().optimizer, ...k } }));
});

async function sameBits(c: TrainConfig, mesh = /mesh: epoch 1 over 3 host servers/): Promise<void> {
  const sharded = await viaHosts(c, 3, true);
  const whole = await viaHosts(c, 3, false);
  assert.equal(sharded.summary.status, 'completed');
  assert.match(sharded.log, mesh);
  assert.doesNotMatch(whole.log, /mesh: epoch/);
  assert.deepEqual(sharded.weights, whole.weights);
  exactSamples(sharded.out, c);
  const meshed = (out: string) => records(out).filter((r) => r.type === 'step' && (r as StepRecord).mesh).length;
  assert.ok(meshed(sharded.out) >= c.maxSteps - 2, `${meshed(sharded.out)} of ${c.maxSteps} steps through the mesh`);
  assert.equal(meshed(whole.out), 0);
}

test('a host server lost mid-run: its step runs again through the star, a mesh of the rest follows, no sample lost', async () => {
  const c = config({ maxSteps: 10 });
  const r = await viaHosts(c, 3, true, (step, rs) => step === 4 && rs[1]!.stop());
  assert.equal(r.summary.status, 'completed');
  assert.match(r.log, /mesh: epoch 2 over 2 host servers/);
  assert.match(r.log, /step 5: a host of the mesh was lost or late; the step runs again through the star/);
  exactSamples(r.out, c);
  const epochs = records(r.out).flatMap((x) => (x.type === 'step' ? [(x as StepRecord).mesh ?? 0] : []));
  assert.ok(
    epochs.slice(-3).every((e) => e === 2),
    `the last steps through the second mesh: ${epochs.join(' ')}`,
  );
});

test('a resume through the mesh from a checkpoint mid-run is bitwise the run that never stopped', async () => {
  const c = config({ checkpointEvery: 4 });
  const straight = await viaHosts(c, 3, true);
  const step4 = listCheckpoints(straight.out).find((d) => d.endsWith('step-00000004'))!;
  const resumed = await viaHosts(c, 3, true, undefined, { resume: step4, out: tempDir('resumed') });
  assert.equal(resumed.summary.status, 'completed');
  assert.equal(resumed.summary.steps, c.maxSteps);
  assert.match(resumed.log, /mesh: epoch 1 over 3 host servers/);
  assert.deepEqual(resumed.weights, straight.weights);
});

test('a run given up mid-step after slices were applied as they came: they are undone, its checkpoint is the last whole step, a resume bitwise', async () => {
  const c = config({ maxSteps: 6 });
  const straight = await viaHosts({ ...c, checkpointEvery: 1 }, 3, true);
  let applied = 0;
  const given = await viaHosts(c, 3, true, undefined, {}, (coord) =>
    coord.on('slice', (step) => {
      if (step === 3 && ++applied === 1) coord.abandon(new TrainerError('ERR_NO_WORKERS', 'given up by the test'));
    }),
  );
  assert.equal(given.summary.status, 'failed');
  assert.ok(applied >= 1, 'a slice of step 3 was applied before the run was given up');
  const last = readCheckpoint(given.out);
  assert.equal(last.state.step, 2, 'the checkpoint is at the last whole step');
  const step2 = readCheckpoint(listCheckpoints(straight.out).find((d) => d.endsWith('step-00000002'))!);
  assert.deepEqual(last.weights, step2.weights, 'the applied slices of step 3 were undone');
  assert.deepEqual(last.optimizerState, step2.optimizerState, 'and their momentum');
  const resumed = await viaHosts(c, 3, true, undefined, { resume: given.out, out: tempDir('resumed-given') });
  assert.equal(resumed.summary.status, 'completed');
  assert.deepEqual(resumed.weights, straight.weights, 'resumed');
});

test('int8 both ways through the mesh: the same bits twice, every step meshed, and a resume from a checkpoint bitwise', async () => {
  // lossy wires are outside the worker-count contract (the star and the mesh compress at different places):
  // every step of these runs, the resumed one's first included, waits for all three hosts
  const c = config({ gradWire: 'int8', weightWire: 'int8', checkpointEvery: 4, minWorkers: 3 });
  const a = await viaHosts(c, 3, true);
  const b = await viaHosts(c, 3, true);
  assert.equal(a.summary.status, 'completed');
  exactSamples(a.out, c);
  const meshed = records(a.out).filter((r) => r.type === 'step' && (r as StepRecord).mesh).length;
  assert.equal(meshed, c.maxSteps, 'every step through the mesh (a step waits for a new mesh to link up)');
  // the owners' slices come compressed: about a byte per value (4 were they float32), but at checkpointed steps
  const bytesIn = records(a.out).flatMap((r) =>
    r.type === 'step' && r.step % 4 !== 0 ? [(r as StepRecord).bytesIn] : [],
  );
  const p = a.weights.length;
  assert.ok(Math.max(...bytesIn) < 1.5 * p, `the coordinator took ${bytesIn.join(', ')} bytes a step for ${p} values`);
  assert.deepEqual(a.weights, b.weights, 'two runs');
  const step4 = listCheckpoints(a.out).find((d) => d.endsWith('step-00000004'))!;
  const resumed = await viaHosts(c, 3, true, undefined, { resume: step4, out: tempDir('resumed-int8') });
  assert.deepEqual(resumed.weights, a.weights, 'resumed');
});

test('int8 both ways through the mesh for 110 steps: the weight deltas go in slices and every digest agrees', async () => {
  // versions 40 and 80 are evaluated (whole: the loop knows before the step), 100 carries the view's digest
  // (whole); every other goes out slice by slice as each is applied. A host whose view differed would leave.
  const c = config({ gradWire: 'int8', weightWire: 'int8', maxSteps: 110, epochs: 20, evalEvery: 40, minWorkers: 3 });
  const a = await viaHosts(c, 3, true);
  assert.equal(a.summary.status, 'completed', a.summary.error);
  assert.doesNotMatch(a.log, /ERR_VIEW_MISMATCH|left \((?!closed normally)/, 'no view differed');
  const steps = records(a.out).filter((r): r is StepRecord => r.type === 'step');
  assert.deepEqual([...new Set(steps.map((s) => s.mesh))], [1], 'every step through the first mesh');
  assert.equal(records(a.out).filter((r) => r.type === 'eval').length >= 2, true, 'evaluated at 40 and 80');
});

test(
  'a host whose view drifted from the coordinator reconnects at the next digest and the run goes on',
  { timeout: 120_000 },
  async () => {
    // the digest of version 100 rides in every slice of that version; a host that cannot apply the version it put
    // together from the mesh reconnects for the whole weights (before, it closed one mesh link and its workers waited)
    const c = config({
      gradWire: 'int8',
      weightWire: 'int8',
      maxSteps: 104,
      epochs: 20,
      evalEvery: 1000,
      minWorkers: 1,
    });
    const drift = (step: number, rs: Relay[]): void => {
      if (step !== 95) return;
      const held = (rs[1] as unknown as { held: { values: Float32Array } }).held;
      held.values[0]! += 1;
    };
    const a = await viaHosts(c, 3, true, drift);
    assert.equal(a.summary.status, 'completed', a.summary.error);
    exactSamples(a.out, c);
    assert.match(a.log, /host1.*left/, 'the drifted host left');
    // it came back into a new mesh while a version was on its way through the old one (sent again, whole)
    assert.match(a.log, /host1\S* left[\s\S]*mesh: epoch [2-9] over 3 host servers/, 'and came back into a new mesh');
  },
);

test(
  'a cut link between two hosts costs a step seconds: the slice is named late, the star takes the step, a new mesh the next',
  { timeout: 120_000 },
  async () => {
    const c = config({ maxSteps: 24, epochs: 20, evalEvery: 1000, stepTimeoutMs: 60_000, minWorkers: 1 });
    const cut = (step: number, rs: Relay[]): void => {
      if (step !== 12) return;
      const mesh = (rs[0] as unknown as { mesh: { state: { links: Map<number, { close(): void }> } } }).mesh;
      for (const link of mesh.state.links.values()) link.close(); // host 0 can no longer reach the other owners
    };
    const t0 = Date.now();
    const a = await viaHosts(c, 3, true, cut);
    assert.equal(a.summary.status, 'completed', a.summary.error);
    exactSamples(a.out, c);
    assert.match(a.log, /did not come within \d+\.\d s of the step's counts/, 'the late slice named');
    assert.match(a.log, /mesh: epoch 2 over 3 host servers/, 'a new mesh formed');
    assert.ok(Date.now() - t0 < 40_000, 'seconds, not the 60 s step timeout');
    const steps = records(a.out).filter((r): r is StepRecord => r.type === 'step');
    assert.ok(steps.filter((x) => x.mesh === 2).length >= 8, 'the steps after it went through the new mesh');
  },
);

test('int8 gradients with fp32 weights through the mesh (slices applied as they land): the same bits twice', async () => {
  const c = config({ gradWire: 'int8', minWorkers: 3 });
  const [a, b] = [await viaHosts(c, 3, true), await viaHosts(c, 3, true)];
  assert.equal(a.summary.status, 'completed');
  exactSamples(a.out, c);
  assert.deepEqual(a.weights, b.weights);
});
