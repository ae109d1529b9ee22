// A layer spec that did not come from the zoo (a model file, a config file, a welcome from the network) is
// checked here once: every field typed and bounded, every layer given an input of the rank it works on, the
// last layer the class scores, and the parameter count within what one frame can carry.

import { TrainerError } from './errors.js';
import { FRAME_OVERHEAD_BYTES, MAX_CLIENT_FRAME_BYTES } from './limits.js';
import { buildManifest, type LayerSpec, layerShapes, type ModelSpec, paramCount } from './model.js';

/** Most parameters a model may have: its weights must fit one frame to a worker. */
export const MAX_MODEL_PARAMS = Math.floor((MAX_CLIENT_FRAME_BYTES - FRAME_OVERHEAD_BYTES) / 4);
const MAX_LAYERS = 2_000;

function bad(message: string): never {
  throw new TrainerError('ERR_BAD_CONFIG', `model spec: ${message}`, {
    hint: 'give --model a zoo name or a tfjs LayersModel file (model.json)',
  });
}

function int(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key];
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max)
    bad(`${key} ${JSON.stringify(v)} is not in ${min}..${max}`);
  return v as number;
}

function oneOf<T extends string>(o: Record<string, unknown>, key: string, values: readonly T[]): T {
  const v = o[key];
  if (!values.includes(v as T)) bad(`${key} ${JSON.stringify(v)} is not one of ${values.join(', ')}`);
  return v as T;
}

function layerOf(v: unknown): LayerSpec {
  if (typeof v !== 'object' || v === null) bad('a layer is not an object');
  const o = v as Record<string, unknown>;
  const acts = ['relu', 'linear'] as const;
  switch (o.type) {
    case 'conv2d':
      return {
        type: 'conv2d',
        filters: int(o, 'filters', 1, 1 << 16),
        kernel: int(o, 'kernel', 1, 64),
        stride: int(o, 'stride', 1, 64),
        padding: oneOf(o, 'padding', ['valid', 'same'] as const),
        activation: oneOf(o, 'activation', acts),
      };
    case 'maxpool':
      return { type: 'maxpool', size: int(o, 'size', 1, 64), stride: int(o, 'stride', 1, 64) };
    case 'flatten':
      return { type: 'flatten' };
    case 'gap':
      return { type: 'gap' };
    case 'dense':
      return { type: 'dense', units: int(o, 'units', 1, 1 << 16), activation: oneOf(o, 'activation', acts) };
    case 'convbn':
      if (typeof o.relu !== 'boolean') bad('convbn.relu is not a boolean');
      return {
        type: 'convbn',
        filters: int(o, 'filters', 1, 1 << 16),
        kernel: int(o, 'kernel', 1, 64),
        stride: int(o, 'stride', 1, 64),
        relu: o.relu,
      };
    case 'resblock':
      return {
        type: 'resblock',
        filters: int(o, 'filters', 1, 1 << 16),
        stride: int(o, 'stride', 1, 64),
        shortcut: oneOf(o, 'shortcut', ['pad', 'project'] as const),
      };
    default:
      return bad(`layer type ${JSON.stringify(o.type)} is unknown`);
  }
}

/** Layers that read an image ([h, w, c]); the others ('dense') read a vector. */
const IMAGE_LAYERS = new Set<LayerSpec['type']>(['conv2d', 'maxpool', 'convbn', 'resblock', 'gap', 'flatten']);

/** Ranks, class scores and size of a spec (throws ERR_BAD_CONFIG). */
export function checkModelSpec(spec: ModelSpec): void {
  const shapes = layerShapes(spec);
  for (const [i, { layer, input }] of shapes.entries()) {
    const image = IMAGE_LAYERS.has(layer.type);
    if (image !== (input.length === 3) && !(layer.type === 'flatten' && input.length === 1)) {
      bad(
        `layer ${i + 1} (${layer.type}) gets a [${input.join(', ')}] input` +
          (image ? '' : ': add a Flatten or a global average pooling before it'),
      );
    }
  }
  const last = spec.layers[spec.layers.length - 1];
  if (last?.type !== 'dense' || last.activation !== 'linear' || last.units !== spec.classes) {
    bad(`the last layer must be a dense layer of ${spec.classes} units without activation (the class scores)`);
  }
  const params = paramCount(buildManifest(spec));
  if (params > MAX_MODEL_PARAMS) bad(`${params} parameters, more than ${MAX_MODEL_PARAMS}`);
}

/** A spec from outside (config file, welcome): typed, bounded and checked. */
export function parseModelSpec(v: unknown): ModelSpec {
  if (typeof v !== 'object' || v === null) bad('not an object');
  const o = v as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 128)
    bad('name is not a string of 1..128 characters');
  const shape = o.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d >= 1 && d <= 4096)) {
    bad('inputShape is not [height, width, channels] in 1..4096');
  }
  if (!Array.isArray(o.layers) || o.layers.length === 0 || o.layers.length > MAX_LAYERS)
    bad(`layers is not a list of 1..${MAX_LAYERS}`);
  const eps = o.bnEpsilon;
  if (eps !== undefined && !(typeof eps === 'number' && eps > 0 && eps < 1)) bad('bnEpsilon is not in (0, 1)');
  const spec: ModelSpec = {
    name: o.name,
    inputShape: [shape[0], shape[1], shape[2]] as [number, number, number],
    classes: int(o, 'classes', 1, 1 << 16),
    layers: o.layers.map(layerOf),
    ...(eps !== undefined ? { bnEpsilon: eps as number } : {}),
  };
  checkModelSpec(spec);
  return spec;
}
