import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FramePool } from '@dtrain/common';

test('a pooled frame is reused only once its owner and every send have let go of it', () => {
  const pool = new FramePool(64, 2);
  const a = pool.take();
  let finishSend: () => void = () => assert.fail('no send');
  a.sendWith((done) => (finishSend = done));
  a.release(); // owner done; the send still reads it
  const b = pool.take();
  assert.notEqual(b, a, 'a frame still being sent is not handed out');
  b.release();
  finishSend();
  assert.equal(pool.take(), a, 'a frame nobody holds is reused');
  assert.equal(pool.size, 2);
});

test('when every kept frame is held, take() hands out an extra one that is not kept', () => {
  const pool = new FramePool(8, 1);
  const a = pool.take();
  const extra = pool.take();
  assert.notEqual(extra, a);
  assert.equal(pool.size, 1);
  a.release();
  assert.throws(() => a.release(), /released more often than held/);
});

test('a send that throws releases its hold', () => {
  const pool = new FramePool(8, 1);
  const a = pool.take();
  assert.throws(
    () =>
      a.sendWith(() => {
        throw new Error('socket not open');
      }),
    /socket not open/,
  );
  a.release();
  assert.equal(a.holds, 0);
});
