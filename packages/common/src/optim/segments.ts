// The parameter vector's tensors as the layer-wise optimizers (LARS, LAMB) and the decay exclusions see
// them: contiguous ranges of the flat vector, each marked when it is 1-D (a bias or a batch-norm scale or shift).

import type { Manifest } from '../model.js';
import { sumOfSquares } from './clip.js';

export interface Segment {
  offset: number;
  length: number;
  /** A 1-D tensor: excluded from weight decay and trust ratios where the optimizer says so. */
  vector: boolean;
}

export function segmentsOf(manifest: Manifest): Segment[] {
  return manifest.map((e) => ({ offset: e.offset, length: e.length, vector: e.shape.length <= 1 }));
}

/** The L2 norm of a[offset, offset + length), summed in float64. */
export function segmentNorm(a: Float32Array, s: Segment): number {
  return Math.sqrt(sumOfSquares(a.subarray(s.offset, s.offset + s.length)));
}
