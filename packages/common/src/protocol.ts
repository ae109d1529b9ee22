// Wire protocol: a discriminated union keyed on `kind`, narrowed once at the boundary by parse functions
// that check type, fields, sizes against the manifest and finiteness (STYLE.md #4, after tRPC parseTRPCMessage).
// Handshake: challenge -> hello (with a token: HMAC of both nonces; every frame after it is sealed with the
// session key, session.ts) -> welcome -> ready -> weights.

import type { GradWire } from './compress.js';
import type { Dataset } from './data.js';
import type { DatasetSpec } from './datasets.js';
import { MAX_BATCH_SIZE, MAX_WORKERS } from './limits.js';
import type { Manifest, ModelSpec } from './model.js';
import { parseModelSpec } from './model-check.js';
import {
  asObject,
  bool,
  datasetSpec,
  fail,
  finite,
  floats,
  type GradientDecoding,
  gradWireOf,
  indices,
  int,
  manifest,
  sliceOf,
  str,
  weightsDelta,
  weightWireOf,
  wireGradient,
} from './protocol-fields.js';
import {
  type MeshMsg,
  type MeshReadyMsg,
  type PartMsg,
  parseMesh,
  parseMeshReady,
  parsePart,
  parseSlice,
  type SliceMsg,
} from './protocol-mesh.js';
import type { WeightDelta, WeightWire } from './weight-delta.js';

export { allFinite } from './protocol-fields.js';
export type { MeshMsg, MeshReadyMsg, PartMsg, SliceMsg } from './protocol-mesh.js';

export type EvalSplit = 'val' | 'test';

/** Most characters of a relay's note. */
export const MAX_NOTE_CHARS = 500;

// ---- coordinator -> worker ----
export interface ChallengeMsg {
  kind: 'challenge';
  protocol: number;
  nonce: string;
  auth: boolean;
}
export interface WelcomeMsg {
  kind: 'welcome';
  workerId: number;
  runId: string;
  model: string;
  modelFingerprint: string;
  /** The layer spec of a model that is not in the zoo (a model file's). */
  modelSpec?: ModelSpec;
  manifest: Manifest;
  dataset: DatasetSpec;
  datasetFingerprint: string;
  /** The most samples one assignment or evaluation chunk of this run carries (the global batch, or the eval chunk). */
  maxShard: number;
  /** How gradients travel (compress.ts); absent: fp32. */
  gradWire?: GradWire;
  /** How weights travel (weight-delta.ts): bf16/int8 deltas from the view every process holds; absent: fp32. */
  weightWire?: WeightWire;
}
export interface RejectMsg {
  kind: 'reject';
  code: string;
  message: string;
}
export interface WeightsMsg {
  kind: 'weights';
  version: number;
  data: Float32Array;
  /** Sharded summation: only this slice of the weights (protocol-mesh.ts); absent: all of them. */
  slice?: number;
}
/** The weights at `version` as Q(w - view) from the view at `base` (weight-delta.ts); `digest` of the view it yields, now and then. */
export interface WeightsDeltaMsg extends WeightDelta {
  kind: 'weightsDelta';
  version: number;
  base: number;
  digest?: string;
  /** Sharded summation: only this slice of the delta (protocol-mesh.ts); absent: all of it. */
  slice?: number;
}
export interface AssignMsg {
  kind: 'assign';
  step: number;
  version: number;
  epoch: number;
  shardId: number;
  indices: Uint32Array;
  /** The worker-count-invariant reduction (group-tree.ts): the indices are groups of this many, summed along the tree. */
  groupSize?: number;
  /** This step is checkpointed: send the gradient uncompressed with the error-feedback residual added, and start it over. */
  flush?: boolean;
  /** Sharded summation: the task's node [lo, hi) in the step's tree over `groups` groups; its slices go to their owners. */
  node?: { lo: number; hi: number; groups: number };
}
export interface EvaluateMsg {
  kind: 'evaluate';
  evalId: number;
  split: EvalSplit;
  shardId: number;
  indices: Uint32Array;
  /** As AssignMsg's: the chunk's loss is summed over groups of this many along the tree. */
  groupSize?: number;
}
export interface ShutdownMsg {
  kind: 'shutdown';
  reason: string;
}
export type CoordinatorMsg =
  | ChallengeMsg
  | WelcomeMsg
  | RejectMsg
  | WeightsMsg
  | WeightsDeltaMsg
  | AssignMsg
  | EvaluateMsg
  | ShutdownMsg
  | MeshMsg;

