// The field readers of the wire protocol's parsers (protocol.ts): each reads one field of a decoded frame,
// checks its type, size and range, and fails with ERR_BAD_FRAME naming the field.

import { decompress, GRAD_WIRES, type GradWire } from './compress.js';
import { type DatasetSpec, MAX_FOLDER_CLASSES, MAX_FOLDER_IMAGES } from './datasets.js';
import { type ErrorCode, TrainerError } from './errors.js';
import { MAX_BATCH_SIZE, MAX_SYNTHETIC_IMAGES } from './limits.js';
import type { Manifest } from './model.js';
import type { WeightsDeltaMsg } from './protocol.js';
import { MAX_SLICES } from './slices.js';
import { type DeltaKernel, jsDeltaKernel, WEIGHT_WIRES, type WeightWire } from './weight-delta.js';

export type Obj = Record<string, unknown>;

export function fail(code: ErrorCode, message: string): never {
  throw new TrainerError(code, message);
}

export function asObject(raw: unknown): Obj {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || ArrayBuffer.isView(raw)) {
    fail('ERR_BAD_FRAME', 'frame is not an object');
  }
  return raw as Obj;
}

export function str(o: Obj, key: string, maxLen = 256): string {
  const v = o[key];
  if (typeof v !== 'string') fail('ERR_BAD_FRAME', `field "${key}" must be a string`);
  if (v.length > maxLen) fail('ERR_BAD_FRAME', `field "${key}" is longer than ${maxLen} characters`);
  return v;
}

export function int(o: Obj, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) fail('ERR_BAD_FRAME', `field "${key}" must be an integer`);
  if (v < min || v > max) fail('ERR_BAD_FRAME', `field "${key}" = ${v} is outside [${min}, ${max}]`);
  return v;
}

export function finite(o: Obj, key: string, min = -Infinity): number {
  const v = o[key];
  if (typeof v !== 'number') fail('ERR_BAD_FRAME', `field "${key}" must be a number`);
  if (!Number.isFinite(v)) fail('ERR_NON_FINITE', `field "${key}" is not finite`);
  if (v < min) fail('ERR_BAD_FRAME', `field "${key}" = ${v} is below ${min}`);
  return v;
}

export function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') fail('ERR_BAD_FRAME', `field "${key}" must be a boolean`);
  return v;
}

/**
 * Branch-free: x * 0 is NaN exactly for NaN and +-Infinity (0.062 ms per 122,570 floats with four sums, 0.127 with one,
 * side by side in one process; a branch per element was slower still).
 */
export function allFinite(v: Float32Array): boolean {
  let a = 0,
    b = 0,
    c = 0,
    d = 0;
  const n4 = v.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    a += v[i]! * 0;
    b += v[i + 1]! * 0;
    c += v[i + 2]! * 0;
    d += v[i + 3]! * 0;
  }
  for (let i = n4; i < v.length; i++) a += v[i]! * 0;
  return a + b + c + d === 0;
}

/**
 * Float32 values, all finite (unless `checkFinite` is false): `length` of them, or with `upTo` (a slice's,
 * protocol-mesh.ts) at most that many.
 */
export function floats(o: Obj, key: string, length: number, upTo = false, checkFinite = true): Float32Array {
  const v = o[key];
  if (!(v instanceof Float32Array)) fail('ERR_BAD_FRAME', `field "${key}" must be a float32 array`);
  if (upTo ? v.length > length : v.length !== length)
    fail('ERR_SHAPE_MISMATCH', `field "${key}" has ${v.length} values, the manifest says ${length}`);
  if (checkFinite && !allFinite(v)) {
    const i = v.findIndex((x) => !Number.isFinite(x));
    fail('ERR_NON_FINITE', `field "${key}" has a non-finite value at ${i}`);
  }
  return v;
}

export function gradWireOf(v: unknown): GradWire {
  if (typeof v !== 'string' || !(GRAD_WIRES as readonly string[]).includes(v))
    fail('ERR_BAD_FRAME', 'field "gradWire" must be one of fp32, bf16, fp16, int8');
  return v as GradWire;
}

