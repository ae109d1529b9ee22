import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildManifest, getModelSpec, modelFingerprint, paramCount, specFromLayersJson } from '@dtrain/common';

type Json = Record<string, any>;

const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../../../examples/models/${name}`, import.meta.url), 'utf8'));
const cnn = () => fixture('keras-cifar-cnn.json');
const resnet = () => fixture('keras-resnet8-v1.json');
const seqLayers = (j: Json): Json[] => j.modelTopology.model_config.config.layers;
const funLayers = (j: Json): Json[] => j.modelTopology.model_config.config.layers;

test("a Keras-converted Sequential CNN (the Keras CIFAR-10 tutorial's) reads as the reference CNN's layers", () => {
  const spec = specFromLayersJson(cnn(), 'cnn');
  const ref = getModelSpec('reference-cnn');
  assert.deepEqual(spec.layers, ref.layers);
  assert.deepEqual(spec.inputShape, [32, 32, 3]);
  assert.equal(spec.classes, 10);
  assert.equal(paramCount(buildManifest(spec)), 122_570);
  assert.equal(spec.bnEpsilon, undefined);
});

test('a Keras functional ResNet v1 reads as convbn + residual blocks with projection shortcuts, softmax folded', () => {
  const spec = specFromLayersJson(resnet(), 'r');
  assert.equal(spec.name, 'resnet_v1_8');
  assert.deepEqual(
    spec.layers.map((l) => ('stride' in l ? `${l.type}/${'filters' in l ? l.filters : ''}/${l.stride}` : l.type)),
    ['convbn/16/1', 'resblock/16/1', 'resblock/32/2', 'resblock/64/2', 'gap', 'dense'],
  );
  assert.ok(spec.layers.every((l) => l.type !== 'resblock' || l.shortcut === 'project'));
  assert.equal(spec.bnEpsilon, 0.001);
  // 3 + 2 per stage convolutions with batch norm, 2 projections; no biases (batch norm cancels them)
  const m = buildManifest(spec);
  assert.equal(m.filter((p) => p.name.endsWith('/kernel')).length, 10);
  assert.equal(m.filter((p) => p.name.endsWith('/bias')).length, 1);
});

test("a model file's fingerprint follows its architecture and Keras name, not the file's name", () => {
  const spec = specFromLayersJson(cnn(), 'cnn');
  assert.notEqual(modelFingerprint(spec), modelFingerprint(getModelSpec('reference-cnn')));
  assert.equal(modelFingerprint(spec), modelFingerprint(specFromLayersJson(cnn(), 'other-file-name')));
});

const refuses = (j: Json, pattern: RegExp) =>
  assert.throws(
    () => specFromLayersJson(j, 'm'),
    (e: any) => e.code === 'ERR_BAD_CONFIG' && pattern.test(e.message) && typeof e.hint === 'string',
  );

test('refused: a Dropout layer, by name and reason', () => {
  const j = cnn();
  seqLayers(j).splice(7, 0, { class_name: 'Dropout', config: { name: 'dropout', rate: 0.5 } });
  refuses(j, /layer "dropout" \(Dropout\) cannot be trained: dropout is not implemented/);
});

test('refused: an activation other than relu, linear or a final softmax', () => {
  const j = cnn();
  seqLayers(j)[7]!.config.activation = 'tanh';
  refuses(j, /layer "dense" \(Dense\): activation "tanh" is not supported/);
});

test('refused: a softmax that is not on the last layer', () => {
  const j = cnn();
  seqLayers(j)[7]!.config.activation = 'softmax';
  refuses(j, /activation "softmax" is not supported/);
});

test('refused: an input that is not an image of fixed size', () => {
  const j = cnn();
  seqLayers(j)[0]!.config.batch_input_shape = [null, 3072];
  refuses(j, /input shape \[, 3072\] is not \[batch, height, width, channels\]/);
});

test('refused: a Dense layer reading an image (no Flatten)', () => {
  const j = cnn();
  seqLayers(j).splice(6, 1);
  refuses(j, /layer 6 \(dense\) gets a \[4, 4, 64\] input: add a Flatten/);
});

test('refused: a graph model (frozen graph, no layers)', () => {
  refuses({ format: 'graph-model', modelTopology: { node: [] } }, /a graph model/);
});

test('refused: dilated convolutions', () => {
  const j = cnn();
  seqLayers(j)[1]!.config.dilation_rate = [2, 2];
  refuses(j, /layer "conv2d" \(Conv2D\): dilation_rate \[2,2\] is not supported/);
});

test('refused: batch norm after an activated convolution', () => {
  const j = cnn();
  seqLayers(j).splice(2, 0, { class_name: 'BatchNormalization', config: { name: 'bn', axis: -1 } });
  refuses(j, /layer "bn" \(BatchNormalization\) follows no linear, same-padded Conv2D/);
});

test('refused: a fork whose branches meet at a Concatenate', () => {
  const j = resnet();
  const add = funLayers(j).find((l) => l.name === 'add')!;
  add.class_name = 'Concatenate';
  refuses(j, /do not meet at one Add/);
});

test('refused: a shortcut convolution without batch norm (Keras resnet_v1 without BN on the projection)', () => {
  const j = resnet();
  const layers = funLayers(j);
  const i = layers.findIndex((l) => l.name === 'batch_normalization_5'); // the first projection's batch norm
  const bn = layers[i]!;
  assert.equal(layers[i - 1]!.config.kernel_size[0], 1);
  layers.splice(i, 1);
  for (const l of layers)
    if (l.inbound_nodes?.[0]?.some((r: any[]) => r[0] === bn.name))
      l.inbound_nodes[0] = l.inbound_nodes[0].map((r: any[]) =>
        r[0] === bn.name ? [layers[i - 1]!.name, 0, 0, {}] : r,
      );
  refuses(j, /the shortcut is neither the identity nor a 1x1 convolution with batch norm/);
});

test('refused: a model with two outputs', () => {
  const j = resnet();
  j.modelTopology.model_config.config.output_layers = [
    ['dense', 0, 0],
    ['global_average_pooling2d', 0, 0],
  ];
  refuses(j, /the model has 2 outputs/);
});

test('refused: a layer reading a layer that does not exist', () => {
  const j = resnet();
  funLayers(j)[1]!.inbound_nodes = [[['nowhere', 0, 0, {}]]];
  refuses(j, /reads unknown layer "nowhere"/);
});
