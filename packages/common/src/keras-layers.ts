// A model file's layer chain (keras-topology.ts) as dtrain's layer spec: Conv2D, MaxPooling2D, Flatten, Dense,
// BatchNormalization after a convolution ('convbn'; the convolution's bias, which batch norm cancels, is
// dropped), ReLU / Activation('relu') folded into the layer before, GlobalAveragePooling2D, residual blocks
// ('resblock'), and a final softmax folded into the loss (dtrain's models output logits). Weights and
// initializers in the file are not used: a run starts from dtrain's seeded initialization. Everything else
// is refused naming the layer and the reason.

import { badModel, type KerasBlock, type KerasLayer, kerasChain } from './keras-topology.js';
import { BN_EPSILON, type LayerSpec, layerShapes, type ModelSpec } from './model.js';
import { checkModelSpec } from './model-check.js';

/** Why a layer dtrain does not train is refused (and what to do). */
const REFUSED: Record<string, string> = {
  Dropout: 'dropout is not implemented (dtrain regularizes with --weight-decay and augmentation); remove it',
  SpatialDropout2D: 'dropout is not implemented; remove it',
  Lambda: 'a Lambda layer is Python code that model.json does not carry',
  Rescaling: 'dtrain normalizes inputs itself (--normalize); remove it',
  Normalization: 'dtrain normalizes inputs itself (--normalize); remove it',
  LayerNormalization: 'only batch normalization after a convolution is implemented',
  AveragePooling2D: 'only max pooling and global average pooling are implemented',
};

const SUPPORTED =
  'supported: InputLayer, Conv2D, BatchNormalization (after Conv2D), ReLU, Activation (relu, linear, final softmax), ' +
  'MaxPooling2D, Flatten, GlobalAveragePooling2D, Dense, Add (residual blocks)';

interface Mapping {
  layers: LayerSpec[];
  epsilons: Set<number>;
  /** Indexes of residual blocks whose shortcut is the identity (checked against the shapes later). */
  identity: Set<number>;
}

/** A square size from Keras' [a, a] or a. */
function square(l: KerasLayer, key: string, fallback?: number): number {
  const v = l.config[key] ?? fallback;
  const [a, b] = Array.isArray(v) ? v : [v, v];
  if (!Number.isInteger(a) || a !== b || (a as number) < 1 || (a as number) > 64) {
    badModel(`layer "${l.name}" (${l.className}): ${key} ${JSON.stringify(v)} is not a square size in 1..64`);
  }
  return a as number;
}

function expect(l: KerasLayer, key: string, ok: (v: unknown) => boolean, want: string): void {
  if (!ok(l.config[key])) {
    badModel(`layer "${l.name}" (${l.className}): ${key} ${JSON.stringify(l.config[key])} is not supported (${want})`);
  }
}

const absentOr =
  (...values: unknown[]) =>
  (v: unknown) =>
    v === undefined || v === null || values.some((w) => JSON.stringify(w) === JSON.stringify(v));

function activationOf(l: KerasLayer, last: boolean): 'relu' | 'linear' {
  const a = l.config.activation ?? 'linear';
  if (a === 'relu' || a === 'linear') return a;
  if (a === 'softmax' && last) return 'linear';
  return badModel(
    `layer "${l.name}" (${l.className}): activation ${JSON.stringify(a)} is not supported`,
    'use relu or linear (softmax only on the last layer, where dtrain folds it into the loss)',
  );
}

function convOf(l: KerasLayer, last: boolean): LayerSpec {
  expect(l, 'data_format', absentOr('channels_last'), 'channels_last');
  expect(l, 'dilation_rate', absentOr(1, [1, 1]), 'no dilation');
  expect(l, 'groups', absentOr(1), 'groups 1');
  expect(l, 'padding', absentOr('valid', 'same'), 'valid or same');
  return {
    type: 'conv2d',
    filters: positive(l, 'filters'),
    kernel: square(l, 'kernel_size'),
    stride: square(l, 'strides', 1),
    padding: l.config.padding === 'same' ? 'same' : 'valid',
    activation: activationOf(l, last),
  };
}

