import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, LineLimiter, printable } from '@dtrain/common';

test('at most `burst` lines of a kind per window; the next window says how many were left out', () => {
  const l = new LineLimiter({ windowMs: 1000, burst: 2 });
  const shown = [0, 1, 2, 3, 4].map((i) => l.pass('refused', `line ${i}`, i));
  assert.deepEqual(shown, ['line 0', 'line 1', null, null, null]);
  assert.equal(l.pass('other', 'another kind', 5), 'another kind');
  assert.equal(l.pass('refused', 'later', 1000), 'later (3 more like it left out)');
  assert.equal(l.pass('refused', 'again', 1001), 'again');
});

test("a peer's text is printed on one line with control characters escaped, and cut", () => {
  assert.equal(printable('ok\x1b[32m run completed\r\nfake'), 'ok\\u001b[32m run completed\\u000d\\u000afake');
  assert.equal(printable('\u202eevil'), '\\u202eevil');
  assert.equal(printable('x'.repeat(10), 4), 'xxxx...');
});

test('loopback listen addresses', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'node1', '128.0.0.1']) assert.equal(isLoopback(h), false, h);
});
