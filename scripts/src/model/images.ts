// Images for `dtrain predict`: PNG and JPEG files (any size, resized to the model's 32x32) and CIFAR-10 binary
// files (records of 1 label byte + 3072 bytes, channel-planar), as float32 HWC pixels in [0,255].

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { TrainerError } from '@dtrain/common';
import { resizeRgb } from '@dtrain/common/files';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export interface InputImage {
  name: string;
  /** H*W*3 values in [0, 255], row-major, RGB. */
  pixels: Float32Array;
  /** The label stored with it (CIFAR binary files), else null. */
  label: number | null;
}

const SIDE = 32;
const RECORD = 1 + SIDE * SIDE * 3;
/** Most images one predict call reads (a CIFAR batch file holds 10,000). */
export const MAX_IMAGES = 100_000;

/** An image at the model's 32x32, resized as a folder dataset's images are (area averaging) when it is not. */
function fromRgba(name: string, width: number, height: number, rgba: Uint8Array): InputImage {
  const rgb = resizeRgb({ width, height, data: rgba }, SIDE);
  return { name, pixels: Float32Array.from(rgb), label: null };
}

function cifarRecords(name: string, bytes: Buffer): InputImage[] {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new TrainerError(
      'ERR_BAD_INPUT',
      `${name} is ${bytes.length} bytes, not a whole number of ${RECORD}-byte CIFAR-10 records`,
      { hint: 'give a CIFAR-10 binary file such as test_batch.bin' },
    );
  }
  const out: InputImage[] = [];
  for (let r = 0; r < bytes.length / RECORD; r++) {
    const rec = bytes.subarray(r * RECORD, (r + 1) * RECORD);
    const pixels = new Float32Array(SIDE * SIDE * 3);
    for (let i = 0; i < SIDE * SIDE; i++) for (let c = 0; c < 3; c++) pixels[i * 3 + c] = rec[1 + c * SIDE * SIDE + i]!;
    out.push({ name: `${name}#${r}`, pixels, label: rec[0]! });
  }
  return out;
}

export function readImages(paths: readonly string[]): InputImage[] {
  const images: InputImage[] = [];
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new TrainerError('ERR_BAD_INPUT', `${path}: ${(e as Error).message}`, {
        hint: 'give PNG or JPEG files, or a CIFAR-10 .bin file',
      });
    }
    const ext = extname(path).toLowerCase();
    try {
      if (ext === '.bin') images.push(...cifarRecords(path, bytes));
      else if (ext === '.png') {
        const p = PNG.sync.read(bytes);
        images.push(fromRgba(path, p.width, p.height, p.data));
      } else if (ext === '.jpg' || ext === '.jpeg') {
        const j = jpeg.decode(bytes, { useTArray: true, maxResolutionInMP: 1, maxMemoryUsageInMB: 64 });
        images.push(fromRgba(path, j.width, j.height, j.data));
      } else
        throw new TrainerError('ERR_BAD_INPUT', `${path}: unknown image type "${ext}"`, {
          hint: 'give .png, .jpg/.jpeg or a CIFAR-10 .bin file',
        });
    } catch (e) {
      if (e instanceof TrainerError) throw e;
      throw new TrainerError('ERR_BAD_INPUT', `${path} could not be decoded: ${(e as Error).message}`, {
        hint: 'give a valid 32x32 PNG or JPEG',
      });
    }
    if (images.length > MAX_IMAGES)
      throw new TrainerError('ERR_BAD_INPUT', `more than ${MAX_IMAGES} images`, { hint: 'predict in smaller batches' });
  }
  return images;
}
