// Image files as RGB pixels: PNG (pngjs) and JPEG (jpeg-js) decoded within bounds, and resized to the
// model's input by averaging the source pixels each target pixel covers (area resampling: no aliasing when
// shrinking; nearest when enlarging).

import { extname } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { TrainerError } from '../errors.js';

/** Image files read as such (by extension, case-insensitive). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
/** Largest image decoded (width x height), so one file cannot take all memory. */
export const MAX_IMAGE_PIXELS = 16 * 1024 * 1024;

export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** Decode a PNG or JPEG file's bytes; a file that is neither, or too large, is refused by name. */
export function decodeImage(path: string, bytes: Uint8Array): Rgba {
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.png') {
      const p = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      if (p.width * p.height > MAX_IMAGE_PIXELS) throw new Error(`${p.width}x${p.height} is larger than 16 megapixels`);
      return { width: p.width, height: p.height, data: p.data };
    }
    const j = jpeg.decode(bytes, { useTArray: true, maxResolutionInMP: 16, maxMemoryUsageInMB: 256 });
    return { width: j.width, height: j.height, data: j.data };
  } catch (e) {
    throw new TrainerError(
      'ERR_BAD_INPUT',
      `${path} could not be decoded as ${ext.slice(1).toUpperCase()}: ${(e as Error).message}`,
      {
        hint: 'remove or replace the file',
      },
    );
  }
}

/** `img` as side x side RGB bytes (HWC): each target pixel the mean of the source pixels it covers. */
export function resizeRgb(img: Rgba, side: number): Uint8Array {
  const out = new Uint8Array(side * side * 3);
  const [sx, sy] = [img.width / side, img.height / side];
  for (let y = 0; y < side; y++) {
    const [y0, y1] = [Math.floor(y * sy), Math.max(Math.floor(y * sy) + 1, Math.floor((y + 1) * sy))];
    for (let x = 0; x < side; x++) {
      const [x0, x1] = [Math.floor(x * sx), Math.max(Math.floor(x * sx) + 1, Math.floor((x + 1) * sx))];
      const sum = [0, 0, 0];
      for (let v = y0; v < y1; v++) {
        for (let u = x0; u < x1; u++) {
          const i = (v * img.width + u) * 4;
          sum[0]! += img.data[i]!;
          sum[1]! += img.data[i + 1]!;
          sum[2]! += img.data[i + 2]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 3; c++) out[(y * side + x) * 3 + c] = Math.round(sum[c]! / n);
    }
  }
  return out;
}
