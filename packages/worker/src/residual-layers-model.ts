// A residual network (model.ts 'convbn', 'resblock', 'gap') as a functional tfjs LayersModel: Conv2D without
// bias, BatchNormalization (epsilon 1e-5; its moving statistics are the run's running statistics), ReLU,
// Add, GlobalAveragePooling2D and Dense, named as the manifest names its tensors. Option A's parameter-free
// shortcut becomes a fixed (non-trainable) 1x1 convolution of stride s whose kernel copies channel i to
// channel i + pad: the same numbers, in layers any Keras or tfjs loader knows.

import { buildManifest, type Manifest, type ModelSpec, projects, TrainerError } from '@dtrain/common';
import * as tfjs from '@tensorflow/tfjs';
import { BN_EPSILON } from './bn-layers.js';

type Sym = tfjs.SymbolicTensor;

/** The functional model of a residual `spec`, its weights set from the flat vector by manifest name. */
export function toResidualLayersModel(spec: ModelSpec, weights: Float32Array): tfjs.LayersModel {
  const manifest = buildManifest(spec);
  const input = tfjs.input({ shape: [...spec.inputShape] });
  const fixed = new Map<string, tfjs.Tensor>();
  const n = { conv: 0, bn: 0, dense: 0, short: 0 };
  const apply = (layer: tfjs.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;
  const convBn = (x: Sym, filters: number, kernel: number, stride: number, relu: boolean): Sym => {
    const conv = tfjs.layers.conv2d({
      name: `conv2d_${++n.conv}`,
      filters,
      kernelSize: kernel,
      strides: stride,
      padding: 'same',
      useBias: false,
    });
    const bn = tfjs.layers.batchNormalization({
      name: `batch_normalization_${++n.bn}`,
      epsilon: spec.bnEpsilon ?? BN_EPSILON,
      momentum: 0.9,
    });
    const y = apply(bn, apply(conv, x));
    return relu ? apply(tfjs.layers.reLU(), y) : y;
  };
  const padShortcut = (x: Sym, stride: number, filters: number): Sym => {
    const c = x.shape[3]!;
    const name = `shortcut_${++n.short}`;
    const kernel = new Float32Array(c * filters);
    for (let i = 0; i < c; i++) kernel[i * filters + i + Math.floor((filters - c) / 2)] = 1;
    fixed.set(name, tfjs.tensor4d(kernel, [1, 1, c, filters]));
    return apply(
      tfjs.layers.conv2d({ name, filters, kernelSize: 1, strides: stride, useBias: false, trainable: false }),
      x,
    );
  };
  let h: Sym = input;
  for (const layer of spec.layers) {
    if (layer.type === 'convbn') h = convBn(h, layer.filters, layer.kernel, layer.stride, layer.relu);
    else if (layer.type === 'resblock') {
      const a = convBn(h, layer.filters, 3, layer.stride, true);
      const b = convBn(a, layer.filters, 3, 1, false);
      const changes = layer.stride !== 1 || layer.filters !== h.shape[3];
      const short = projects(layer, h.shape.slice(1) as number[])
        ? convBn(h, layer.filters, 1, layer.stride, false)
        : changes
          ? padShortcut(h, layer.stride, layer.filters)
          : h;
      h = apply(tfjs.layers.reLU(), apply(tfjs.layers.add(), [b, short]));
    } else if (layer.type === 'gap') h = apply(tfjs.layers.globalAveragePooling2d({}), h);
    else if (layer.type === 'dense')
      h = apply(tfjs.layers.dense({ name: `dense_${++n.dense}`, units: layer.units, activation: layer.activation }), h);
    else
      throw new TrainerError(
        'ERR_BAD_CONFIG',
        `export of a ${layer.type} layer inside a residual network is not supported`,
      );
  }
  const model = tfjs.model({ inputs: input, outputs: h, name: spec.name.replace(/[^A-Za-z0-9_]/g, '_') });
  setByName(model, manifest, weights, fixed);
  return model;
}

const SLOTS: Record<string, string[]> = {
  conv2d: ['kernel'],
  batch_normalization: ['gamma', 'beta', 'moving_mean', 'moving_variance'],
  dense: ['kernel', 'bias'],
};

function setByName(
  model: tfjs.LayersModel,
  manifest: Manifest,
  weights: Float32Array,
  fixed: Map<string, tfjs.Tensor>,
) {
  const byName = new Map(manifest.map((p) => [p.name, p]));
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const own = fixed.get(layer.name);
    const tensors = own
      ? [own]
      : SLOTS[layer.name.replace(/_\d+$/, '')]!.map((slot) => {
          const p = byName.get(`${layer.name}/${slot}`);
          if (!p) throw new TrainerError('ERR_SHAPE_MISMATCH', `the checkpoint has no ${layer.name}/${slot}`);
          return tfjs.tensor(weights.subarray(p.offset, p.offset + p.length), p.shape, 'float32');
        });
    layer.setWeights(tensors);
    tfjs.dispose(tensors);
  }
}
