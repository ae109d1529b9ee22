// Token proof for the handshake: HMAC-SHA256 of the coordinator's challenge nonce under the shared
// token (RFC 2104), hex on the wire, compared in constant time.

import { createHmac, timingSafeEqual } from 'node:crypto';

/** The hex proof a worker sends for `nonce`. */
export function proveToken(token: string, nonce: string): string {
  return createHmac('sha256', token).update(nonce).digest('hex');
}

/** True when `mac` (hex, from the network) proves `token` for `nonce`. */
export function checkTokenProof(token: string, nonce: string, mac: string): boolean {
  const expected = createHmac('sha256', token).update(nonce).digest();
  const got = Buffer.from(mac, 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}
