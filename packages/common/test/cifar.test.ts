// CIFAR-10 format, loader, splits and augmentation, on small files in the official format made here.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  applyCropFlip,
  CIFAR_RECORD_BYTES,
  CIFAR_TEST_FILE,
  CIFAR_TRAIN_FILES,
  CIFAR100_CLASSES,
  CIFAR100_LAYOUT,
  cropFlipFor,
  encodeCifarBatch,
  parseCifarBatch,
  Rng,
  TrainerError,
} from '@dtrain/common';
import { loadCifar10 } from '@dtrain/common/files';

function fakeBatch(count: number, seed: number): { bytes: Uint8Array; images: Uint8Array; labels: number[] } {
  const rng = new Rng(seed);
  const images = Uint8Array.from({ length: count * 3072 }, () => rng.int(256));
  const labels = Array.from({ length: count }, () => rng.int(10));
  return { bytes: encodeCifarBatch(images, labels), images, labels };
}

function fakeCifarDir(perFile = 20): string {
  const dir = mkdtempSync(join(tmpdir(), 'cifar-'));
  [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE].forEach((f, i) =>
    writeFileSync(join(dir, f), fakeBatch(perFile, i + 1).bytes),
  );
  return dir;
}

test('records are 1 label byte + R, G, B planes; parse and encode are inverse', () => {
  const { bytes, images, labels } = fakeBatch(3, 1);
  assert.equal(bytes.length, 3 * CIFAR_RECORD_BYTES);
  // pixel (row 0, col 1) of image 1: R at offset 1+1, G at 1+1024+1, B at 1+2048+1 of record 1
  const r = CIFAR_RECORD_BYTES;
  assert.equal(bytes[r]!, labels[1]);
  assert.equal(bytes[r + 1 + 1]!, images[3072 + 3]);
  assert.equal(bytes[r + 1 + 1024 + 1]!, images[3072 + 4]);
  assert.equal(bytes[r + 1 + 2048 + 1]!, images[3072 + 5]);
  const parsed = parseCifarBatch(bytes, 'x');
  assert.deepEqual(parsed.images, images);
  assert.deepEqual([...parsed.labels], labels);
});

test('truncated and corrupt files are refused with a clear error', () => {
  const { bytes } = fakeBatch(2, 2);
  assert.throws(
    () => parseCifarBatch(bytes.subarray(0, bytes.length - 1), 'data_batch_1.bin'),
    (e: TrainerError) =>
      e.code === 'ERR_BAD_CONFIG' &&
      /not a whole number of 3073-byte/.test(e.message) &&
      /data fetch cifar10/.test(e.hint ?? ''),
  );
  const bad = bytes.slice();
  bad[CIFAR_RECORD_BYTES] = 200;
  assert.throws(() => parseCifarBatch(bad, 'data_batch_1.bin'), /record 1 has label 200/);
  assert.throws(() => parseCifarBatch(new Uint8Array(0), 'empty.bin'), /0 bytes/);
});

test('the loader: splits (Keras validation_split takes the last part), limits, checksum verification', () => {
  const dir = fakeCifarDir(20);
  const ds = loadCifar10(dir, {
    valFraction: 0.2,
    normalize: false,
    augment: false,
    limitTrain: 0,
    limitTest: 0,
    verify: false,
  });
  assert.equal(ds.size('train'), 80);
  assert.equal(ds.size('val'), 20);
  assert.equal(ds.size('test'), 20);
  // val sample 0 is training record 80 = data_batch_5 record 0
  const x = new Float32Array(3072);
  const y = new Int32Array(1);
  ds.fillBatch('val', [0], x, y);
  const b5 = fakeBatch(20, 5);
  assert.equal(y[0], b5.labels[0]);
  assert.ok(Math.abs(x[7]! - b5.images[7]! / 255) < 1e-7);
  const limited = loadCifar10(dir, {
    valFraction: 0,
    normalize: false,
    augment: false,
    limitTrain: 30,
    limitTest: 5,
    verify: false,
  });
  assert.equal(limited.size('train'), 30);
  assert.equal(limited.size('test'), 5);
  assert.notEqual(limited.fingerprint, ds.fingerprint);
  assert.throws(
    () =>
      loadCifar10(dir, { valFraction: 0, normalize: false, augment: false, limitTrain: 0, limitTest: 0, verify: true }),
    /data_batch_1\.bin does not match its official SHA-256/,
  );
  writeFileSync(join(dir, 'test_batch.bin'), new Uint8Array(100));
  assert.throws(
    () =>
      loadCifar10(dir, {
        valFraction: 0,
        normalize: false,
        augment: false,
        limitTrain: 0,
        limitTest: 0,
        verify: false,
      }),
    /test_batch\.bin: 100 bytes/,
  );
});

