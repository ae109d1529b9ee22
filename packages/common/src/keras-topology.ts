// The layer graph of a TensorFlow.js LayersModel file (model.json, as `tensorflowjs_converter` writes it from
// a Keras model, or as `tf.LayersModel.save` and `dtrain export` write it), read as one chain from the input
// to the output: a Sequential model's layers in order; a functional model's layers along its single path,
// where each fork must join again at an Add (a residual block: main path, shortcut path, the ReLU after).
// Pure: the caller reads the file. Anything else is refused naming the layer (keras-layers.ts maps the chain).

import { TrainerError } from './errors.js';

/** One Keras layer as model.json describes it. */
export interface KerasLayer {
  kind: 'layer';
  className: string;
  name: string;
  config: Record<string, unknown>;
}

/** A residual block of a functional graph: x -> main path and shortcut path -> Add -> the layer after it. */
export interface KerasBlock {
  kind: 'block';
  name: string;
  main: KerasLayer[];
  shortcut: KerasLayer[];
  after: KerasLayer;
}

export type KerasItem = KerasLayer | KerasBlock;

export interface KerasChain {
  name: string;
  /** [height, width, channels] from the input layer, or null where the file does not say. */
  inputShape: number[] | null;
  items: KerasItem[];
}

/** Most layers read from one model file. */
export const MAX_KERAS_LAYERS = 2_000;

export function badModel(message: string, hint = 'see docs/models.md, "Bring your own model"'): never {
  throw new TrainerError('ERR_BAD_CONFIG', message, { hint });
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Obj {
  return isObj(v) ? v : badModel(`model file: ${what} is not an object`);
}

/** The Keras model config inside model.json (converter files wrap it in model_config). */
function modelConfigOf(json: unknown): { className: string; config: unknown } {
  const root = obj(json, 'the file');
  if (root.format === 'graph-model') {
    badModel(
      'model file: a graph model (a frozen TensorFlow graph) has no layers to train',
      'convert the Keras model with tensorflowjs_converter --output_format tfjs_layers_model',
    );
  }
  const topology = obj(root.modelTopology ?? root, 'modelTopology');
  const model = obj(topology.model_config ?? topology, 'model_config');
  if (typeof model.class_name !== 'string') badModel('model file: no class_name for the model');
  return { className: model.class_name, config: model.config };
}

function layerOf(v: unknown): KerasLayer & { raw: Obj } {
  const raw = obj(v, 'a layer');
  const config = obj(raw.config ?? {}, 'a layer config');
  const name = typeof raw.name === 'string' ? raw.name : typeof config.name === 'string' ? config.name : '';
  if (typeof raw.class_name !== 'string' || name === '') badModel('model file: a layer without class_name or name');
  if (raw.class_name === 'Sequential' || raw.class_name === 'Functional' || raw.class_name === 'Model') {
    badModel(`model file: layer "${name}" is a nested model`, 'flatten it into one model before converting');
  }
  return { kind: 'layer', className: raw.class_name, name, config, raw };
}

/** [h, w, c] from a batch input shape [null, h, w, c]. */
export function inputShapeOf(config: Obj): number[] | null {
  const shape = config.batch_input_shape ?? config.batch_shape;
  if (!Array.isArray(shape)) return null;
  const dims = shape.slice(1);
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0 && d <= 4096)) {
    badModel(
      `model file: input shape [${shape.join(', ')}] is not [batch, height, width, channels] of fixed sizes`,
      'dtrain trains image models: give the input layer a shape such as [null, 32, 32, 3]',
    );
  }
  return dims as number[];
}

function layersOf(config: unknown): unknown[] {
  const layers = Array.isArray(config) ? config : isObj(config) ? config.layers : undefined;
  if (!Array.isArray(layers) || layers.length === 0) badModel('model file: the model has no layers');
  if (layers.length > MAX_KERAS_LAYERS) badModel(`model file: ${layers.length} layers, more than ${MAX_KERAS_LAYERS}`);
  return layers;
}

function sequentialChain(name: string, config: unknown): KerasChain {
  const layers = layersOf(config).map(layerOf);
  const inputShape = inputShapeOf(layers[0]!.config);
  if (layers[0]!.className === 'InputLayer') layers.shift();
  const inner = layers.find((l) => l.className === 'InputLayer');
  if (inner) badModel(`model file: input layer "${inner.name}" in the middle of a Sequential model`);
  return { name, inputShape, items: layers.map(({ raw: _, ...l }) => l) };
}

/** Read a model file's graph as a chain (Sequential, or functional with residual blocks). */
export function kerasChain(json: unknown, fallbackName: string): KerasChain {
  const { className, config } = modelConfigOf(json);
  const name = isObj(config) && typeof config.name === 'string' ? config.name : fallbackName;
  if (className === 'Sequential') return sequentialChain(name, config);
  if (className === 'Model' || className === 'Functional')
    return functionalChain(name, obj(config, 'the model config'));
  return badModel(`model file: a ${className} model is neither Sequential nor functional`);
}