function positive(l: KerasLayer, key: string): number {
  const v = l.config[key];
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 1 << 16) {
    badModel(`layer "${l.name}" (${l.className}): ${key} ${JSON.stringify(v)} must be a whole number in 1..65536`);
  }
  return v as number;
}

/** Batch norm turns the convolution just mapped into a 'convbn'. */
function foldBatchNorm(l: KerasLayer, m: Mapping): void {
  const prev = m.layers[m.layers.length - 1];
  if (prev?.type !== 'conv2d' || prev.activation !== 'linear' || prev.padding !== 'same') {
    badModel(
      `layer "${l.name}" (BatchNormalization) follows no linear, same-padded Conv2D`,
      'dtrain implements batch norm between a convolution (no activation, padding same) and its ReLU',
    );
  }
  expect(l, 'axis', absentOr(-1, 3, [-1], [3]), 'the channel axis');
  expect(l, 'center', absentOr(true), 'center true');
  expect(l, 'scale', absentOr(true), 'scale true');
  const eps = l.config.epsilon ?? 1e-3;
  if (typeof eps !== 'number' || !(eps > 0 && eps < 1))
    badModel(`layer "${l.name}": epsilon ${String(eps)} must be in (0, 1)`);
  m.epsilons.add(eps);
  m.layers[m.layers.length - 1] = {
    type: 'convbn',
    filters: prev.filters,
    kernel: prev.kernel,
    stride: prev.stride,
    relu: false,
  };
}

/** A ReLU (layer or activation) makes the layer before it activated. */
function foldRelu(l: KerasLayer, m: Mapping): void {
  if (l.className === 'ReLU') {
    expect(l, 'max_value', absentOr(), 'no max_value');
    expect(l, 'negative_slope', absentOr(0), 'negative_slope 0');
    expect(l, 'threshold', absentOr(0), 'threshold 0');
  }
  const prev = m.layers[m.layers.length - 1];
  if ((prev?.type === 'conv2d' || prev?.type === 'dense') && prev.activation === 'linear') prev.activation = 'relu';
  else if (prev?.type === 'convbn' && !prev.relu) prev.relu = true;
  else badModel(`layer "${l.name}": a ReLU after ${prev ? `a ${prev.type} layer` : 'the input'} is not supported`);
}

function mapLayer(l: KerasLayer, last: boolean, m: Mapping): void {
  const c = l.config;
  switch (l.className) {
    case 'Conv2D':
      return void m.layers.push(convOf(l, last));
    case 'BatchNormalization':
      return foldBatchNorm(l, m);
    case 'ReLU':
      return foldRelu(l, m);
    case 'Activation':
      if (c.activation === 'relu') return foldRelu(l, m);
      if (c.activation === 'linear' || (c.activation === 'softmax' && last)) return;
      return void activationOf(l, false);
    case 'MaxPooling2D': {
      expect(l, 'padding', absentOr('valid'), 'valid');
      const size = square(l, 'pool_size', 2);
      return void m.layers.push({ type: 'maxpool', size, stride: square(l, 'strides', size) });
    }
    case 'Flatten':
      return void m.layers.push({ type: 'flatten' });
    case 'GlobalAveragePooling2D':
      expect(l, 'keepdims', absentOr(false), 'keepdims false');
      return void m.layers.push({ type: 'gap' });
    case 'Dense':
      expect(l, 'use_bias', absentOr(true), 'with a bias');
      return void m.layers.push({ type: 'dense', units: positive(l, 'units'), activation: activationOf(l, last) });
    default:
      badModel(
        `layer "${l.name}" (${l.className}) cannot be trained: ${REFUSED[l.className] ?? 'not implemented'}`,
        SUPPORTED,
      );
  }
}

function mapLayers(items: readonly KerasLayer[], m: Mapping, lastItem: boolean): void {
  items.forEach((l, i) => mapLayer(l, lastItem && i === items.length - 1, m));
}

/** A 1x1 convolution without bias that is not trained: dtrain export's option-A (pad) shortcut. */
function isPadShortcut(path: readonly KerasLayer[]): boolean {
  const [c] = path;
  return (
    path.length === 1 && c!.className === 'Conv2D' && c!.config.trainable === false && c!.config.use_bias === false
  );
}

