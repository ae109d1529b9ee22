// Session protection after a token handshake: both sides derive one key from the token and both
// handshake nonces (HKDF-SHA256, RFC 5869), and every later frame in either direction is sealed with
// AES-256-GCM (NIST SP 800-38D): encrypted, and authenticated together with its direction and its place
// in the stream (the 96-bit nonce is direction || sequence number). A relay without the token can
// neither read, alter, inject, drop-and-continue, replay nor reorder frames: any of these fails the tag.

import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { TrainerError } from './errors.js';

export const SESSION_TAG_BYTES = 16;
const KEY_INFO = 'dtrain session v1';

export type SessionRole = 'coordinator' | 'worker';

/** The session key both sides derive once the worker's proof checked out. */
export function sessionKey(token: string, coordinatorNonce: string, workerNonce: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token, `${coordinatorNonce}.${workerNonce}`, KEY_INFO, 32));
}

export class SessionCipher {
  private sent = 0n;
  private received = 0n;

  constructor(private readonly key: Buffer, private readonly role: SessionRole) {}

  /** The sealed frame: ciphertext, then the 16-byte tag. */
  seal(frame: Uint8Array): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.key, this.nonce(this.role, this.sent++));
    return Buffer.concat([cipher.update(frame), cipher.final(), cipher.getAuthTag()]);
  }

  /** The frame inside a sealed one from the peer; ERR_AUTH_FAILED if it was altered, replayed, reordered or forged. */
  open(sealed: Uint8Array): Buffer {
    if (sealed.length < SESSION_TAG_BYTES) throw new TrainerError('ERR_AUTH_FAILED', `a sealed frame of ${sealed.length} bytes has no tag`);
    const peer: SessionRole = this.role === 'coordinator' ? 'worker' : 'coordinator';
    const decipher = createDecipheriv('aes-256-gcm', this.key, this.nonce(peer, this.received));
    const end = sealed.length - SESSION_TAG_BYTES;
    decipher.setAuthTag(sealed.subarray(end));
    const plain = decipher.update(sealed.subarray(0, end));
    try {
      decipher.final();
    } catch {
      throw new TrainerError('ERR_AUTH_FAILED', 'a frame failed session authentication (altered, replayed, out of order, or not from the token holder)');
    }
    this.received++;
    return plain;
  }

  private nonce(from: SessionRole, seq: bigint): Buffer {
    const n = Buffer.alloc(12);
    n.writeUInt32LE(from === 'coordinator' ? 1 : 2, 0);
    n.writeBigUInt64LE(seq, 4);
    return n;
  }
}
