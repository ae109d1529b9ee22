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

/** Parse one binary batch file into HWC uint8 images; rejects truncated or malformed data. */
export function parseCifarBatch(bytes: Uint8Array, name: string): ImageSet {
  if (bytes.length === 0 || bytes.length % CIFAR_RECORD_BYTES !== 0) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `${name}: ${bytes.length} bytes is not a whole number of ${CIFAR_RECORD_BYTES}-byte CIFAR-10 records (truncated or not a CIFAR-10 file)`,
      {
        hint: 'delete the file and run: dtrain data fetch cifar10',
      },
    );
  }
  const count = bytes.length / CIFAR_RECORD_BYTES;
  const images = new Uint8Array(count * CIFAR_PIXELS * 3);
  const labels = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const src = r * CIFAR_RECORD_BYTES;
    const label = bytes[src]!;
    if (label > 9) {
      throw new TrainerError(
        'ERR_BAD_CONFIG',
        `${name}: record ${r} has label ${label}; CIFAR-10 labels are 0..9 (corrupt file)`,
        {
          hint: 'delete the file and run: dtrain data fetch cifar10',
        },
      );
    }
    labels[r] = label;
    const dst = r * CIFAR_PIXELS * 3;
    for (let p = 0; p < CIFAR_PIXELS; p++) {
      images[dst + p * 3] = bytes[src + 1 + p]!;
      images[dst + p * 3 + 1] = bytes[src + 1 + CIFAR_PIXELS + p]!;
      images[dst + p * 3 + 2] = bytes[src + 1 + 2 * CIFAR_PIXELS + p]!;
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