// ---- worker -> coordinator ----
export interface HelloMsg {
  kind: 'hello';
  protocol: number;
  mac: string;
  nonce: string;
  name: string;
  host: string;
  pid: number;
  backend: string;
  backendReason: string;
  /** Workers behind this connection (a relay's local workers; 1 for a worker): even shards are cut in proportion. */
  slots?: number;
  /** A host server's mesh port: it can own a slice of the summation (peers dial it there). */
  mesh?: number;
}
export interface ReadyMsg {
  kind: 'ready';
  modelFingerprint: string;
  datasetFingerprint: string;
}
export interface GradientMsg {
  kind: 'gradient';
  step: number;
  version: number;
  shardId: number;
  count: number;
  lossSum: number;
  correct: number;
  computeMs: number;
  grad: Float32Array;
  /** How long the assignment waited at the worker for its weights to arrive (the weights' download). */
  fetchMs?: number;
  /** With groupSize: the sum over the groups of |group gradient sum / group size|^2 (the noise-scale estimate's). */
  meanSqSum?: number;
  /** Sharded summation: the gradient went to the slices' owners (grad is empty); these are the node's counts. */
  sliced?: boolean;
}
export interface EvalResultMsg {
  kind: 'evalResult';
  evalId: number;
  shardId: number;
  count: number;
  lossSum: number;
  correct: number;
  computeMs: number;
}
export interface FailMsg {
  kind: 'fail';
  code: string;
  message: string;
}
/** The worker's own loss or gradient for a shard is not finite: training diverged (sent instead of NaN frames). */
export interface DivergedMsg {
  kind: 'diverged';
  step: number;
  version: number;
  shardId: number;
  what: 'loss' | 'gradient';
}
/** A relay's word about its local workers (a deadline missed, a worker lost): the coordinator logs it under the relay's name. */
export interface NoteMsg {
  kind: 'note';
  text: string;
}
export type WorkerMsg =
  | HelloMsg
  | ReadyMsg
  | GradientMsg
  | EvalResultMsg
  | FailMsg
  | DivergedMsg
  | NoteMsg
  | MeshReadyMsg
  | PartMsg
  | SliceMsg;

export interface ParseContext extends GradientDecoding {
  paramCount: number;
  trainSize: number;
  evalSize: number;
  /** The most samples one assignment may carry (a worker learns it at the welcome; default MAX_BATCH_SIZE). */
  maxShard?: number;
  /**
   * A gradient message's fp32 values are not checked one by one here but in the sum they join (the coordinator's):
   * a non-finite value makes every sum it joins non-finite, and a step whose mean is not finite runs again with
   * this off, which names the sender (one pass over each received vector saved). Parts and slices of sharded
   * summation are always checked.
   */
  deferFinite?: boolean;
}

/** The bounds of a run's frames: its gradient length and the sample indices its dataset has. */
export function runBounds(paramCount: number, dataset: Pick<Dataset, 'size'>): ParseContext {
  return {
    paramCount,
    trainSize: dataset.size('train'),
    evalSize: Math.max(dataset.size('val'), dataset.size('test')),
  };
}

/** Validate a decoded frame from a worker. Throws TrainerError with a code on anything malformed. */
export function parseWorkerMsg(raw: unknown, ctx: ParseContext): WorkerMsg {
  const o = asObject(raw);
  const kind = o['kind'];
  switch (kind) {
    case 'hello':
      return {
        kind,
        protocol: int(o, 'protocol'),
        mac: str(o, 'mac', 128),
        nonce: str(o, 'nonce', 128),
        name: str(o, 'name'),
        host: str(o, 'host'),
        pid: int(o, 'pid'),
        backend: str(o, 'backend', 32),
        backendReason: str(o, 'backendReason', 2000),
        ...(o['slots'] === undefined ? {} : { slots: int(o, 'slots', 1, MAX_WORKERS) }),
        ...(o['mesh'] === undefined ? {} : { mesh: int(o, 'mesh', 1, 65535) }),
      };
    case 'ready':
      return {
        kind,
        modelFingerprint: str(o, 'modelFingerprint', 64),
        datasetFingerprint: str(o, 'datasetFingerprint', 64),
      };
    case 'gradient':
      return parseGradient(o, ctx);
    case 'evalResult':
      return {
        kind,
        evalId: int(o, 'evalId'),
        shardId: int(o, 'shardId'),
        count: int(o, 'count', 1, MAX_BATCH_SIZE),
        lossSum: finite(o, 'lossSum', 0),
        correct: int(o, 'correct'),
        computeMs: finite(o, 'computeMs', 0),
      };
    case 'fail':
      return { kind, code: str(o, 'code', 64), message: str(o, 'message', 4000) };
    case 'note':
      return { kind, text: str(o, 'text', MAX_NOTE_CHARS) };
    case 'meshReady':
      return parseMeshReady(o);
    case 'part':
      return parsePart(o, ctx);
    case 'slice':
      return parseSlice(o, ctx);
    case 'diverged': {
      const what = str(o, 'what', 16);
      if (what !== 'loss' && what !== 'gradient') fail('ERR_BAD_FRAME', `field "what" must be loss or gradient`);
      return { kind, step: int(o, 'step'), version: int(o, 'version'), shardId: int(o, 'shardId'), what };
    }
    default:
      return fail('ERR_UNKNOWN_KIND', `unknown message kind ${JSON.stringify(kind)?.slice(0, 40)}`);
  }
}