test('normalization standardizes each channel on the training split', () => {
  const ds = loadCifar10(fakeCifarDir(40), {
    valFraction: 0,
    normalize: true,
    augment: false,
    limitTrain: 0,
    limitTest: 0,
    verify: false,
  });
  const n = ds.size('train');
  const x = new Float32Array(n * 3072);
  ds.fillBatch('train', [...Array(n).keys()], x, new Int32Array(n));
  for (let c = 0; c < 3; c++) {
    let s = 0;
    let q = 0;
    for (let i = c; i < x.length; i += 3) {
      s += x[i]!;
      q += x[i]! ** 2;
    }
    const m = s / (x.length / 3);
    assert.ok(Math.abs(m) < 1e-4, `channel ${c} mean ${m}`);
    assert.ok(Math.abs(q / (x.length / 3) - m * m - 1) < 1e-3);
  }
});

test('augmentation: crop with zero padding and flip, a pure function of (seed, epoch, index)', () => {
  assert.deepEqual(cropFlipFor(1, 2, 3), cropFlipFor(1, 2, 3));
  const draws = Array.from({ length: 200 }, (_, i) => cropFlipFor(1, 0, i));
  assert.ok(draws.every((d) => Math.abs(d.dx) <= 4 && Math.abs(d.dy) <= 4));
  assert.ok(draws.some((d) => d.flip) && draws.some((d) => !d.flip));
  assert.notDeepEqual(
    draws,
    Array.from({ length: 200 }, (_, i) => cropFlipFor(1, 1, i)),
  );
  const src = Float32Array.from({ length: 3072 }, (_, i) => i);
  const out = new Float32Array(3072);
  applyCropFlip(src, 0, out, 0, { dx: 0, dy: 0, flip: true });
  assert.equal(out[0], src[31 * 3]); // mirrored: out (0,0) = src (0,31)
  applyCropFlip(src, 0, out, 0, { dx: 2, dy: -1, flip: false });
  assert.equal(out[0], 0); // row 0 comes from row -1: padding
  assert.equal(out[(1 * 32 + 0) * 3], src[(0 * 32 + 2) * 3]); // (1,0) <- (0,2)
  const ds = loadCifar10(fakeCifarDir(10), {
    valFraction: 0,
    normalize: false,
    augment: true,
    limitTrain: 0,
    limitTest: 0,
    verify: false,
  });
  const a = new Float32Array(2 * 3072);
  const b = new Float32Array(2 * 3072);
  const y = new Int32Array(2);
  ds.fillBatch('train', [4, 7], a, y, { seed: 3, epoch: 1 });
  ds.fillBatch('train', [7], b.subarray(3072), y, { seed: 3, epoch: 1 });
  assert.deepEqual(a.subarray(3072), b.subarray(3072), 'the same sample gets the same crop whatever batch it is in');
});

test('CIFAR-100 records: coarse and fine label bytes before the pixels; the fine label is read; 100 and above refused', () => {
  const rec = new Uint8Array(2 * 3074);
  rec[0] = 4;
  rec[1] = 99;
  rec[2] = 200; // first red pixel
  rec[3074] = 1;
  rec[3075] = 7;
  const set = parseCifarBatch(rec, 'train.bin', CIFAR100_LAYOUT);
  assert.deepEqual([set.count, ...set.labels], [2, 99, 7]);
  assert.equal(set.images[0], 200);
  rec[3075] = 100;
  assert.throws(
    () => parseCifarBatch(rec, 'train.bin', CIFAR100_LAYOUT),
    /record 1 has label 100; CIFAR-100 labels are 0\.\.99/,
  );
  assert.throws(
    () => parseCifarBatch(rec.subarray(1), 'train.bin', CIFAR100_LAYOUT),
    /not a whole number of 3074-byte CIFAR-100 records/,
  );
  assert.equal(CIFAR100_CLASSES.length, 100);
});