function blockOf(b: KerasBlock, m: Mapping): LayerSpec {
  const main: Mapping = { layers: [], epsilons: m.epsilons, identity: new Set() };
  mapLayers(b.main, main, false);
  const [c1, c2] = main.layers;
  const bad: (why: string) => never = (why) =>
    badModel(
      `residual block ending at "${b.name}": ${why}`,
      'a basic block is conv3x3-BN-ReLU-conv3x3-BN + shortcut, then ReLU',
    );
  if (main.layers.length !== 2 || c1?.type !== 'convbn' || c2?.type !== 'convbn')
    bad('the main path is not two convolutions with batch norm');
  if (c1.kernel !== 3 || c2.kernel !== 3 || !c1.relu || c2.relu || c2.stride !== 1 || c1.filters !== c2.filters) {
    bad('the main path is not conv3x3 (stride s) - BN - ReLU - conv3x3 - BN of one width');
  }
  if (b.after.className !== 'ReLU' && !(b.after.className === 'Activation' && b.after.config.activation === 'relu')) {
    bad(`the Add is followed by ${b.after.className}, not a ReLU`);
  }
  const block = {
    type: 'resblock' as const,
    filters: c1.filters,
    stride: c1.stride,
    shortcut: 'pad' as 'pad' | 'project',
  };
  if (b.shortcut.length === 0) m.identity.add(m.layers.length);
  else if (isPadShortcut(b.shortcut)) {
    if (square(b.shortcut[0]!, 'strides', 1) !== c1.stride)
      bad('the shortcut and the main path have different strides');
  } else {
    const short: Mapping = { layers: [], epsilons: m.epsilons, identity: new Set() };
    mapLayers(b.shortcut, short, false);
    const [p] = short.layers;
    if (short.layers.length !== 1 || p?.type !== 'convbn' || p.kernel !== 1 || p.relu || p.stride !== c1.stride) {
      bad('the shortcut is neither the identity nor a 1x1 convolution with batch norm of the block stride');
    }
    block.shortcut = 'project';
  }
  return block;
}

/** The layer spec of a TensorFlow.js LayersModel file's JSON (model.json). */
export function specFromLayersJson(json: unknown, fallbackName: string): ModelSpec {
  const chain = kerasChain(json, fallbackName);
  const m: Mapping = { layers: [], epsilons: new Set(), identity: new Set() };
  chain.items.forEach((item, i) => {
    const last = i === chain.items.length - 1;
    if (item.kind === 'block') m.layers.push(blockOf(item, m));
    else mapLayer(item, last, m);
  });
  const inputShape =
    chain.inputShape ??
    badModel('model file: the input shape is not given', 'give the first layer batch_input_shape [null, 32, 32, 3]');
  const final = m.layers[m.layers.length - 1];
  if (final?.type !== 'dense' || final.activation !== 'linear') {
    badModel('model file: the last layer must be a Dense layer without activation, or with softmax (the class scores)');
  }
  if (m.epsilons.size > 1)
    badModel(`model file: batch norm layers use different epsilons (${[...m.epsilons].join(', ')})`);
  const projecting = m.layers.some((l) => l.type === 'resblock' && l.shortcut === 'project');
  for (const i of m.identity) (m.layers[i] as { shortcut: string }).shortcut = projecting ? 'project' : 'pad';
  const spec: ModelSpec = {
    name: chain.name,
    inputShape: inputShape as [number, number, number],
    classes: final.units,
    layers: m.layers,
    ...(m.epsilons.size === 1 && !m.epsilons.has(BN_EPSILON) ? { bnEpsilon: [...m.epsilons][0]! } : {}),
  };
  checkModelSpec(spec);
  checkIdentityShortcuts(spec, m.identity);
  return spec;
}

function checkIdentityShortcuts(spec: ModelSpec, identity: Set<number>): void {
  layerShapes(spec).forEach(({ layer, input, output }, i) => {
    if (identity.has(i) && input.join() !== output.join()) {
      badModel(
        `model file: residual block ${i + 1} adds its input [${input.join(', ')}] to an output [${output.join(', ')}]`,
      );
    }
  });
}
