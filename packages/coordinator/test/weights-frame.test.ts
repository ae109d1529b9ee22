import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode } from '@dtrain/common';
import { WeightsFrames } from '@dtrain/coordinator';

test('one frame per version; a buffer still being sent is not overwritten by the next version', () => {
  const w = new Float32Array([1, 2, 3]);
  const frames = new WeightsFrames(w.length);
  const v0 = frames.frame(0, w);
  assert.equal(frames.frame(0, w), v0, 'the same version is encoded once');
  let done: () => void = () => assert.fail('no send');
  v0.pooled.sendWith((d) => (done = d)); // a slow socket still reading version 0
  w[0] = 10;
  const v1 = frames.frame(1, w);
  assert.notEqual(v1.pooled, v0.pooled);
  assert.deepEqual(
    [...(decode(v0.bytes, 1 << 20) as { data: Float32Array }).data],
    [1, 2, 3],
    'version 0 bytes intact',
  );
  assert.deepEqual(decode(v1.bytes, 1 << 20), { kind: 'weights', version: 1, data: new Float32Array([10, 2, 3]) });
  done();
  w[0] = 20;
  const v2 = frames.frame(2, w);
  assert.equal(v2.pooled, v0.pooled, 'the buffer of version 0 is reused once its send finished');
  assert.equal((decode(v2.bytes, 1 << 20) as { version: number }).version, 2);
});

test('share sends a version once per connection, again after forget, and the next version to all', () => {
  const w = new Float32Array([1, 2, 3]);
  const frames = new WeightsFrames(w.length);
  const sent: string[] = [];
  const send = (c: { id: number }, bytes: Uint8Array): void => {
    sent.push(`${c.id}:v${(decode(bytes, 1 << 20) as { version: number }).version}`);
  };
  const a = { id: 1 };
  const b = { id: 2 };
  frames.share([a], 0, w, send);
  frames.share([a, b], 0, w, send);
  frames.share([a, b], 0, w, send);
  assert.deepEqual(sent, ['1:v0', '2:v0']);
  frames.forget(1);
  frames.share([a, b], 0, w, send);
  frames.share([a, b], 1, w, send);
  assert.deepEqual(sent, ['1:v0', '2:v0', '1:v0', '1:v1', '2:v1']);
});
