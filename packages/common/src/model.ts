// Model zoo: layer specs, the flat parameter manifest (STYLE.md #3, after llm.c), seeded init, FLOP counts.
// The reference CNN is the one from the momentum-SGD article: 122,570 parameters for 32x32x3 inputs.

import { createHash } from 'node:crypto';
import { TrainerError } from './errors.js';
import { RESNETS } from './resnet.js';
import { hashInts, Rng } from './rng.js';

export type Padding = 'valid' | 'same';
export type Activation = 'relu' | 'linear';

export type LayerSpec =
  | { type: 'conv2d'; filters: number; kernel: number; stride: number; padding: Padding; activation: Activation }
  | { type: 'maxpool'; size: number; stride: number }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; activation: Activation }
  /** Convolution without bias ('same' padding), batch norm, then ReLU when `relu` (resnet.ts). */
  | { type: 'convbn'; filters: number; kernel: number; stride: number; relu: boolean }
  /**
   * A basic residual block (He et al. 2016): convbn 3x3 (stride, ReLU), convbn 3x3, plus the shortcut, then
   * ReLU. Shortcut where the shape changes: 'pad' (option A: subsampled identity, zero channels added) or
   * 'project' (option B: 1x1 convolution with batch norm).
   */
  | { type: 'resblock'; filters: number; stride: number; shortcut: 'pad' | 'project' }
  /** Global average pooling: [h, w, c] -> [c]. */
  | { type: 'gap' };

export interface ModelSpec {
  name: string;
  inputShape: readonly [number, number, number];
  classes: number;
  layers: readonly LayerSpec[];
  /** Batch norm's epsilon where it is not PyTorch's 1e-5 (a model file's BatchNormalization layers). */
  bnEpsilon?: number;
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
  const spec = MODELS[name] ?? RESNETS[name];
  if (!spec) {
    throw new TrainerError('ERR_BAD_CONFIG', `unknown model "${name}"`, {
      hint: `choose one of: ${[...Object.keys(MODELS), ...Object.keys(RESNETS)].join(', ')}`,
    });
  }
  return spec;
}

/** `spec` scoring `classes` classes: its last (dense) layer that wide; the same spec when it already is. */
export function withClasses(spec: ModelSpec, classes: number): ModelSpec {
  const last = spec.layers[spec.layers.length - 1];
  if (spec.classes === classes || last?.type !== 'dense') return spec;
  return { ...spec, classes, layers: [...spec.layers.slice(0, -1), { ...last, units: classes }] };
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
      case 'convbn':
      case 'resblock': {
        const k = layer.type === 'convbn' ? layer.kernel : 3;
        shape = [
          convOut(input[0]!, k, layer.stride, 'same'),
          convOut(input[1]!, k, layer.stride, 'same'),
          layer.filters,
        ];
        break;
      }
      case 'gap':
        shape = [input[2]!];
        break;
    }
    if (shape.some((d) => d < 1)) {
      throw new TrainerError('ERR_BAD_CONFIG', `model ${spec.name}: layer ${layer.type} shrinks the input to nothing`);
    }
    out.push({ layer, input, output: shape });
  }
  return out;
}

/**
 * The flat parameter layout: one entry per kernel, bias and batch-norm scale and offset, in layer order;
 * then the batch-norm running statistics (not trained: `trainableCount` ends before them).
 */
