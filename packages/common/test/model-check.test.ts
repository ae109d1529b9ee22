import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  getModelSpec,
  MAX_MODEL_PARAMS,
  type ModelSpec,
  modelSpecOf,
  parseModelSpec,
  validateConfig,
} from '@dtrain/common';
import { baseConfig } from './config.test.js';

const clone = (name: string): any => JSON.parse(JSON.stringify(getModelSpec(name)));

test('every zoo model passes the check a spec from outside gets, unchanged', () => {
  for (const name of ['reference-cnn', 'tiny-cnn', 'mlp-1m', 'resnet8', 'resnet20', 'resnet18']) {
    assert.deepEqual(parseModelSpec(clone(name)), getModelSpec(name));
  }
});

test('a spec from outside: unknown layer types, unbounded sizes and wrong ranks are refused', () => {
  const bad = (edit: (s: any) => void, pattern: RegExp) => {
    const s = clone('reference-cnn');
    edit(s);
    assert.throws(
      () => parseModelSpec(s),
      (e: any) => e.code === 'ERR_BAD_CONFIG' && pattern.test(e.message),
    );
  };
  bad((s) => (s.layers[0].type = 'lstm'), /layer type "lstm" is unknown/);
  bad((s) => (s.layers[0].filters = 1e9), /filters 1000000000 is not in 1..65536/);
  bad((s) => (s.layers[0].activation = 'gelu'), /activation "gelu" is not one of relu, linear/);
  bad((s) => (s.inputShape = [32, 32]), /inputShape is not \[height, width, channels\]/);
  bad((s) => s.layers.splice(5, 1), /layer 6 \(dense\) gets a \[4, 4, 64\] input/);
  bad((s) => (s.classes = 7), /the last layer must be a dense layer of 7 units/);
  bad((s) => (s.layers = Array.from({ length: 3000 }, () => ({ type: 'flatten' }))), /layers is not a list of 1..2000/);
  bad((s) => (s.bnEpsilon = -1), /bnEpsilon is not in \(0, 1\)/);
});

test('a spec whose weights would not fit one frame is refused', () => {
  const s = clone('mlp-1m');
  s.layers[1].units = 65_536; // 3072 x 65536 = 201M weights: fits; two such layers do not
  s.layers.splice(2, 0, { type: 'dense', units: 65_536, activation: 'relu' });
  assert.throws(() => parseModelSpec(s), new RegExp(`more than ${MAX_MODEL_PARAMS}`));
});

test("a run's config carries a file's spec; it must read the dataset's images and score its classes", () => {
  const spec: ModelSpec = { ...getModelSpec('tiny-cnn'), name: 'mine' };
  assert.equal(modelSpecOf({ model: 'x/mine.json', modelSpec: spec }), spec);
  assert.equal(modelSpecOf({ model: 'tiny-cnn' }).name, 'tiny-cnn');
  assert.doesNotThrow(() => validateConfig({ ...baseConfig, model: 'x/mine.json', modelSpec: spec }));
  assert.throws(
    () => validateConfig({ ...baseConfig, model: 'x/m.json', modelSpec: { ...spec, inputShape: [28, 28, 1] } }),
    /model mine takes \[28, 28, 1\] inputs; synthetic images are \[32, 32, 3\]/,
  );
  const five = {
    ...spec,
    classes: 5,
    layers: [...spec.layers.slice(0, -1), { type: 'dense' as const, units: 5, activation: 'linear' as const }],
  };
  assert.throws(
    () => validateConfig({ ...baseConfig, model: 'x/m.json', modelSpec: five }),
    /scores 5 classes; synthetic has 10/,
  );
});
