// The run's loop against a fake pool: no sockets; the pool hands every task a made-up result at once.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import {
  type AssignMsg,
  decode,
  type EvaluateMsg,
  epochOrder,
  type GradientMsg,
  parseCoordinatorMsg,
  planBatch,
  SpeedTracker,
  type TrainConfig,
} from '@dtrain/common';
import {
  Coordinator,
  checkpointName,
  type EvalRound,
  listCheckpoints,
  type PoolEvents,
  type RunPool,
  readMetrics,
  type StepRound,
  type WorkerConn,
} from '@dtrain/coordinator';

const conn = (id: number): WorkerConn =>
  ({ id, label: `w${id}`, hello: { host: 'h', backend: 'fake', backendReason: '' } }) as unknown as WorkerConn;

/** Every gradient sum is 1 per sample and parameter, so the batch-mean gradient is all ones. */
class FakePool extends EventEmitter<PoolEvents> implements RunPool {
  readonly speeds = new SpeedTracker();
  readonly bytes = { in: 0, out: 0 };
  readonly workers = [conn(0), conn(1)];
  readonly assigned: { step: number; worker: number; indices: number[] }[] = [];
  readonly published: number[] = [];
  /** Fraction of each evaluation shard counted correct. */
  evalCorrect = 0;
  /** The first shard of this step carries a NaN (while values go unchecked, or always: a sum that overflows). */
  nanAt: { step: number; always: boolean } | null = null;
  checked = false;
  private paramCount = 0;

  ready(): WorkerConn[] {
    return [...this.workers];
  }
  setRun(_w: unknown, ctx: { paramCount: number }): void {
    this.paramCount = ctx.paramCount;
  }
  get valuesDeferred(): boolean {
    return !this.checked;
  }
  checkEveryValue(): void {
    this.checked = true; // a NaN sender is refused at the boundary from now on: its shard comes from another worker
  }
  publishWeights(version: number): void {
    this.published.push(version);
  }
  async waitForWorkers(): Promise<boolean> {
    return true;
  }
  async runRound(spec: StepRound | EvalRound): Promise<{ reassigned: number; decodeMs: number }> {
    const ctx = { paramCount: this.paramCount, trainSize: 1 << 20, evalSize: 1 << 20 };
    spec.tasks.forEach((task, i) => {
      const w = this.workers[i % this.workers.length]!;
      const msg = parseCoordinatorMsg(decode(task.frame, 1 << 24), ctx) as AssignMsg | EvaluateMsg;
      const n = msg.indices.length;
      if (spec.kind === 'step') {
        this.assigned.push({ step: spec.step, worker: w.id, indices: [...msg.indices] });
        const g: GradientMsg = {
          kind: 'gradient',
          step: spec.step,
          version: spec.version,
          shardId: task.id,
          count: n,
          lossSum: n * 2,
          correct: n,
          computeMs: 1,
          grad: new Float32Array(this.paramCount).fill(n),
        };
        const bad = this.nanAt?.step === spec.step && task.id === 0 && (this.nanAt.always || !this.checked);
        if (bad) g.grad[5] = Number.NaN;
        spec.onAccepted(w, g);
      } else {
        spec.onAccepted(w, {
          kind: 'evalResult',
          evalId: spec.evalId,
          shardId: task.id,
          count: n,
          lossSum: n,
          correct: Math.round(n * this.evalCorrect),
          computeMs: 1,
        });
      }
    });
    return { reassigned: 0, decodeMs: 0 };
  }
}

const config = (momentum: number): TrainConfig => ({
  model: 'tiny-cnn',
  dataset: { name: 'synthetic', trainSize: 64, testSize: 8, seed: 1, valFraction: 0, normalize: false, augment: false },
  seed: 3,
  batchSize: 16,
  epochs: 1,
  maxSteps: 2,
  lr: 0.1,
  schedule: 'constant',
  decaySteps: 100,
  gamma: 0.1,
  minLr: 0,
  warmupSteps: 0,
  scaling: 'none',
  baseBatchSize: 16,
  optimizer: { momentum, dampening: 0, nesterov: false, weightDecay: 0, form: 'pytorch' },
  workers: 2,
  minWorkers: 1,
  evalEvery: 0,
  evalChunk: 8,
  checkpointEvery: 0,
  stepTimeoutMs: 1000,
});

async function twoSteps(
  momentum: number,
  pool = new FakePool(),
  status = 'completed',
): Promise<{ coord: Coordinator; pool: FakePool; w0: Float32Array; out: string; lines: string[] }> {
  const out = mkdtempSync(join(tmpdir(), 'dtrain-loop-'));
  const lines: string[] = [];
  const coord = new Coordinator({
    config: config(momentum),
    pool,
    out,
    waitTimeoutMs: 1000,
    log: (l) => lines.push(l),
  });
  const w0 = Float32Array.from(coord.weights);
  const summary = await coord.run();
  assert.equal(summary.status, status, summary.error);
  return { coord, pool, w0, out, lines };
}

