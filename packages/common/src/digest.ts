// Content digests (SHA-256, hex) for checkpoints, dataset files and fingerprints.

import { createHash } from 'node:crypto';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
