import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encodeDelta } from '@dtrain/common';
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
  frames.share([a], { version: 0, weights: w }, send);
  frames.share([a, b], { version: 0, weights: w }, send);
  frames.share([a, b], { version: 0, weights: w }, send);
  assert.deepEqual(sent, ['1:v0', '2:v0']);
  frames.forget(1);
  frames.share([a, b], { version: 0, weights: w }, send);
  frames.share([a, b], { version: 1, weights: w }, send);
  assert.deepEqual(sent, ['1:v0', '2:v0', '1:v0', '1:v1', '2:v1']);
});

test('a delta goes to the connections at its base; a joiner or one that missed a version gets the view whole', () => {
  const view = new Float32Array([1, 2, 3]);
  const frames = new WeightsFrames(view.length);
  const got: string[] = [];
  const send = (c: { id: number }, bytes: Uint8Array): void => {
    const m = decode(bytes, 1 << 20) as { kind: string; version: number };
    got.push(`${c.id}:${m.kind}@${m.version}`);
  };
  const [a, b, c] = [{ id: 1 }, { id: 2 }, { id: 3 }];
  frames.share([a, b], { version: 0, weights: view }, send);
  const d1 = encodeDelta(new Float32Array([1.5, 2, 3]), view, 'int8')!;
  const delta1 = { kind: 'weightsDelta' as const, version: 1, base: 0, ...d1 };
  frames.share([a, b, c], { version: 1, weights: view, delta: delta1 }, send);
  assert.deepEqual(got, ['1:weights@0', '2:weights@0', '1:weightsDelta@1', '2:weightsDelta@1', '3:weights@1']);
  got.length = 0;
  const delta2 = { ...delta1, version: 2, base: 1 };
  frames.share([a, c], { version: 2, weights: view, delta: delta2 }, send); // b is busy: it misses version 2
  const delta3 = { ...delta1, version: 3, base: 2 };
  frames.share([a, b, c], { version: 3, weights: view, delta: delta3 }, send);
  assert.deepEqual(got, [
    '1:weightsDelta@2',
    '3:weightsDelta@2',
    '1:weightsDelta@3',
    '2:weights@3',
    '3:weightsDelta@3',
  ]);
});
