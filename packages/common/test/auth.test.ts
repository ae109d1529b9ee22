import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTokenProof, proveToken } from '@dtrain/common';

test('the token proof is HMAC-SHA256 (the well-known "quick brown fox" vector)', () => {
  const mac = proveToken('key', 'The quick brown fox jumps over the lazy dog');
  assert.equal(mac, 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  assert.equal(checkTokenProof('key', 'The quick brown fox jumps over the lazy dog', mac), true);
});

test('a wrong, short or non-hex proof fails without throwing', () => {
  const mac = proveToken('key', 'nonce');
  assert.equal(checkTokenProof('other', 'nonce', mac), false);
  assert.equal(checkTokenProof('key', 'nonce2', mac), false);
  assert.equal(checkTokenProof('key', 'nonce', mac.slice(0, 10)), false);
  assert.equal(checkTokenProof('key', 'nonce', 'zz'.repeat(32)), false);
  assert.equal(checkTokenProof('key', 'nonce', ''), false);
});