export function buildManifest(spec: ModelSpec): Manifest {
  const manifest: Manifest = [];
  const stats: [string, number[]][] = [];
  let offset = 0;
  const add = (name: string, shape: number[]): void => {
    const length = shape.reduce((a, b) => a * b, 1);
    manifest.push({ name, shape, offset, length });
    offset += length;
  };
  const counts = { conv2d: 0, dense: 0, bn: 0 };
  const convBn = (kernel: number, cin: number, filters: number): void => {
    add(`conv2d_${++counts.conv2d}/kernel`, [kernel, kernel, cin, filters]);
    const bn = `batch_normalization_${++counts.bn}`;
    add(`${bn}/gamma`, [filters]);
    add(`${bn}/beta`, [filters]);
    stats.push([`${bn}/moving_mean`, [filters]], [`${bn}/moving_variance`, [filters]]);
  };
  for (const { layer, input } of layerShapes(spec)) {
    if (layer.type === 'conv2d') {
      const n = ++counts.conv2d;
      add(`conv2d_${n}/kernel`, [layer.kernel, layer.kernel, input[2]!, layer.filters]);
      add(`conv2d_${n}/bias`, [layer.filters]);
    } else if (layer.type === 'dense') {
      const n = ++counts.dense;
      add(`dense_${n}/kernel`, [input[0]!, layer.units]);
      add(`dense_${n}/bias`, [layer.units]);
    } else if (layer.type === 'convbn') {
      convBn(layer.kernel, input[2]!, layer.filters);
    } else if (layer.type === 'resblock') {
      convBn(3, input[2]!, layer.filters);
      convBn(3, layer.filters, layer.filters);
      if (projects(layer, input)) convBn(1, input[2]!, layer.filters);
    }
  }
  for (const [name, shape] of stats) add(name, shape);
  return manifest;
}

/** Whether a residual block's shortcut is a 1x1 convolution (option B where the shape changes). */
export function projects(
  layer: { stride: number; filters: number; shortcut: 'pad' | 'project' },
  input: readonly number[],
) {
  return layer.shortcut === 'project' && (layer.stride !== 1 || layer.filters !== input[2]);
}

/** Whether a manifest entry is a batch-norm running statistic (kept by the coordinator, not trained). */
export function isRunningStat(name: string): boolean {
  return name.endsWith('/moving_mean') || name.endsWith('/moving_variance');
}

/** The trained values: everything before the first running statistic. */
export function trainableCount(manifest: Manifest): number {
  const first = manifest.find((p) => isRunningStat(p.name));
  return first ? first.offset : paramCount(manifest);
}

/** Batch norm's epsilon unless a model says otherwise (PyTorch's; Keras' default is 1e-3). */
export const BN_EPSILON = 1e-5;

/** How far batch norm's running statistics move toward each step's average group moments (PyTorch's 0.1). */
export const BN_MOMENTUM = 0.1;

/** running = (1 - m) running + m moments, in place (the running statistics' part of the flat vectors). */
export function updateRunningStats(running: Float32Array, moments: Float32Array, m = BN_MOMENTUM): void {
  for (let i = 0; i < running.length; i++) running[i] = (1 - m) * running[i]! + m * moments[i]!;
}

/** Whether the model normalizes batches (its groups are then its batch-norm batches). */
export function hasBatchNorm(spec: ModelSpec): boolean {
  return spec.layers.some((l) => l.type === 'convbn' || l.type === 'resblock');
}

export function paramCount(manifest: Manifest): number {
  const last = manifest[manifest.length - 1];
  return last ? last.offset + last.length : 0;
}

/**
 * Keras defaults: Glorot-uniform kernels, zero biases, batch-norm scales and running variances 1, offsets
 * and running means 0; a pure function of the seed.
 */
export function initWeights(manifest: Manifest, seed: number): Float32Array {
  const w = new Float32Array(paramCount(manifest));
  manifest.forEach((p, i) => {
    if (p.name.endsWith('/gamma') || p.name.endsWith('/moving_variance')) w.fill(1, p.offset, p.offset + p.length);
    if (p.shape.length === 1) return; // bias, offsets, running means: zeros
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
    } else if (layer.type === 'convbn') {
      flops += 2 * layer.kernel * layer.kernel * input[2]! * output[0]! * output[1]! * output[2]!;
    } else if (layer.type === 'resblock') {
      const pixels = output[0]! * output[1]!;
      flops += 2 * 9 * pixels * layer.filters * (input[2]! + layer.filters);
      if (projects(layer, input)) flops += 2 * pixels * input[2]! * layer.filters;
    }
  }
  return flops;
}

/** Identifies the architecture and parameter layout; both sides must agree on it. */
export function modelFingerprint(spec: ModelSpec): string {
  const body = JSON.stringify({ spec, manifest: buildManifest(spec) });
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}
