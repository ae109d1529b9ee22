import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeWith, closeWords, MAX_CLOSE_REASON_BYTES, TrainerError, utf8Prefix } from '@dtrain/common';

test('utf8Prefix cuts by UTF-8 bytes on character boundaries', () => {
  assert.equal(utf8Prefix('abc', 2), 'ab');
  assert.equal(utf8Prefix('€€', 5), '€'); // 3 + 3 bytes: the second does not fit in 5
  assert.equal(utf8Prefix('a😀', 4), 'a'); // 1 + 4 bytes
  assert.equal(utf8Prefix('a😀', 5), 'a😀');
  const long = '€'.repeat(50);
  assert.equal(Buffer.byteLength(utf8Prefix(long, MAX_CLOSE_REASON_BYTES)), 123);
  assert.equal(Buffer.byteLength(utf8Prefix('\ud800'.repeat(50), 123)), 123); // lone surrogates: 3 bytes each
});

test('closeWith bounds the reason and swallows a throwing close', () => {
  const seen: [number, string][] = [];
  closeWith({ close: (c, r) => void seen.push([c, r]) }, 1008, 'x'.repeat(500));
  assert.deepEqual(seen, [[1008, 'x'.repeat(123)]]);
  assert.doesNotThrow(() =>
    closeWith(
      {
        close: () => {
          throw new RangeError('boom');
        },
      },
      1008,
      'ERR_BAD_FRAME',
    ),
  );
});

test('TrainerError describes itself with its hint', () => {
  assert.equal(new TrainerError('ERR_BAD_CONFIG', 'bad', { hint: 'fix it' }).describe(), 'bad\n  hint: fix it');
});

test('a WebSocket close in words, with its reason', () => {
  assert.equal(closeWords(1000, 'run finished'), 'closed normally: run finished');
  assert.equal(closeWords(1006, ''), 'connection dropped (no close frame)');
  assert.equal(closeWords(1008, 'ERR_BAD_FRAME'), 'refused: ERR_BAD_FRAME');
  assert.equal(closeWords(4001, ''), 'code 4001');
});
