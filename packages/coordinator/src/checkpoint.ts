// Checkpoints for exact resume. Layout of <run>/checkpoints/step-NNNNNNNN/:
//   weights.f32   parameters, flat little-endian float32 in manifest order
//   <name>.f32    the optimizer's state, same layout: velocity.f32 (momentum, LARS), adam-m.f32 and
//                 adam-v.f32 (Adam, AdamW, LAMB); none for plain SGD
//   state.json    { format, step, epoch, position, seed, config, manifest, paramCount, sha256 of each file, ... }
//   state.sha256  the SHA-256 of state.json itself (format 2): no file of a checkpoint goes unchecked
// Writes go to a temporary sibling directory, are fsynced, then renamed into place: a crash never leaves
// a half-written checkpoint under a final name; temporaries of processes that died are removed later.
// With a retention limit the oldest checkpoints beyond it are removed after each write.

import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import {
  buildManifest,
  type Derived,
  initWeights,
  isRunningStat,
  type Manifest,
  type ModelSpec,
  modelFingerprint,
  modelSpecOf,
  paramCount,
  sha256Hex,
  type TrainConfig,
  TrainerError,
  validateConfig,
} from '@dtrain/common';
import { makeDir, writeAll } from '@dtrain/common/files';
import { processAlive } from './rundir.js';

export const CHECKPOINT_FORMAT = 'dtrain-checkpoint/2';
/** Read but not written: format 1 had no digest of state.json. */
const LEGACY_FORMAT = 'dtrain-checkpoint/1';

export interface TrainState {
  step: number;
  epoch: number;
  /** Batches of `epoch` already consumed. */
  position: number;
  samplesSeen: number;
  wallMs: number;
}

export interface CheckpointState extends TrainState {
  format: string;
  seed: number;
  config: TrainConfig;
  manifest: Manifest;
  paramCount: number;
  modelFingerprint: string;
  /** The model's full layer spec (absent in checkpoints written before it was recorded: the zoo's, by name). */
  modelSpec?: ModelSpec;
  /** What the model's inputs and outputs mean, so a checkpoint classifies an image without its dataset (absent in older ones). */
  inputs?: ModelInputs;
  files: Record<string, { bytes: number; sha256: string }>;
  writtenAt: string;
}

/** Class names by label, and the per-channel mean and std the inputs were standardized with (--normalize). */
export interface ModelInputs {
  classes: string[];
  mean?: number[];
  std?: number[];
}

export interface Checkpoint {
  dir: string;
  state: CheckpointState;
  weights: Float32Array;
  /** The optimizer's buffers by name (every <name>.f32 besides the weights). */
  optimizerState: Record<string, Float32Array>;
}

