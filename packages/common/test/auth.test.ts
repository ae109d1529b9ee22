import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { checkTokenProof, type HelloMsg, handshakeTranscript, PROTOCOL_VERSION, proveToken } from '@dtrain/common';

const challenge = { protocol: PROTOCOL_VERSION, nonce: 'c1', auth: true };
const hello: Omit<HelloMsg, 'kind' | 'mac'> = {
  protocol: PROTOCOL_VERSION,
  nonce: 'w1',
  name: 'w',
  host: 'h',
  pid: 7,
  backend: 'wasm',
  backendReason: 'r',
};

test('the token proof is HMAC-SHA256 over the SHA-256 of the whole handshake (checked against the well-known "quick brown fox" vector)', () => {
  assert.equal(
    createHmac('sha256', 'key').update('The quick brown fox jumps over the lazy dog').digest('hex'),
    'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
  );
  const t = handshakeTranscript(challenge, hello);
  assert.equal(
    t,
    createHash('sha256')
      .update(
        JSON.stringify([PROTOCOL_VERSION, 'c1', true, PROTOCOL_VERSION, 'w1', 'w', 'h', 7, 'wasm', 'r', null, null]),
      )
      .digest('hex'),
  );
  const mac = proveToken('key', t);
  assert.equal(mac, createHmac('sha256', 'key').update(`dtrain-hello.v2.${t}`).digest('hex'));
  assert.equal(checkTokenProof('key', t, mac), true);
});

test('a proof does not carry over to another token, nonce or hello field (a rewritten slots or name fails), and bad input fails without throwing', () => {
  const t = handshakeTranscript(challenge, hello);
  const mac = proveToken('key', t);
  assert.equal(checkTokenProof('other', t, mac), false);
  for (const changed of [
    { nonce: 'w2' },
    { slots: 200 },
    { mesh: 9999 },
    { name: 'fake' },
    { host: 'x' },
    { backend: 'cuda' },
    { pid: 8 },
    { protocol: PROTOCOL_VERSION - 1 },
  ]) {
    assert.equal(
      checkTokenProof('key', handshakeTranscript(challenge, { ...hello, ...changed }), mac),
      false,
      JSON.stringify(changed),
    );
  }
  for (const changed of [{ nonce: 'c2' }, { auth: false }])
    assert.equal(checkTokenProof('key', handshakeTranscript({ ...challenge, ...changed }, hello), mac), false);
  assert.equal(checkTokenProof('key', t, mac.slice(0, 10)), false);
  assert.equal(checkTokenProof('key', t, 'zz'.repeat(32)), false);
  assert.equal(checkTokenProof('key', t, ''), false);
});
