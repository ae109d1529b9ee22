// A trained run as a TensorFlow.js LayersModel: the layer spec rebuilt as tf.sequential layers with the
// flat weights in manifest order (residual networks: functional, residual-layers-model.ts), saved in the format `tf.loadLayersModel` reads (model.json + one
// weights file), which the TensorFlow.js converter turns into a Keras model. It outputs logits.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildManifest, hasBatchNorm, type LayerSpec, type ModelSpec, paramCount, TrainerError } from '@dtrain/common';
import * as tfjs from '@tensorflow/tfjs';
import { toResidualLayersModel } from './residual-layers-model.js';

function layerFor(l: LayerSpec, first: { inputShape?: number[] }): tfjs.layers.Layer {
  switch (l.type) {
    case 'conv2d':
      return tfjs.layers.conv2d({
        ...first,
        filters: l.filters,
        kernelSize: l.kernel,
        strides: l.stride,
        padding: l.padding,
        activation: l.activation,
      });
    case 'maxpool':
      return tfjs.layers.maxPooling2d({ ...first, poolSize: l.size, strides: l.stride, padding: 'valid' });
    case 'flatten':
      return tfjs.layers.flatten(first);
    case 'dense':
      return tfjs.layers.dense({ ...first, units: l.units, activation: l.activation });
    default:
      throw new TrainerError('ERR_BAD_CONFIG', `a ${l.type} layer is not part of a sequential model`);
  }
}

/** The model of `spec` holding `weights` (flat, manifest order): sequential, or functional for a residual network. */
export function toLayersModel(spec: ModelSpec, weights: Float32Array): tfjs.LayersModel {
  checkLength(spec, weights);
  if (hasBatchNorm(spec)) return toResidualLayersModel(spec, weights);
  const model = tfjs.sequential({ name: spec.name.replace(/[^A-Za-z0-9_]/g, '_') });
  spec.layers.forEach((l, i) => model.add(layerFor(l, i === 0 ? { inputShape: [...spec.inputShape] } : {})));
  const manifest = buildManifest(spec);
  const tensors = manifest.map((p) => tfjs.tensor(weights.subarray(p.offset, p.offset + p.length), p.shape, 'float32'));
  const expected = model.getWeights().map((w) => w.shape.join('x'));
  if (expected.join() !== tensors.map((t) => t.shape.join('x')).join()) {
    tfjs.dispose(tensors);
    throw new TrainerError(
      'ERR_SHAPE_MISMATCH',
      `the layers of ${spec.name} want weights ${expected.join(', ')}; the checkpoint has ${manifest.map((p) => p.shape.join('x')).join(', ')}`,
    );
  }
  model.setWeights(tensors);
  tfjs.dispose(tensors);
  return model;
}

function checkLength(spec: ModelSpec, weights: Float32Array): void {
  const n = paramCount(buildManifest(spec));
  if (weights.length !== n) {
    throw new TrainerError(
      'ERR_SHAPE_MISMATCH',
      `${spec.name} has ${n} parameters; the weights given have ${weights.length}`,
    );
  }
}

export const WEIGHTS_FILE = 'weights.bin';

/** Write model.json and weights.bin into `dir` (as tf.io's file handler lays them out). */
export async function saveLayersModel(model: tfjs.LayersModel, dir: string): Promise<string[]> {
  await model.save(
    tfjs.io.withSaveHandler(async (a) => {
      const data = a.weightData;
      const bytes =
        data === undefined
          ? new Uint8Array(0)
          : Array.isArray(data)
            ? Buffer.concat(data.map((b) => new Uint8Array(b)))
            : new Uint8Array(data);
      writeFileSync(join(dir, WEIGHTS_FILE), bytes);
      writeFileSync(
        join(dir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          generatedBy: a.generatedBy,
          convertedBy: null,
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs }],
        }),
      );
      return {
        modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length },
      };
    }),
  );
  return [join(dir, 'model.json'), join(dir, WEIGHTS_FILE)];
}
