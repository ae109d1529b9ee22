import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainerError } from '@dtrain/common';
import { expandHostlist } from '../../src/cluster/hostlist.js';

test('ranges keep zero padding; lists and plain names mix', () => {
  assert.deepEqual(expandHostlist('gpu[01-04,07],login1'), ['gpu01', 'gpu02', 'gpu03', 'gpu04', 'gpu07', 'login1']);
  assert.deepEqual(expandHostlist('node7'), ['node7']);
  assert.deepEqual(expandHostlist('n[8-11]'), ['n8', 'n9', 'n10', 'n11']);
});

test('several bracket groups expand as a product, in order', () => {
  assert.deepEqual(expandHostlist('r[1-2]n[1-2]-ib'), ['r1n1-ib', 'r1n2-ib', 'r2n1-ib', 'r2n2-ib']);
});

test('malformed or oversized expressions are refused with the expression named', () => {
  for (const bad of ['gpu[01-04', 'gpu01]', 'gpu[a-b]', 'gpu[4-1]', 'gpu[[1]]', '', 'n[0-99999]', 'a[0-999]b[0-999]']) {
    assert.throws(
      () => expandHostlist(bad),
      (e: unknown) => e instanceof TrainerError && e.code === 'ERR_BAD_CONFIG' && e.message.includes('hostlist'),
      bad,
    );
  }
});
