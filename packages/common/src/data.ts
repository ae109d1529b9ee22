// Datasets: a uint8 image store behind one interface (32x32x3 HWC, labels 0..classes-1), Keras-style
// validation split (the last fraction of the training data, before shuffling), float batches on demand.

import { createHash } from 'node:crypto';
import { applyCropFlip, cropFlipFor } from './augment.js';
import { TrainerError } from './errors.js';

export type Split = 'train' | 'val' | 'test';

export interface ImageSet {
  /** count x (H*W*C) bytes, HWC row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  name: string;
  height: number;
  width: number;
  channels: number;
  classes: number;
  /** Identifies the exact data; both sides of a run must agree on it. */
  fingerprint: string;
  size(split: Split): number;
  /**
   * Writes images of `indices` as float32 (in [0,1], or per-channel standardized) into `x` (n*H*W*C) and
   * labels into `y`. With `aug` (training only) each image gets its (seed, epoch, index) crop and flip.
   */
  fillBatch(split: Split, indices: ArrayLike<number>, x: Float32Array, y: Int32Array, aug?: AugmentKey): void;
  /** Per-channel mean and std that fillBatch subtracts and divides by after scaling to [0,1] (null: none). */
  channelStats(): { mean: number[]; std: number[] } | null;
}

export interface AugmentKey {
  seed: number;
  epoch: number;
}

export interface DatasetOptions {
  valFraction: number;
  /** Standardize each channel with the training split's mean and std. */
  normalize: boolean;
  /** Random crop (4-pixel zero padding) + horizontal flip on training batches. */
  augment: boolean;
}

/** A dataset over in-memory train/test image sets, with the validation split cut off the train set. */
export class InMemoryDataset implements Dataset {
  readonly height = 32;
  readonly width = 32;
  readonly channels = 3;
  readonly fingerprint: string;
  private readonly trainCount: number;
  private readonly mean = [0, 0, 0];
  private readonly std = [1, 1, 1];
  private scratch = new Float32Array(32 * 32 * 3);

  constructor(
    readonly name: string,
    readonly classes: number,
    private readonly train: ImageSet,
    private readonly test: ImageSet,
    private readonly opts: DatasetOptions,
    fingerprintSeed: string,
  ) {
    const valFraction = opts.valFraction;
    if (!(valFraction >= 0 && valFraction < 1)) {
      throw new TrainerError('ERR_BAD_CONFIG', `validation fraction ${valFraction} is outside [0, 1)`, {
        hint: 'use e.g. --val-fraction 0.2, or 0 for no validation split',
      });
    }
    this.trainCount = train.count - Math.floor(train.count * valFraction);
    const h = createHash('sha256').update(fingerprintSeed);
    h.update(`|${this.trainCount}|${train.count}|${test.count}`);
    h.update(train.images).update(train.labels).update(test.images).update(test.labels);
    h.update(`|normalize=${opts.normalize}|augment=${opts.augment}`);
    this.fingerprint = h.digest('hex').slice(0, 16);
    if (opts.normalize) this.computeStats();
  }

  channelStats(): { mean: number[]; std: number[] } | null {
    return this.opts.normalize ? { mean: [...this.mean], std: [...this.std] } : null;
  }

  /** Per-channel mean and std over the training split (after the validation split is cut off). */
  private computeStats(): void {
    const sum = [0, 0, 0];
    const sq = [0, 0, 0];
    const n = this.trainCount * 1024;
    const img = this.train.images;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        const v = img[i * 3 + c]! / 255;
        sum[c]! += v;
        sq[c]! += v * v;
      }
    }
    for (let c = 0; c < 3; c++) {
      this.mean[c] = sum[c]! / n;
      this.std[c] = Math.sqrt(Math.max(sq[c]! / n - this.mean[c]! ** 2, 1e-12));
    }
  }

  size(split: Split): number {
    switch (split) {
      case 'train':
        return this.trainCount;
      case 'val':
        return this.train.count - this.trainCount;
      case 'test':
        return this.test.count;
    }
  }

  fillBatch(split: Split, indices: ArrayLike<number>, x: Float32Array, y: Int32Array, aug?: AugmentKey): void {
    const set = split === 'test' ? this.test : this.train;
    const base = split === 'val' ? this.trainCount : 0;
    const limit = this.size(split);
    const px = this.height * this.width * this.channels;
    if (x.length < indices.length * px || y.length < indices.length) {
      throw new TrainerError('ERR_SHAPE_MISMATCH', `batch buffers too small for ${indices.length} samples`);
    }
    for (let i = 0; i < indices.length; i++) {
      const idx = indices[i]!;
      if (!(idx >= 0 && idx < limit)) {
        throw new TrainerError('ERR_BAD_FRAME', `sample index ${idx} is outside the ${split} split (size ${limit})`);
      }
      const src = (base + idx) * px;
      const dst = i * px;
      if (aug && this.opts.augment && split === 'train') {
        const s = this.scratch;
        for (let j = 0; j < px; j++) s[j] = set.images[src + j]! / 255;
        applyCropFlip(s, 0, x, dst, cropFlipFor(aug.seed, aug.epoch, idx));
      } else {
        for (let j = 0; j < px; j++) x[dst + j] = set.images[src + j]! / 255;
      }
      if (this.opts.normalize) {
        for (let j = 0; j < px; j += 3) {
          for (let c = 0; c < 3; c++) x[dst + j + c] = (x[dst + j + c]! - this.mean[c]!) / this.std[c]!;
        }
      }
      y[i] = set.labels[base + idx]!;
    }
  }
}
