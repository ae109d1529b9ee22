// Content digests (SHA-256, hex) for checkpoints, dataset files and fingerprints.

import { createHash } from 'node:crypto';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** First 16 hex digits of the SHA-256 of `indices` as little-endian uint32 (a step's samples, in order). */
export function indicesDigest(indices: Uint32Array): string {
  const bytes = new Uint8Array(indices.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < indices.length; i++) view.setUint32(i * 4, indices[i] as number, true);
  return sha256Hex(bytes).slice(0, 16);
}
