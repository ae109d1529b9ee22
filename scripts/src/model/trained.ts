// A trained model from a run directory or checkpoint, on this machine: evaluation on any split, class
// probabilities for images, and export as a TensorFlow.js LayersModel.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Dataset, datasetClasses, type ModelSpec, type TrainConfig } from '@dtrain/common';
import { checkpointModelSpec, type ModelInputs, readCheckpoint } from '@dtrain/coordinator';
import {
  type BackendChoice,
  loadDataset,
  Network,
  saveLayersModel,
  selectBackend,
  toLayersModel,
} from '@dtrain/worker';
import { syntheticCacheDir } from '../data/fetch.js';
import type { InputImage } from './images.js';

export interface Trained {
  source: string;
  step: number;
  config: TrainConfig;
  spec: ModelSpec;
  weights: Float32Array;
  /** Class names and input standardization as the checkpoint recorded them (null: an older checkpoint). */
  inputs: ModelInputs | null;
}

export function openTrained(source: string): Trained {
  const ckpt = readCheckpoint(source);
  return {
    source: ckpt.dir,
    step: ckpt.state.step,
    config: ckpt.state.config,
    spec: checkpointModelSpec(ckpt),
    weights: ckpt.weights,
    inputs: ckpt.state.inputs ?? null,
  };
}

/**
 * Class names and input standardization: the checkpoint's; for an older checkpoint the names of its
 * dataset's classes and, only where it standardized inputs (--normalize), the statistics of its dataset,
 * loaded for that (the one case that needs the data).
 */
export async function trainedInputs(t: Trained, loadData: () => Promise<Dataset>): Promise<ModelInputs> {
  if (t.inputs) return t.inputs;
  const classes = [...datasetClasses(t.config.dataset)];
  if (!t.config.dataset.normalize) return { classes };
  return { classes, ...((await loadData()).channelStats() ?? {}) };
}

export function trainedDataset(t: Trained, cifarDir: string): Dataset {
  return loadDataset(t.config.dataset, { cifarDir, syntheticCacheDir: syntheticCacheDir() });
}

export interface Evaluation {
  split: string;
  samples: number;
  loss: number;
  accuracy: number;
}

/** Loss and accuracy of the model on a whole split, in chunks of `chunk`. */
export async function evaluateTrained(
  t: Trained,
  dataset: Dataset,
  split: 'train' | 'val' | 'test',
  backend: BackendChoice,
  chunk = 500,
): Promise<Evaluation> {
  await selectBackend(backend);
  const net = new Network(t.spec);
  net.setWeights(t.weights);
  const n = dataset.size(split);
  const px = dataset.height * dataset.width * dataset.channels;
  const x = new Float32Array(chunk * px);
  const y = new Int32Array(chunk);
  let loss = 0;
  let correct = 0;
  for (let at = 0; at < n; at += chunk) {
    const idx = Uint32Array.from({ length: Math.min(chunk, n - at) }, (_, i) => at + i);
    dataset.fillBatch(split, idx, x, y);
    const out = net.evaluate(x, y, idx.length);
    loss += out.lossSum;
    correct += out.correct;
  }
  net.disposeParams();
  return { split, samples: n, loss: n ? loss / n : 0, accuracy: n ? correct / n : 0 };
}

export interface Prediction {
  name: string;
  label: number | null;
  top: { cls: number; name: string; p: number }[];
}

/** Top-k classes of each image, preprocessed as the run's dataset is (scale to [0,1], then its channel stats). */
export async function predictTrained(
  t: Trained,
  inputs: ModelInputs,
  images: readonly InputImage[],
  backend: BackendChoice,
  k = 3,
): Promise<Prediction[]> {
  await selectBackend(backend);
  const net = new Network(t.spec);
  net.setWeights(t.weights);
  const stats = inputs.mean && inputs.std ? { mean: inputs.mean, std: inputs.std } : null;
  const px = 32 * 32 * 3;
  const x = new Float32Array(images.length * px);
  images.forEach((im, i) => {
    for (let j = 0; j < px; j++) {
      const c = j % 3;
      const v = im.pixels[j]! / 255;
      x[i * px + j] = stats ? (v - stats.mean[c]!) / stats.std[c]! : v;
    }
  });
  const probs = net.probabilities(x, images.length);
  net.disposeParams();
  const classes = t.spec.classes;
  return images.map((im, i) => {
    const p = Array.from(probs.subarray(i * classes, (i + 1) * classes), (v, cls) => ({
      cls,
      name: inputs.classes[cls] ?? String(cls),
      p: v,
    }));
    return { name: im.name, label: im.label, top: p.sort((a, b) => b.p - a.p).slice(0, k) };
  });
}

/** model.json + weights.bin (tf.loadLayersModel), preprocessing.json (what inputs the model expects). */
export async function exportTfjs(t: Trained, inputs: ModelInputs, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  await selectBackend('wasm'); // no compute here; the cpu backend would print tfjs' Node.js banner
  const model = toLayersModel(t.spec, t.weights);
  const files = await saveLayersModel(model, dir);
  model.dispose();
  const stats = inputs.mean && inputs.std ? { mean: inputs.mean, std: inputs.std } : null;
  const pre = {
    input: 'float32 [batch, 32, 32, 3], RGB, row-major (NHWC)',
    scale: 1 / 255,
    ...(stats ? { mean: stats.mean, std: stats.std } : {}),
    formula: stats ? 'x = (pixel / 255 - mean[c]) / std[c]' : 'x = pixel / 255',
    output: 'logits (apply softmax for probabilities)',
    classes: inputs.classes.slice(0, t.spec.classes),
    model: t.spec.name,
    step: t.step,
    source: t.source,
  };
  writeFileSync(join(dir, 'preprocessing.json'), JSON.stringify(pre, null, 2) + '\n');
  return [...files, join(dir, 'preprocessing.json')];
}
