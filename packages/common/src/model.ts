// Model zoo: layer specs, the flat parameter manifest (STYLE.md #3, after llm.c), seeded init, FLOP counts.
// The reference CNN is the one from the momentum-SGD article: 122,570 parameters for 32x32x3 inputs.

import { createHash } from 'node:crypto';
import { TrainerError } from './errors.js';
import { hashInts, Rng } from './rng.js';

export type Padding = 'valid' | 'same';
export type Activation = 'relu' | 'linear';

export type LayerSpec =
  | { type: 'conv2d'; filters: number; kernel: number; stride: number; padding: Padding; activation: Activation }
  | { type: 'maxpool'; size: number; stride: number }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; activation: Activation };

export interface ModelSpec {
  name: string;
  inputShape: readonly [number, number, number];
  classes: number;
  layers: readonly LayerSpec[];
}

export interface ParamEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export type Manifest = ParamEntry[];

const conv = (filters: number, activation: Activation = 'relu'): LayerSpec => ({
  type: 'conv2d',
  filters,
  kernel: 3,
  stride: 1,
  padding: 'valid',
  activation,
});
const pool: LayerSpec = { type: 'maxpool', size: 2, stride: 2 };

export const MODELS: Record<string, ModelSpec> = {
  /** Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense64-Dense10 (Keras CIFAR-10 tutorial CNN). */
  'reference-cnn': {
    name: 'reference-cnn',
    inputShape: [32, 32, 3],
    classes: 10,
    layers: [
      conv(32),
      pool,
      conv(64),
      pool,
      conv(64),
      { type: 'flatten' },
      { type: 'dense', units: 64, activation: 'relu' },
      { type: 'dense', units: 10, activation: 'linear' },
    ],
  },
  /** A 2-layer MLP of ~1M parameters (986,570): the mid-size point of `bench scale`. */
  'mlp-1m': {
    name: 'mlp-1m',
    inputShape: [32, 32, 3],
    classes: 10,
    layers: [
      { type: 'flatten' },
      { type: 'dense', units: 320, activation: 'relu' },
      { type: 'dense', units: 10, activation: 'linear' },
    ],
  },
  /** A 2-layer MLP of ~11M parameters (10,821,340): the large point of `bench scale` (ResNet-18 size). */
  'mlp-11m': {
    name: 'mlp-11m',
    inputShape: [32, 32, 3],
    classes: 10,
    layers: [
      { type: 'flatten' },
      { type: 'dense', units: 3510, activation: 'relu' },
      { type: 'dense', units: 10, activation: 'linear' },
    ],
  },
  /** A small CNN for fast tests and smoke runs (no BatchNorm, so sharded sums are exact). */
  'tiny-cnn': {
    name: 'tiny-cnn',
    inputShape: [32, 32, 3],
    classes: 10,
    layers: [conv(8), pool, { type: 'flatten' }, { type: 'dense', units: 10, activation: 'linear' }],
  },
};

export function getModelSpec(name: string): ModelSpec {
  const spec = MODELS[name];
  if (!spec) {
    throw new TrainerError('ERR_BAD_CONFIG', `unknown model "${name}"`, {
      hint: `choose one of: ${Object.keys(MODELS).join(', ')}`,
    });
  }
  return spec;
}

export interface LayerShape {
  layer: LayerSpec;
  input: number[];
  output: number[];
}

function convOut(size: number, kernel: number, stride: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - kernel) / stride) + 1;
}

/** Per-example input and output shapes of every layer. */
export function layerShapes(spec: ModelSpec): LayerShape[] {
  let shape: number[] = [...spec.inputShape];
  const out: LayerShape[] = [];
  for (const layer of spec.layers) {
    const input = shape;
    switch (layer.type) {
      case 'conv2d':
        shape = [
          convOut(input[0]!, layer.kernel, layer.stride, layer.padding),
          convOut(input[1]!, layer.kernel, layer.stride, layer.padding),
          layer.filters,
        ];
        break;
      case 'maxpool':
        shape = [
          convOut(input[0]!, layer.size, layer.stride, 'valid'),
          convOut(input[1]!, layer.size, layer.stride, 'valid'),
          input[2]!,
        ];
        break;
      case 'flatten':
        shape = [input.reduce((a, b) => a * b, 1)];
        break;
      case 'dense':
        shape = [layer.units];
        break;
    }
    if (shape.some((d) => d < 1)) {
      throw new TrainerError('ERR_BAD_CONFIG', `model ${spec.name}: layer ${layer.type} shrinks the input to nothing`);
    }
    out.push({ layer, input, output: shape });
  }
  return out;
}

/** The flat parameter layout: one entry per kernel and bias, in layer order. */
export function buildManifest(spec: ModelSpec): Manifest {
  const manifest: Manifest = [];
  let offset = 0;
  const add = (name: string, shape: number[]): void => {
    const length = shape.reduce((a, b) => a * b, 1);
    manifest.push({ name, shape, offset, length });
    offset += length;
  };
  const counts = { conv2d: 0, dense: 0 };
  for (const { layer, input } of layerShapes(spec)) {
    if (layer.type === 'conv2d') {
      const n = ++counts.conv2d;
      add(`conv2d_${n}/kernel`, [layer.kernel, layer.kernel, input[2]!, layer.filters]);
      add(`conv2d_${n}/bias`, [layer.filters]);
    } else if (layer.type === 'dense') {
      const n = ++counts.dense;
      add(`dense_${n}/kernel`, [input[0]!, layer.units]);
      add(`dense_${n}/bias`, [layer.units]);
    }
  }
  return manifest;
}

export function paramCount(manifest: Manifest): number {
  const last = manifest[manifest.length - 1];
  return last ? last.offset + last.length : 0;
}

/** Keras defaults: Glorot-uniform kernels, zero biases; a pure function of the seed. */
export function initWeights(manifest: Manifest, seed: number): Float32Array {
  const w = new Float32Array(paramCount(manifest));
  manifest.forEach((p, i) => {
    if (p.shape.length === 1) return; // bias: zeros
    const receptive = p.shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const fanIn = receptive * p.shape[p.shape.length - 2]!;
    const fanOut = receptive * p.shape[p.shape.length - 1]!;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const rng = new Rng(hashInts(seed, 0x1417, i));
    for (let j = 0; j < p.length; j++) w[p.offset + j] = rng.uniform(-limit, limit);
  });
  return w;
}

/** Forward FLOPs per example (multiply-add counted as 2); training is about 3x this. */
export function forwardFlops(spec: ModelSpec): number {
  let flops = 0;
  for (const { layer, input, output } of layerShapes(spec)) {
    if (layer.type === 'conv2d') {
      flops += 2 * layer.kernel * layer.kernel * input[2]! * output[0]! * output[1]! * output[2]!;
    } else if (layer.type === 'dense') {
      flops += 2 * input[0]! * layer.units;
    }
  }
  return flops;
}

/** Identifies the architecture and parameter layout; both sides must agree on it. */
export function modelFingerprint(spec: ModelSpec): string {
  const body = JSON.stringify({ spec, manifest: buildManifest(spec) });
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}