/** The largest int8 scale whose 127 multiples are still finite float32 (the float32 just below FLOAT32_MAX / 127). */
const MAX_INT8_SCALE = 2.6793883890187504e36;

export function weightWireOf(v: unknown): WeightWire {
  if (typeof v !== 'string' || !(WEIGHT_WIRES as readonly string[]).includes(v))
    fail('ERR_BAD_FRAME', 'field "weightWire" must be one of fp32, bf16, int8');
  return v as WeightWire;
}

const DIGEST = /^[0-9a-f]{32}$/;

/** The optional slice of a weights or weight-delta message (sharded summation; absent: the whole vector). */
export function sliceOf(o: Obj): { slice?: number } {
  return o['slice'] === undefined ? {} : { slice: int(o, 'slice', 0, MAX_SLICES - 1) };
}

/** A weight delta (weight-delta.ts), its version after its base, its values typed and sized, its scales finite. */
export function weightsDelta(o: Obj, length: number): WeightsDeltaMsg {
  const [version, base, wire] = [int(o, 'version'), int(o, 'base'), weightWireOf(o['wire'])];
  const part = sliceOf(o);
  if (base >= version) fail('ERR_BAD_FRAME', `a weight delta from version ${base} to ${version}`);
  if (wire === 'fp32') fail('ERR_BAD_FRAME', 'a weight delta is bf16 or int8 (fp32 weights travel whole)');
  const data = o['data'];
  if (!(data instanceof (wire === 'int8' ? Int8Array : Uint16Array)))
    fail('ERR_BAD_FRAME', `field "data" must be ${wire} values`);
  if (part.slice === undefined ? data.length !== length : data.length > length)
    fail('ERR_SHAPE_MISMATCH', `field "data" has ${data.length} values, the manifest says ${length}`);
  const digest = o['digest'];
  if (digest !== undefined && (typeof digest !== 'string' || !DIGEST.test(digest)))
    fail('ERR_BAD_FRAME', 'field "digest" must be 32 hex digits');
  const d = {
    ...{ kind: 'weightsDelta' as const, version, base, wire, data },
    ...(digest === undefined ? {} : { digest }),
    ...part,
  };
  if (wire === 'bf16') return d;
  const scales = o['$scales'];
  if (!(scales instanceof Float32Array && scales.every((x) => Number.isFinite(x) && x >= 0)))
    fail('ERR_NON_FINITE', 'int8 weight-delta scales must be finite and >= 0');
  return { ...d, scales };
}

/** How a compressed gradient is expanded: the int8 kernel, and the room its float32 values go to. */
export interface GradientDecoding {
  /** Expands int8 gradients (the SIMD kernels where they load; default JavaScript, the same bits). */
  int8?: Pick<DeltaKernel, 'expandInt8'>;
  /**
   * Room for `values` float32 values, held as long as the received frame itself (the coordinator lends it from
   * the connection's receive pool); null or absent: a fresh array.
   */
  room?: (values: number) => Float32Array | null;
}

