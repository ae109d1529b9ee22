// HMAC-SHA256 proof of a shared secret over the coordinator's challenge nonce.

import { createHmac } from 'node:crypto';

export function proveToken(token: string, nonce: string): string {
  return createHmac('sha256', token).update(nonce).digest('hex');
}
