// The embedded dataset: CIFAR-10-shaped (32x32 RGB, 10 classes) images generated deterministically from
// a seed, so no download is needed. A class is an oriented grating (5 orientations x 2 frequencies) inside
// a soft blob of random place, size and colour, over a random background with a distractor grating and
// pixel noise: colour says nothing about the class, and orientations 36 degrees apart are jittered by
// +-12 degrees, so a CNN needs several epochs and optimizer choices show.

import { type DatasetOptions, type ImageSet, InMemoryDataset } from './data.js';
import { hashInts, Rng } from './rng.js';

export interface SyntheticSpec {
  trainSize: number;
  testSize: number;
  seed: number;
}

/** The generated classes: label l is a grating of orientation (l mod 5) x 36 degrees, coarse below 5, fine from 5. */
export const SYNTHETIC_CLASSES: readonly string[] = Array.from(
  { length: 10 },
  (_, l) => `${(l % 5) * 36} deg ${l < 5 ? 'coarse' : 'fine'} grating`,
);

const SIDE = 32;
const PIXELS = SIDE * SIDE;
const TRAIN_SPLIT = 1;
const TEST_SPLIT = 2;

function drawImage(rng: Rng, label: number, out: Uint8Array, offset: number): void {
  const theta = ((label % 5) * Math.PI) / 5 + rng.uniform(-0.21, 0.21);
  const freq = (label < 5 ? 0.11 : 0.2) * rng.uniform(0.88, 1.12);
  const phase = rng.uniform(0, 2 * Math.PI);
  const kx = 2 * Math.PI * freq * Math.cos(theta);
  const ky = 2 * Math.PI * freq * Math.sin(theta);
  const cx = rng.uniform(9, 23);
  const cy = rng.uniform(9, 23);
  const radius = rng.uniform(6, 12);
  const inv2r2 = 1 / (2 * radius * radius);
  const fg = [rng.uniform(-0.45, 0.45), rng.uniform(-0.45, 0.45), rng.uniform(-0.45, 0.45)];
  const fgAmp = rng.uniform(0.5, 1);
  const bg = [rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)];
  const dTheta = rng.uniform(0, Math.PI);
  const dFreq = rng.uniform(0.05, 0.3);
  const dx = 2 * Math.PI * dFreq * Math.cos(dTheta);
  const dy = 2 * Math.PI * dFreq * Math.sin(dTheta);
  const dPhase = rng.uniform(0, 2 * Math.PI);
  const dAmp = rng.uniform(0, 0.18);
  const noise = rng.uniform(0.03, 0.12);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const r2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
      const mask = Math.exp(-r2 * inv2r2) * fgAmp;
      const g = Math.sin(kx * x + ky * y + phase) * mask;
      const d = Math.sin(dx * x + dy * y + dPhase) * dAmp;
      const p = offset + (y * SIDE + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = bg[c]! + g * (0.35 + fg[c]!) + d + noise * rng.normal();
        out[p + c] = Math.max(0, Math.min(255, Math.round(v * 255)));
      }
    }
  }
}

function generate(count: number, seed: number, split: number): ImageSet {
  const images = new Uint8Array(count * PIXELS * 3);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const rng = new Rng(hashInts(seed, split, i));
    const label = rng.int(10);
    labels[i] = label;
    drawImage(rng, label, images, i * PIXELS * 3);
  }
  return { images, labels, count };
}

/** The code the images depend on: part of a cache key, so editing the generator invalidates old files. */
export const SYNTHETIC_GENERATOR = [drawImage, generate, Rng, hashInts].map(String).join('\n');

/** Where a split's images come from: `make` generates them; a cache may return stored ones instead. */
export type ImageSource = (count: number, seed: number, split: number, make: () => ImageSet) => ImageSet;

const generateNow: ImageSource = (_count, _seed, _split, make) => make();

/**
 * Build the embedded dataset; `valFraction` of the training images become the validation split.
 * `source` may supply stored images (files/synthetic-files.ts caches them on disk).
 */
export function syntheticDataset(
  spec: SyntheticSpec,
  options: DatasetOptions | number,
  source: ImageSource = generateNow,
): InMemoryDataset {
  const train = source(spec.trainSize, spec.seed, TRAIN_SPLIT, () => generate(spec.trainSize, spec.seed, TRAIN_SPLIT));
  const test = source(spec.testSize, spec.seed, TEST_SPLIT, () => generate(spec.testSize, spec.seed, TEST_SPLIT));
  const opts = typeof options === 'number' ? { valFraction: options, normalize: false, augment: false } : options;
  return new InMemoryDataset('synthetic', 10, train, test, opts, `synthetic:${spec.seed}`);
}
