// Token proof for the handshake: HMAC-SHA256 (RFC 2104) under the shared token of the coordinator's
// challenge nonce and the worker's own nonce, hex on the wire, compared in constant time. Because the
// worker signs its own fresh nonce too, it is no signing oracle for whatever a peer sends it; and the
// coordinator proves the token back by the session it derives from both nonces (session.ts).

import { createHmac, timingSafeEqual } from 'node:crypto';

const proofInput = (coordinatorNonce: string, workerNonce: string): string => `dtrain-hello.${coordinatorNonce}.${workerNonce}`;

/** The hex proof a worker sends for the coordinator's nonce and its own. */
export function proveToken(token: string, coordinatorNonce: string, workerNonce: string): string {
  return createHmac('sha256', token).update(proofInput(coordinatorNonce, workerNonce)).digest('hex');
}

/** True when `mac` (hex, from the network) proves `token` for the two nonces. */
export function checkTokenProof(token: string, coordinatorNonce: string, workerNonce: string, mac: string): boolean {
  const expected = createHmac('sha256', token).update(proofInput(coordinatorNonce, workerNonce)).digest();
  const got = Buffer.from(mac, 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}