/** The layer names a functional layer's (single) inbound node reads: Keras 2 lists or Keras 3 keras_history. */
function inboundNames(raw: Obj, name: string): string[] {
  const nodes = raw.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return [];
  if (nodes.length > 1) badModel(`model file: layer "${name}" is shared (called ${nodes.length} times)`);
  const node = nodes[0];
  if (Array.isArray(node))
    return node.map((ref) =>
      Array.isArray(ref) ? String(ref[0]) : badModel(`model file: bad inbound node of "${name}"`),
    );
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObj(v)) {
      const history = isObj(v.config) ? v.config.keras_history : undefined;
      if (Array.isArray(history)) found.push(String(history[0]));
      else Object.values(v).forEach(walk);
    }
  };
  walk(node);
  return found;
}

function endpoint(v: unknown, what: string): string {
  const list = Array.isArray(v) ? v : [];
  const refs = list.length > 0 && Array.isArray(list[0]) ? list : [list];
  if (refs.length !== 1 || typeof refs[0]![0] !== 'string') {
    badModel(`model file: the model has ${refs.length} ${what}s`, `dtrain trains models with one ${what}`);
  }
  return refs[0]![0] as string;
}

interface Graph {
  layers: Map<string, KerasLayer & { inputs: string[] }>;
  consumers: Map<string, string[]>;
}

function graphOf(config: Obj): Graph {
  const layers = new Map<string, KerasLayer & { inputs: string[] }>();
  const consumers = new Map<string, string[]>();
  for (const v of layersOf(config)) {
    const { raw, ...layer } = layerOf(v);
    if (layers.has(layer.name)) badModel(`model file: two layers are named "${layer.name}"`);
    const inputs = inboundNames(raw, layer.name);
    layers.set(layer.name, { ...layer, inputs });
    for (const i of inputs) consumers.set(i, [...(consumers.get(i) ?? []), layer.name]);
  }
  for (const l of layers.values()) {
    for (const i of l.inputs) if (!layers.has(i)) badModel(`model file: layer "${l.name}" reads unknown layer "${i}"`);
  }
  return { layers, consumers };
}

function functionalChain(name: string, config: Obj): KerasChain {
  const g = graphOf(config);
  const input = g.layers.get(endpoint(config.input_layers, 'input'));
  const output = endpoint(config.output_layers, 'output');
  if (!input || !g.layers.has(output)) badModel('model file: input or output layer not among the layers');
  const items: KerasItem[] = [];
  let at = input.name;
  while (at !== output) {
    const next = (g.consumers.get(at) ?? []).map((n) => g.layers.get(n)!);
    if (next.length === 1 && next[0]!.inputs.length === 1) {
      const { inputs: _, ...layer } = next[0]!;
      items.push(layer);
      at = layer.name;
    } else if (next.length === 2) {
      const block = residualAt(g, at, next);
      items.push(block);
      at = block.after.name;
    } else {
      badModel(
        `model file: the output of "${at}" goes to ${next.length} layers`,
        'dtrain trains chains of layers and residual blocks',
      );
    }
  }
  return { name, inputShape: inputShapeOf(input.config), items };
}

/** From a fork at `x`: each branch up to the layer where both meet (an Add), then the one layer after it. */
function residualAt(g: Graph, x: string, branches: (KerasLayer & { inputs: string[] })[]): KerasBlock {
  const paths = branches.map((first) => {
    const path: KerasLayer[] = [];
    let l = first;
    while (l.inputs.length === 1) {
      const { inputs: _, ...layer } = l;
      path.push(layer);
      const cs = g.consumers.get(l.name) ?? [];
      if (cs.length !== 1)
        badModel(`model file: the output of "${l.name}" inside a residual branch goes to ${cs.length} layers`);
      l = g.layers.get(cs[0]!)!;
    }
    return { path, join: l };
  });
  const [a, b] = paths as [(typeof paths)[0], (typeof paths)[0]];
  if (a.join.name !== b.join.name || a.join.className !== 'Add' || a.join.inputs.length !== 2) {
    badModel(
      `model file: the branches from "${x}" do not meet at one Add of two inputs`,
      'residual blocks are x + f(x)',
    );
  }
  const after = (g.consumers.get(a.join.name) ?? []).map((n) => g.layers.get(n)!);
  if (after.length !== 1)
    badModel(`model file: the Add "${a.join.name}" goes to ${after.length} layers (a ReLU expected)`);
  const [main, shortcut] = a.path.length >= b.path.length ? [a.path, b.path] : [b.path, a.path];
  const { inputs: _, ...last } = after[0]!;
  return { kind: 'block', name: a.join.name, main, shortcut, after: last };
}