/** A gradient in any wire format (compress.ts), validated and returned as float32 values. */
export function wireGradient(
  o: Obj,
  length: number,
  decoding: GradientDecoding = {},
  /** A slice's values (protocol-mesh.ts): at most `length` of them. */
  upTo = false,
  /** fp32 values checked one by one here (false: in the sum they join; ParseContext.deferFinite). */
  checkFinite = true,
): Float32Array {
  const wire = o['wire'] === undefined ? 'fp32' : gradWireOf(o['wire']);
  if (wire === 'fp32') return floats(o, 'grad', length, upTo, checkFinite);
  const v = o['grad'];
  const want = wire === 'int8' ? Int8Array : Uint16Array;
  if (!(v instanceof want)) fail('ERR_BAD_FRAME', `field "grad" must be ${wire} values`);
  if (upTo ? v.length > length : v.length !== length)
    fail('ERR_SHAPE_MISMATCH', `field "grad" has ${v.length} values, the manifest says ${length}`);
  const out = decoding.room?.(v.length) ?? new Float32Array(v.length);
  if (wire === 'int8') {
    // a scale of at most FLOAT32_MAX / 127 keeps every q * scale finite: no pass to check them
    const scales = o['$scales'];
    if (!(scales instanceof Float32Array && scales.every((x) => x >= 0 && x <= MAX_INT8_SCALE)))
      fail('ERR_NON_FINITE', 'int8 gradient scales must be finite, >= 0 and at most 3.4e38 / 127');
    (decoding.int8 ?? jsDeltaKernel).expandInt8(v as Int8Array, scales, out);
    return out;
  }
  decompress({ wire, data: v }, out);
  if (!allFinite(out))
    fail('ERR_NON_FINITE', `field "grad" has a non-finite value at ${out.findIndex((x) => !Number.isFinite(x))}`);
  return out;
}

export function indices(o: Obj, key: string, limit: number, most = MAX_BATCH_SIZE): Uint32Array {
  const v = o[key];
  if (!(v instanceof Uint32Array)) fail('ERR_BAD_FRAME', `field "${key}" must be a uint32 array`);
  if (v.length < 1 || v.length > most) {
    fail(
      'ERR_BAD_FRAME',
      `field "${key}" has ${v.length} entries (at most ${most} here: the run's batch, or what the worker computes at once)`,
    );
  }
  for (let i = 0; i < v.length; i++) {
    if (v[i]! >= limit) fail('ERR_BAD_FRAME', `field "${key}" index ${v[i]} is outside the dataset (${limit})`);
  }
  return v;
}

export function manifest(o: Obj, key: string): Manifest {
  const v = o[key];
  if (!Array.isArray(v) || v.length > 10_000) fail('ERR_BAD_FRAME', `field "${key}" must be a manifest array`);
  return v.map((e: unknown) => {
    const p = asObject(e);
    const shape = p['shape'];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0))
      fail('ERR_BAD_FRAME', 'manifest shape is invalid');
    return { name: str(p, 'name'), shape: shape as number[], offset: int(p, 'offset'), length: int(p, 'length') };
  });
}

export function datasetSpec(o: Obj, key: string): DatasetSpec {
  const d = asObject(o[key]);
  const name = str(d, 'name', 32);
  const common = {
    seed: int(d, 'seed', 0, 2 ** 32 - 1),
    valFraction: finite(d, 'valFraction', 0),
    normalize: bool(d, 'normalize'),
    augment: bool(d, 'augment'),
  };
  if (name === 'synthetic') {
    return {
      name,
      ...common,
      trainSize: int(d, 'trainSize', 1, MAX_SYNTHETIC_IMAGES),
      testSize: int(d, 'testSize', 1, MAX_SYNTHETIC_IMAGES),
    };
  }
  if (name === 'folder') {
    const classes = d['classes'];
    if (!Array.isArray(classes) || classes.length > MAX_FOLDER_CLASSES)
      return fail('ERR_BAD_FRAME', `dataset.classes: not a list of at most ${MAX_FOLDER_CLASSES}`);
    return {
      name,
      ...common,
      path: str(d, 'path', 4096),
      classes: classes.map((c) =>
        typeof c === 'string' && c.length <= 255 ? c : fail('ERR_BAD_FRAME', 'dataset.classes: not names'),
      ),
      images: int(d, 'images', 2, MAX_FOLDER_IMAGES),
      testFraction: finite(d, 'testFraction', 0),
    };
  }
  if (name === 'cifar10' || name === 'cifar100')
    return { name, ...common, limitTrain: int(d, 'limitTrain'), limitTest: int(d, 'limitTest') };
  return fail('ERR_BAD_FRAME', `unknown dataset "${name}"`);
}

/** What a side knows when it parses: the parameter count (after the handshake) and data split sizes. */