function assertLittleEndian(): void {
  if (endianness() !== 'LE')
    throw new TrainerError('ERR_CHECKPOINT', 'checkpoints are little-endian; this machine is big-endian');
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/** What a checkpoint of `config`'s run (its model's `manifest`) at `train` records besides its tensors. */
export function checkpointState(
  train: TrainState,
  config: TrainConfig,
  manifest: Manifest,
  inputs?: ModelInputs,
): Omit<CheckpointState, 'files' | 'format' | 'writtenAt'> {
  const spec = modelSpecOf(config);
  const counts = { paramCount: paramCount(manifest), modelFingerprint: modelFingerprint(spec) };
  return { ...train, seed: config.seed, config, manifest, ...counts, modelSpec: spec, ...(inputs ? { inputs } : {}) };
}

/** Atomically write a checkpoint under `root`; returns its directory. `keep` > 0: keep only the newest that many. */
export function writeCheckpoint(
  root: string,
  s: Omit<CheckpointState, 'files' | 'format' | 'writtenAt'>,
  weights: Float32Array,
  optimizerState: Record<string, Float32Array>,
  keep = 0,
): string {
  assertLittleEndian();
  makeDir(root);
  removeStaleTemporaries(root);
  const final = join(root, checkpointName(s.step));
  const tmp = join(root, `.tmp-${checkpointName(s.step)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const files: CheckpointState['files'] = {};
  const put = (name: string, a: Float32Array): void => {
    const b = bytesOf(a);
    writeAll(join(tmp, name), b, true);
    files[name] = { bytes: b.length, sha256: sha256Hex(b) };
  };
  put('weights.f32', weights);
  for (const [name, buffer] of Object.entries(optimizerState)) put(`${name}.f32`, buffer);
  const state: CheckpointState = { format: CHECKPOINT_FORMAT, ...s, files, writtenAt: new Date().toISOString() };
  const stateBytes = Buffer.from(JSON.stringify(state, null, 2));
  writeAll(join(tmp, 'state.json'), stateBytes, true);
  writeAll(join(tmp, 'state.sha256'), Buffer.from(`${sha256Hex(stateBytes)}\n`), true);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const dirFd = openSync(root, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  if (keep > 0)
    for (const old of checkpointDirs(root).slice(0, -keep)) rmSync(join(root, old), { recursive: true, force: true });
  return final;
}

/** Checkpoint directory names under a checkpoints root, oldest first. */
function checkpointDirs(root: string): string[] {
  return existsSync(root)
    ? readdirSync(root)
        .filter((n) => /^step-\d{8}$/.test(n))
        .sort()
    : [];
}

/** Temporary checkpoint directories left by processes that died mid-write (this process's own included). */
function removeStaleTemporaries(root: string): void {
  for (const name of readdirSync(root)) {
    const m = /^\.tmp-step-\d{8}-(\d+)$/.exec(name);
    if (m && (Number(m[1]) === process.pid || !processAlive(Number(m[1]))))
      rmSync(join(root, name), { recursive: true, force: true });
  }
}

const damaged = { hint: 'the checkpoint is damaged; resume from an earlier one' };

function readFloats(path: string, expected: { bytes: number; sha256: string } | undefined, n: number): Float32Array {
  if (!expected) throw new TrainerError('ERR_CHECKPOINT', `${path} is not listed in state.json`);
  const buf = readFileSync(path);
  if (buf.length !== expected.bytes || buf.length !== n * 4) {
    throw new TrainerError('ERR_CHECKPOINT', `${path} has ${buf.length} bytes, expected ${n * 4}`, damaged);
  }
  if (sha256Hex(buf) !== expected.sha256) {
    throw new TrainerError('ERR_CHECKPOINT', `${path} fails its sha256 check`, damaged);
  }
  const out = new Float32Array(n);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** Checkpoint directories under a run directory, oldest first. */
export function listCheckpoints(runDir: string): string[] {
  const root = join(runDir, 'checkpoints');
  return checkpointDirs(root).map((n) => join(root, n));
}

/** A checkpoint directory, or the newest checkpoint of a run directory. */
function checkpointDir(path: string): string {
  if (existsSync(join(path, 'state.json'))) return path;
  const all = listCheckpoints(path);
  if (all.length === 0) {
    throw new TrainerError('ERR_CHECKPOINT', `no checkpoint in ${path}`, {
      hint: 'pass a run directory (with checkpoints/) or a checkpoints/step-N directory',
    });
  }
  return all[all.length - 1]!;
}

/** A checkpoint's state.json alone (checked), for what it says (its config) without reading its tensors. */
export function readCheckpointState(path: string): CheckpointState {
  return readState(checkpointDir(path));
}

/** Read a checkpoint directory, or the newest checkpoint of a run directory. */
export function readCheckpoint(path: string): Checkpoint {
  assertLittleEndian();
  const dir = checkpointDir(path);
  const state = readState(dir);
  const n = state.paramCount;
  const weights = readFloats(join(dir, 'weights.f32'), state.files['weights.f32'], n);
  // the optimizer keeps state for the trained values only: all but the batch-norm running statistics
  const trained = n - state.manifest.filter((p) => isRunningStat(p.name)).reduce((a, p) => a + p.length, 0);
  const optimizerState: Record<string, Float32Array> = {};
  for (const file of Object.keys(state.files)) {
    const name = /^([a-z][a-z0-9-]{0,31})\.f32$/.exec(file)?.[1];
    if (name && name !== 'weights') optimizerState[name] = readFloats(join(dir, file), state.files[file], trained);
  }
  return { dir, state, weights, optimizerState };
}

/** state.json, checked against state.sha256 (format 2). */
function readState(dir: string): CheckpointState {
  const path = join(dir, 'state.json');
  let bytes: Buffer;
  let state: CheckpointState;
  try {
    bytes = readFileSync(path);
    state = JSON.parse(bytes.toString('utf8')) as CheckpointState;
  } catch (cause) {
    throw new TrainerError('ERR_CHECKPOINT', `cannot read ${path}: ${(cause as Error).message}`, { cause, ...damaged });
  }
  if (state.format !== CHECKPOINT_FORMAT && state.format !== LEGACY_FORMAT) {
    throw new TrainerError(
      'ERR_CHECKPOINT',
      `${dir} has format ${String(state.format)}, expected ${CHECKPOINT_FORMAT}`,
    );
  }
  let digest: string | null = null;
  try {
    digest = readFileSync(join(dir, 'state.sha256'), 'utf8').trim();
  } catch {
    /* missing: only a legacy checkpoint may lack it */
  }
  // Whatever the format claims: a digest that is there is checked (a state.json rewritten to say format 1 is no way around it).
  if (digest === null && state.format === LEGACY_FORMAT) return state;
  if (digest !== sha256Hex(bytes))
    throw new TrainerError('ERR_CHECKPOINT', `${path} fails its sha256 check (state.sha256)`, damaged);
  return state;
}

export interface StartState {
  config: TrainConfig;
  /** What the run derives from `config`: validating it here is the run's one check of its config. */
  derived: Derived;
  /** The checkpoint directory resumed from, or null for a fresh run. */
  resumedFrom: string | null;
  weights: Float32Array;
  optimizerState: Record<string, Float32Array>;
  train: TrainState;
}

/**
 * Where a run starts: fresh from `config`, or from the checkpoint `resume` with the checkpoint's config,
 * except the worker counts of `config` and the `overrides` the caller allows (e.g. more --epochs).
 */
export function startState(
  config: TrainConfig,
  resume: string | undefined,
  overrides: Partial<TrainConfig> = {},
): StartState {
  if (!resume) {
    const derived = validateConfig(config);
    const weights = initWeights(buildManifest(modelSpecOf(config)), config.seed);
    return {
      config,
      derived,
      resumedFrom: null,
      weights,
      optimizerState: {},
      train: { step: 0, epoch: 0, position: 0, samplesSeen: 0, wallMs: 0 },
    };
  }
  const ckpt = readCheckpoint(resume);
  const resumed = { ...ckpt.state.config, workers: config.workers, minWorkers: config.minWorkers, ...overrides };
  if (ckpt.state.modelFingerprint !== modelFingerprint(modelSpecOf(resumed))) {
    throw new TrainerError('ERR_CHECKPOINT', `checkpoint ${ckpt.dir} was written for a different model layout`);
  }
  const { step, epoch, position, samplesSeen, wallMs } = ckpt.state;
  return {
    config: resumed,
    derived: validateConfig(resumed),
    resumedFrom: ckpt.dir,
    weights: ckpt.weights,
    optimizerState: ckpt.optimizerState,
    train: { step, epoch, position, samplesSeen, wallMs },
  };
}

/** The layer spec a checkpoint's weights belong to: recorded in it, or (older checkpoints) the zoo's, checked by fingerprint. */
export function checkpointModelSpec(ckpt: Checkpoint): ModelSpec {
  const spec = ckpt.state.modelSpec ?? modelSpecOf(ckpt.state.config);
  if (modelFingerprint(spec) !== ckpt.state.modelFingerprint) {
    throw new TrainerError(
      'ERR_CHECKPOINT',
      `checkpoint ${ckpt.dir} does not match the layer spec of model "${spec.name}"`,
      { hint: 'it was written by another version of the model zoo; use the dtrain version that wrote it' },
    );
  }
  return spec;
}
