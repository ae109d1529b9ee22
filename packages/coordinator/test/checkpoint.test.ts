import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildManifest, getModelSpec, type TrainConfig, TrainerError } from '@dtrain/common';
import { listCheckpoints, readCheckpoint, writeCheckpoint } from '@dtrain/coordinator';

const manifest = buildManifest(getModelSpec('tiny-cnn'));
const state = (step: number) => ({
  step,
  epoch: 1,
  position: 2,
  samplesSeen: 99,
  wallMs: 5,
  seed: 3,
  config: { seed: 3 } as unknown as TrainConfig,
  manifest,
  paramCount: 4,
  modelFingerprint: 'x',
});

test('a checkpoint round-trips weights, the optimizer state and the run state', () => {
  const root = mkdtempSync(join(tmpdir(), 'ck-'));
  const dir = writeCheckpoint(join(root, 'checkpoints'), state(7), new Float32Array([1, 2, 3, 4]), {
    'adam-m': new Float32Array([0.5, 0, 0, -1]),
    'adam-v': new Float32Array([1, 2, 0, 3]),
  });
  const ck = readCheckpoint(dir);
  assert.deepEqual([...ck.weights], [1, 2, 3, 4]);
  assert.deepEqual(Object.keys(ck.optimizerState).sort(), ['adam-m', 'adam-v']);
  assert.deepEqual([...ck.optimizerState['adam-m']!], [0.5, 0, 0, -1]);
  assert.deepEqual([...ck.optimizerState['adam-v']!], [1, 2, 0, 3]);
  assert.equal(ck.state.step, 7);
  assert.equal(ck.state.position, 2);
  writeCheckpoint(join(root, 'checkpoints'), state(12), new Float32Array(4), {});
  assert.equal(readCheckpoint(root).state.step, 12, 'a run directory resolves to its newest checkpoint');
  assert.deepEqual(readCheckpoint(root).optimizerState, {}, 'plain SGD keeps no optimizer state');
  assert.equal(listCheckpoints(root).length, 2);
  assert.ok(
    readdirSync(join(root, 'checkpoints')).every((n) => !n.startsWith('.tmp')),
    'no temporary directory left',
  );
});

test('damaged checkpoints are refused with ERR_CHECKPOINT', () => {
  const root = mkdtempSync(join(tmpdir(), 'ck-'));
  const dir = writeCheckpoint(root, state(1), new Float32Array([1, 2, 3, 4]), {});
  writeFileSync(join(dir, 'weights.f32'), Buffer.alloc(16, 7));
  assert.throws(
    () => readCheckpoint(dir),
    (e: TrainerError) => e.code === 'ERR_CHECKPOINT' && /sha256/.test(e.message),
  );
  writeFileSync(join(dir, 'weights.f32'), Buffer.alloc(8));
  assert.throws(() => readCheckpoint(dir), /has 8 bytes/);
  assert.throws(() => readCheckpoint(mkdtempSync(join(tmpdir(), 'empty-'))), /no checkpoint/);
});

test('a one-byte edit of state.json (the step) is refused: state.json has its own digest', () => {
  const root = mkdtempSync(join(tmpdir(), 'ck-'));
  const dir = writeCheckpoint(join(root, 'checkpoints'), state(7), new Float32Array(4), {});
  const p = join(dir, 'state.json');
  writeFileSync(p, readFileSync(p, 'utf8').replace('"step": 7', '"step": 8'));
  assert.throws(
    () => readCheckpoint(dir),
    (e: TrainerError) => e.code === 'ERR_CHECKPOINT' && /state\.json fails its sha256 check/.test(e.message),
  );
  rmSync(join(dir, 'state.sha256'));
  assert.throws(() => readCheckpoint(dir), /fails its sha256 check/, 'a missing digest is damage too');
});

test('a state.json edited to claim the legacy format 1 is still checked against its digest (no downgrade of integrity)', () => {
  const root = mkdtempSync(join(tmpdir(), 'ck-'));
  const dir = writeCheckpoint(join(root, 'checkpoints'), state(7), new Float32Array(4), {});
  const p = join(dir, 'state.json');
  writeFileSync(
    p,
    readFileSync(p, 'utf8').replace('dtrain-checkpoint/2', 'dtrain-checkpoint/1').replace('"step": 7', '"step": 8'),
  );
  assert.throws(() => readCheckpoint(dir), /state\.json fails its sha256 check/);
  rmSync(join(dir, 'state.sha256')); // a genuine format-1 checkpoint had none: it is read as before
  assert.equal(readCheckpoint(dir).state.step, 8);
});

test('temporaries of dead writers are removed; --keep-checkpoints keeps the newest N', () => {
  const root = join(mkdtempSync(join(tmpdir(), 'ck-')), 'checkpoints');
  mkdirSync(join(root, '.tmp-step-00000003-999999999'), { recursive: true }); // no such process
  mkdirSync(join(root, `.tmp-step-00000004-${process.ppid}`)); // a live one (our parent) is left alone
  for (const step of [1, 2, 3, 4]) writeCheckpoint(root, state(step), new Float32Array(4), {}, 2);
  assert.deepEqual(readdirSync(root).sort(), [`.tmp-step-00000004-${process.ppid}`, 'step-00000003', 'step-00000004']);
});
