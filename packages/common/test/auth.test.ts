import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { checkTokenProof, proveToken } from '@dtrain/common';

test('the token proof is HMAC-SHA256 over both nonces (checked against the well-known "quick brown fox" vector)', () => {
  // the primitive: HMAC-SHA256(key, "The quick brown fox jumps over the lazy dog")
  assert.equal(createHmac('sha256', 'key').update('The quick brown fox jumps over the lazy dog').digest('hex'), 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  const mac = proveToken('key', 'c1', 'w1');
  assert.equal(mac, createHmac('sha256', 'key').update('dtrain-hello.c1.w1').digest('hex'));
  assert.equal(checkTokenProof('key', 'c1', 'w1', mac), true);
});

test('a proof does not carry over to another nonce of either side, and bad input fails without throwing', () => {
  const mac = proveToken('key', 'c1', 'w1');
  assert.equal(checkTokenProof('other', 'c1', 'w1', mac), false);
  assert.equal(checkTokenProof('key', 'c2', 'w1', mac), false);
  assert.equal(checkTokenProof('key', 'c1', 'w2', mac), false);
  assert.equal(checkTokenProof('key', 'c1', 'w1', mac.slice(0, 10)), false);
  assert.equal(checkTokenProof('key', 'c1', 'w1', 'zz'.repeat(32)), false);
  assert.equal(checkTokenProof('key', 'c1', 'w1', ''), false);
});