test('a NaN among unchecked values: the sum is not finite, the step runs again with every value checked, nothing of it applied', async () => {
  const pool = new FakePool();
  pool.nanAt = { step: 2, always: false };
  const { coord, w0, lines } = await twoSteps(0, pool);
  assert.ok(pool.checked, 'the pool checks every value from then on');
  assert.equal(pool.assigned.filter((a) => a.step === 2).length, 4, 'step 2 assigned twice (two shards each time)');
  assert.ok(
    lines.some((l) => /step 2: the summed gradient is not finite; the step runs again/.test(l)),
    lines.join('\n'),
  );
  for (let i = 0; i < w0.length; i += 97) assert.equal(coord.weights[i], Math.fround(Math.fround(w0[i]! - 0.1) - 0.1));
});

test('a sum still not finite with every value checked is divergence, said as before', async () => {
  const pool = new FakePool();
  pool.nanAt = { step: 1, always: true };
  const { lines } = await twoSteps(0, pool, 'diverged');
  assert.ok(pool.checked);
  assert.ok(
    lines.some((l) => /the mean gradient is not finite/.test(l)),
    lines.join('\n'),
  );
});

test('plain SGD, lr 0.1, mean gradient 1: two steps move every weight by exactly -0.2 (in float32)', async () => {
  const { coord, w0 } = await twoSteps(0);
  for (let i = 0; i < w0.length; i += 97) assert.equal(coord.weights[i], Math.fround(Math.fround(w0[i]! - 0.1) - 0.1));
});

test('momentum 0.9: v1 = 1, w1 = w0 - 0.1; v2 = 0.9 + 1 = 1.9, w2 = w1 - 0.19 (products in double, stored in float32)', async () => {
  const { coord, w0 } = await twoSteps(0.9);
  const v2 = 0.9 * 1 + 1; // sgdStep uses v before storing it
  for (let i = 0; i < w0.length; i += 97) {
    const w1 = Math.fround(w0[i]! - 0.1 * 1);
    assert.equal(coord.weights[i], Math.fround(w1 - 0.1 * v2));
  }
});

test('each step cuts exactly the planned batch over the workers in id order, and records land in order', async () => {
  const { pool, out } = await twoSteps(0);
  const order = epochOrder(64, 3, 0);
  for (const step of [1, 2]) {
    const planned = [...planBatch(order, step - 1, 16)];
    const shards = pool.assigned.filter((a) => a.step === step);
    assert.deepEqual(
      shards.map((s) => s.worker),
      [0, 1],
    );
    assert.deepEqual(
      shards.flatMap((s) => s.indices),
      planned,
    );
    assert.deepEqual(
      shards.map((s) => s.indices.length),
      [8, 8],
    );
  }
  assert.deepEqual(pool.published, [0, 1, 2]); // step 1 needs v0, step 2 v1, the final evaluation v2
  const records = readMetrics(out);
  assert.deepEqual(
    records.map((r) => `${r.type}${r.step}`),
    ['step1', 'step2', 'eval2'],
  );
  const s1 = records[0]!;
  assert.ok(s1.type === 'step' && s1.loss === 2 && s1.accuracy === 1 && s1.samples === 16 && s1.workers === 2);
  assert.deepEqual(s1.type === 'step' && s1.computeMs, { w0: 1, w1: 1 });
  for (const r of records.filter((x) => x.type === 'step')) {
    const planned = Buffer.from(new Uint32Array(planBatch(order, r.step - 1, 16)).buffer); // little-endian hosts
    assert.equal(r.type === 'step' && r.samplesDigest, createHash('sha256').update(planned).digest('hex').slice(0, 16));
  }
});

test('each step records per-worker download and upload estimates', async () => {
  const { out } = await twoSteps(0);
  const s1 = readMetrics(out)[0]!;
  assert.ok(s1.type === 'step');
  assert.deepEqual(Object.keys(s1.links).sort(), ['w0', 'w1']);
  for (const l of Object.values(s1.links)) assert.ok(l.downloadMs === 0 && l.uploadMs >= 0, JSON.stringify(l)); // the fake pool reports no fetch time
});

