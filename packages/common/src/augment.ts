// Standard CIFAR augmentation (He et al. 2016): a random crop of the 4-pixel zero-padded image and a
// random horizontal flip, drawn per (seed, epoch, sample) so every worker augments a sample identically.

import { hashInts, Rng } from './rng.js';

export interface CropFlip {
  dx: number;
  dy: number;
  flip: boolean;
}

/** Random crop offset in [-pad, pad] and flip for one sample, a pure function of (seed, epoch, index). */
export function cropFlipFor(seed: number, epoch: number, index: number, pad = 4): CropFlip {
  const rng = new Rng(hashInts(seed, 0xa46, epoch, index));
  return { dx: rng.int(2 * pad + 1) - pad, dy: rng.int(2 * pad + 1) - pad, flip: rng.next() < 0.5 };
}

/**
 * Write one augmented 32x32x3 image (float, already scaled) into `out` at `dst`: shifted by (dx, dy)
 * with zero fill (= random crop of the 4-pixel zero-padded image), then mirrored if `flip`.
 */
export function applyCropFlip(
  src: Float32Array,
  srcOff: number,
  out: Float32Array,
  dst: number,
  a: CropFlip,
  side = 32,
): void {
  for (let y = 0; y < side; y++) {
    const sy = y + a.dy;
    for (let x = 0; x < side; x++) {
      const ox = a.flip ? side - 1 - x : x;
      const sx = x + a.dx;
      const o = dst + (y * side + ox) * 3;
      if (sy < 0 || sy >= side || sx < 0 || sx >= side) {
        out[o] = 0;
        out[o + 1] = 0;
        out[o + 2] = 0;
      } else {
        const s = srcOff + (sy * side + sx) * 3;
        out[o] = src[s]!;
        out[o + 1] = src[s + 1]!;
        out[o + 2] = src[s + 2]!;
      }
    }
  }
}
