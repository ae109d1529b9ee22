// CIFAR-10 binary format (https://www.cs.toronto.edu/~kriz/cifar.html): records of 1 label byte + 3,072
// pixel bytes (1,024 R, then G, then B, row-major 32x32). Parsing into HWC uint8, the reverse encoding,
// and the official SHA-256 of the six files (augmentation: augment.ts).

import type { ImageSet } from './data.js';
import { TrainerError } from './errors.js';

export const CIFAR_RECORD_BYTES = 3073;
export const CIFAR_PIXELS = 1024;
export const CIFAR_TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
] as const;
export const CIFAR_TEST_FILE = 'test_batch.bin';
export const CIFAR_META_FILE = 'batches.meta.txt';
export const CIFAR_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;
export const CIFAR_RECORDS_PER_FILE = 10_000;

/** Official SHA-256 of the six binary files. */
export const CIFAR_SHA256: Record<string, string> = {
  'data_batch_1.bin': 'cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5',
  'data_batch_2.bin': 'a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed',
  'data_batch_3.bin': 'bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67',
  'data_batch_4.bin': '014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48',
  'data_batch_5.bin': '755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add',
  'test_batch.bin': '8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b',
};

/** How a CIFAR binary file lays out its records: label bytes before the pixels, which one is the label, how many classes. */
export interface CifarLayout {
  dataset: 'cifar10' | 'cifar100';
  labelBytes: number;
  labelAt: number;
  classes: number;
}

export const CIFAR10_LAYOUT: CifarLayout = { dataset: 'cifar10', labelBytes: 1, labelAt: 0, classes: 10 };

/** Parse one binary batch file into HWC uint8 images; rejects truncated or malformed data. */
export function parseCifarBatch(bytes: Uint8Array, name: string, layout: CifarLayout = CIFAR10_LAYOUT): ImageSet {
  const recordBytes = layout.labelBytes + CIFAR_PIXELS * 3;
  const what = layout.dataset === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100';
  const hint = `delete the file and run: dtrain data fetch ${layout.dataset}`;
  if (bytes.length === 0 || bytes.length % recordBytes !== 0) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `${name}: ${bytes.length} bytes is not a whole number of ${recordBytes}-byte ${what} records (truncated or not a ${what} file)`,
      { hint },
    );
  }
  const count = bytes.length / recordBytes;
  const images = new Uint8Array(count * CIFAR_PIXELS * 3);
  const labels = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const src = r * recordBytes;
    const label = bytes[src + layout.labelAt]!;
    if (label >= layout.classes) {
      throw new TrainerError(
        'ERR_BAD_CONFIG',
        `${name}: record ${r} has label ${label}; ${what} labels are 0..${layout.classes - 1} (corrupt file)`,
        { hint },
      );
    }
    labels[r] = label;
    const dst = r * CIFAR_PIXELS * 3;
    const px = src + layout.labelBytes;
    for (let p = 0; p < CIFAR_PIXELS; p++) {
      images[dst + p * 3] = bytes[px + p]!;
      images[dst + p * 3 + 1] = bytes[px + CIFAR_PIXELS + p]!;
      images[dst + p * 3 + 2] = bytes[px + 2 * CIFAR_PIXELS + p]!;
    }
  }
  return { images, labels, count };
}

/** Encode HWC uint8 images and labels as a binary batch (the inverse of parseCifarBatch). */
export function encodeCifarBatch(images: Uint8Array, labels: ArrayLike<number>): Uint8Array {
  const count = labels.length;
  if (images.length !== count * CIFAR_PIXELS * 3) {
    throw new TrainerError('ERR_SHAPE_MISMATCH', `${images.length} pixel bytes for ${count} labels`);
  }
  const out = new Uint8Array(count * CIFAR_RECORD_BYTES);
  for (let r = 0; r < count; r++) {
    const dst = r * CIFAR_RECORD_BYTES;
    out[dst] = labels[r]!;
    const src = r * CIFAR_PIXELS * 3;
    for (let p = 0; p < CIFAR_PIXELS; p++) {
      out[dst + 1 + p] = images[src + p * 3]!;
      out[dst + 1 + CIFAR_PIXELS + p] = images[src + p * 3 + 1]!;
      out[dst + 1 + 2 * CIFAR_PIXELS + p] = images[src + p * 3 + 2]!;
    }
  }
  return out;
}

export function concatSets(sets: readonly ImageSet[]): ImageSet {
  const count = sets.reduce((a, s) => a + s.count, 0);
  const images = new Uint8Array(count * CIFAR_PIXELS * 3);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of sets) {
    images.set(s.images, at * CIFAR_PIXELS * 3);
    labels.set(s.labels, at);
    at += s.count;
  }
  return { images, labels, count };
}

/** The first n samples of a set (for --limit-train / --limit-test). */
export function limitSet(s: ImageSet, n: number): ImageSet {
  if (n <= 0 || n >= s.count) return s;
  return { images: s.images.subarray(0, n * CIFAR_PIXELS * 3), labels: s.labels.subarray(0, n), count: n };
}