/** Validate a decoded frame from the coordinator. */
export function parseCoordinatorMsg(raw: unknown, ctx: ParseContext): CoordinatorMsg {
  const o = asObject(raw);
  const kind = o['kind'];
  switch (kind) {
    case 'challenge':
      return { kind, protocol: int(o, 'protocol'), nonce: str(o, 'nonce', 128), auth: bool(o, 'auth') };
    case 'welcome':
      return parseWelcome(o);
    case 'reject':
      return { kind, code: str(o, 'code', 64), message: str(o, 'message', 4000) };
    case 'weights': {
      const part = sliceOf(o);
      const data = floats(o, 'data', ctx.paramCount, part.slice !== undefined);
      return { kind, version: int(o, 'version'), data, ...part };
    }
    case 'mesh':
      return parseMesh(o);
    case 'weightsDelta':
      return weightsDelta(o, ctx.paramCount);
    case 'assign':
      return {
        kind,
        step: int(o, 'step'),
        version: int(o, 'version'),
        epoch: int(o, 'epoch'),
        shardId: int(o, 'shardId'),
        indices: indices(o, 'indices', ctx.trainSize, ctx.maxShard),
        ...groupSizeOf(o),
        ...(o['flush'] === undefined ? {} : { flush: bool(o, 'flush') }),
        ...(o['node'] === undefined ? {} : { node: treeNode(o['node']) }),
      };
    case 'evaluate': {
      const split = str(o, 'split', 8);
      if (split !== 'val' && split !== 'test') fail('ERR_BAD_FRAME', `unknown split "${split}"`);
      return {
        kind,
        evalId: int(o, 'evalId'),
        split,
        shardId: int(o, 'shardId'),
        indices: indices(o, 'indices', ctx.evalSize, ctx.maxShard),
        ...groupSizeOf(o),
      };
    }
    case 'shutdown':
      return { kind, reason: str(o, 'reason', 4000) };
    default:
      return fail('ERR_UNKNOWN_KIND', `unknown message kind ${JSON.stringify(kind)?.slice(0, 40)}`);
  }
}

function groupSizeOf(o: Record<string, unknown>): { groupSize?: number } {
  return o['groupSize'] === undefined ? {} : { groupSize: int(o, 'groupSize', 1, MAX_BATCH_SIZE) };
}

/** A gradient's values: none when `sliced` (its owners hold them), else the model's. */
function gradientOf(o: Record<string, unknown>, ctx: ParseContext): { grad: Float32Array; sliced?: true } {
  if (o['sliced'] === undefined || !bool(o, 'sliced'))
    return { grad: wireGradient(o, ctx.paramCount, ctx, false, !ctx.deferFinite) };
  const grad = o['grad'];
  if (!(grad instanceof Float32Array && grad.length === 0))
    fail('ERR_SHAPE_MISMATCH', 'a sliced gradient carries no values (they went to the owners)');
  return { grad, sliced: true };
}

function treeNode(v: unknown): { lo: number; hi: number; groups: number } {
  const o = asObject(v);
  const groups = int(o, 'groups', 1, MAX_BATCH_SIZE);
  const lo = int(o, 'lo', 0, groups - 1);
  return { lo, hi: int(o, 'hi', lo + 1, groups), groups };
}

function parseGradient(o: Record<string, unknown>, ctx: ParseContext): GradientMsg {
  return {
    kind: 'gradient',
    step: int(o, 'step'),
    version: int(o, 'version'),
    shardId: int(o, 'shardId'),
    count: int(o, 'count', 1, MAX_BATCH_SIZE),
    lossSum: finite(o, 'lossSum', 0),
    correct: int(o, 'correct'),
    computeMs: finite(o, 'computeMs', 0),
    ...gradientOf(o, ctx),
    ...(o['fetchMs'] === undefined ? {} : { fetchMs: finite(o, 'fetchMs', 0) }),
    ...(o['meanSqSum'] === undefined ? {} : { meanSqSum: finite(o, 'meanSqSum', 0) }),
  };
}

function parseWelcome(o: Record<string, unknown>): WelcomeMsg {
  return {
    kind: 'welcome',
    workerId: int(o, 'workerId'),
    runId: str(o, 'runId'),
    model: str(o, 'model', 128),
    modelFingerprint: str(o, 'modelFingerprint', 64),
    ...(o['modelSpec'] === undefined ? {} : { modelSpec: parseModelSpec(o['modelSpec']) }),
    manifest: manifest(o, 'manifest'),
    dataset: datasetSpec(o, 'dataset'),
    datasetFingerprint: str(o, 'datasetFingerprint', 64),
    maxShard: int(o, 'maxShard', 1, MAX_BATCH_SIZE),
    ...(o['gradWire'] === undefined ? {} : { gradWire: gradWireOf(o['gradWire']) }),
    ...(o['weightWire'] === undefined ? {} : { weightWire: weightWireOf(o['weightWire']) }),
  };
}
