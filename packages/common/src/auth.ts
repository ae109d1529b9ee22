// Token proof for the handshake: HMAC-SHA256 (RFC 2104) under the shared token of the whole handshake
// transcript (the coordinator's challenge and the worker's hello but its proof: both nonces, protocol,
// name, host, pid, backend, slots, mesh port), hex on the wire, compared in constant time. Because the worker signs
// its own fresh nonce too, it is no signing oracle for whatever a peer sends it; because every field is
// bound, a hello rewritten on the path (more slots, another name) fails the proof; and the coordinator
// proves the token back by the session it derives from the same transcript (session.ts).

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ChallengeMsg, HelloMsg } from './protocol.js';

/** The handshake both sides saw, as a SHA-256 hex digest of its fields in a fixed order. */
export function handshakeTranscript(
  challenge: Omit<ChallengeMsg, 'kind'>,
  hello: Omit<HelloMsg, 'kind' | 'mac'>,
): string {
  const fields = [
    challenge.protocol,
    challenge.nonce,
    challenge.auth,
    hello.protocol,
    hello.nonce,
    hello.name,
    hello.host,
    hello.pid,
    hello.backend,
    hello.backendReason,
    hello.slots ?? null,
    hello.mesh ?? null,
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

const proofInput = (transcript: string): string => `dtrain-hello.v2.${transcript}`;

/** The hex proof a worker sends for the handshake transcript. */
export function proveToken(token: string, transcript: string): string {
  return createHmac('sha256', token).update(proofInput(transcript)).digest('hex');
}

/** True when `mac` (hex, from the network) proves `token` for the transcript. */
export function checkTokenProof(token: string, transcript: string, mac: string): boolean {
  const expected = createHmac('sha256', token).update(proofInput(transcript)).digest();
  const got = Buffer.from(mac, 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}
