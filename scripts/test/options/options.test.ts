import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkConnect } from '../../src/options/options.js';

test('--connect takes ws://, wss:// and a Unix socket (ws+unix:/absolute/path); anything else is refused by name', () => {
  for (const ok of [
    'ws://10.0.0.1:7070',
    'wss://c.example:443',
    'ws://[::1]:7070',
    'ws+unix:/tmp/dtrain-relay-x/local.sock',
  ])
    assert.equal(checkConnect(ok), ok);
  assert.throws(() => checkConnect('http://c:7070'), /is not a ws:\/\/ or wss:\/\/ address/);
  assert.throws(() => checkConnect('ws://c:0'), /port 0 is not a port/);
  assert.throws(() => checkConnect('nonsense'), /is not a valid address/);
});
