// Test helpers: seeded random arrays, a batch of the embedded dataset and a relative-error measure.
import { Rng, syntheticDataset } from '@dtrain/common';

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-scale, scale);
  return a;
}

/** ||a - b|| / max(||b||, tiny), in float64. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** The first n training images of a small embedded dataset (generated from `seed`) and their labels. */
export function batch(n: number, seed = 3): { x: Float32Array; y: Int32Array } {
  const ds = syntheticDataset({ trainSize: 200, testSize: 10, seed }, 0);
  const x = new Float32Array(n * 3072);
  const y = new Int32Array(n);
  ds.fillBatch('train', [...Array(n).keys()], x, y);
  return { x, y };
}