test('--checkpoint-seconds: a checkpoint once that much time passed since the last one, besides the first and last', async () => {
  const pool = new FakePool();
  const out = mkdtempSync(join(tmpdir(), 'dtrain-loop-'));
  let now = 0;
  const rounds = pool.runRound.bind(pool);
  pool.runRound = async (spec) => {
    now += 400; // every round takes 0.4 s on this clock
    return rounds(spec);
  };
  const coord = new Coordinator({
    config: { ...config(0), maxSteps: 5, checkpointSeconds: 1 },
    pool,
    out,
    waitTimeoutMs: 1000,
    log: () => undefined,
    clock: () => now,
  });
  assert.equal((await coord.run()).status, 'completed');
  // decided as a step starts (its gradients then travel whole under --grad-wire): steps 1-4 start at 0,
  // 0.4, 0.8, 1.2 s, so the checkpoint follows step 4; step 5 is the final one
  assert.deepEqual(
    listCheckpoints(out).map((d) => basename(d)),
    [0, 4, 5].map(checkpointName),
  );
});

test('stopAtValAccuracy: the run ends completed at the first evaluation that reaches it', async () => {
  const pool = new FakePool();
  pool.evalCorrect = 0.75;
  const out = mkdtempSync(join(tmpdir(), 'dtrain-loop-'));
  const c = {
    ...config(0),
    dataset: { ...config(0).dataset, valFraction: 0.25 },
    maxSteps: 0,
    epochs: 5,
    evalEvery: 2,
    stopAtValAccuracy: 0.7,
  };
  const summary = await new Coordinator({ config: c, pool, out, waitTimeoutMs: 1000, log: () => undefined }).run();
  assert.equal(summary.status, 'completed');
  assert.equal(summary.steps, 2, 'stopped at the first evaluation (step 2), not after 5 epochs');
  pool.evalCorrect = 0.5;
  const out2 = mkdtempSync(join(tmpdir(), 'dtrain-loop-'));
  assert.equal(
    (await new Coordinator({ config: c, pool, out: out2, waitTimeoutMs: 1000, log: () => undefined }).run()).steps,
    15,
    'never reached: all 5 epochs of 3 steps',
  );
});

test('every optimizer resumes bitwise: 2 steps, a checkpoint, 2 more = 4 straight (Adam bias correction counts steps)', async () => {
  const kinds = [
    { kind: 'adam' as const, momentum: 0 },
    { kind: 'adamw' as const, momentum: 0, weightDecay: 0.01 },
    { kind: 'lamb' as const, momentum: 0, weightDecay: 0.01 },
    { kind: 'lars' as const, momentum: 0.9, weightDecay: 0.01 },
  ];
  for (const opt of kinds) {
    const c = (maxSteps: number): TrainConfig => ({
      ...config(0),
      maxSteps,
      optimizer: { ...config(0).optimizer, ...opt },
    });
    const run = async (maxSteps: number, resume?: string) => {
      const out = resume ?? mkdtempSync(join(tmpdir(), 'dtrain-opt-'));
      const coord = new Coordinator({
        config: c(maxSteps),
        pool: new FakePool(),
        out,
        waitTimeoutMs: 1000,
        log: () => undefined,
        ...(resume ? { resume, resumeOverrides: { maxSteps } } : {}),
      });
      assert.equal((await coord.run()).status, 'completed');
      return { weights: coord.weights, state: coord.optimizerState(), out };
    };
    const straight = await run(4);
    const first = await run(2);
    const resumed = await run(4, first.out);
    assert.deepEqual(Buffer.from(resumed.weights.buffer), Buffer.from(straight.weights.buffer), `${opt.kind}: weights`);
    for (const [name, buffer] of Object.entries(straight.state))
      assert.deepEqual(Buffer.from(resumed.state[name]!.buffer), Buffer.from(buffer.buffer), `${opt.kind}: ${name}`);
    assert.notDeepEqual(Buffer.from(straight.weights.buffer), Buffer.from(first.weights.buffer), 'steps 3 and 4 moved');
  }
});

test('--save-gradients N writes the mean gradient of the first N steps, before the optimizer clips it', async () => {
  const out = mkdtempSync(join(tmpdir(), 'dtrain-grads-'));
  const c: TrainConfig = {
    ...config(0),
    maxSteps: 3,
    saveGradients: 2,
    optimizer: { ...config(0).optimizer, clipGradNorm: 1 },
  };
  const coord = new Coordinator({ config: c, pool: new FakePool(), out, waitTimeoutMs: 1000, log: () => undefined });
  assert.equal((await coord.run()).status, 'completed');
  assert.deepEqual(readdirSync(join(out, 'gradients')), ['step-00000001.f32', 'step-00000002.f32']);
  const g = new Float32Array(readFileSync(join(out, 'gradients', 'step-00000002.f32')).buffer.slice(0));
  assert.equal(g.length, coord.weights.length);
  assert.ok(
    g.every((x) => x === 1),
    'the FakePool mean gradient (all ones), unclipped',
  );
});
