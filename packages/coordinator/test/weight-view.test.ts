import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeldView, Rng, receiveWeights, VIEW_DIGEST_EVERY } from '@dtrain/common';
import { WeightView } from '@dtrain/coordinator';

function walk(n: number, seed: number): { w: Float32Array; next: () => void } {
  const rng = new Rng(seed);
  const w = Float32Array.from({ length: n }, () => rng.next() - 0.5);
  return { w, next: () => w.forEach((v, i) => (w[i] = v - 0.01 * (rng.next() - 0.5))) };
}

test('fp32: every version is w itself, no view kept and no delta', () => {
  const { w } = walk(8, 1);
  const v = new WeightView('fp32');
  assert.equal(v.publish(0, w).weights, w);
  assert.equal(v.publish(1, w).delta, undefined);
});

test('int8: the first version whole, then deltas from the last version; evaluated and checkpointed versions whole', () => {
  const { w, next } = walk(100, 2);
  const v = new WeightView('int8');
  const p0 = v.publish(0, w);
  assert.equal(p0.delta, undefined);
  assert.notEqual(p0.weights, w, 'the view is its own copy');
  assert.deepEqual(p0.weights, w);
  next();
  const p1 = v.publish(1, w);
  assert.equal(p1.delta?.base, 0);
  assert.equal(p1.delta?.version, 1);
  assert.equal(v.publish(1, w), p1, 'a version published again is the same publication');
  next();
  assert.deepEqual(v.publish(2, w, true), { version: 2, weights: w }, 'an evaluated version goes whole: view = w');
  next();
  v.flush(3); // a checkpoint at version 3, before it is published
  assert.equal(v.publish(3, w).delta, undefined);
  next();
  const p4 = v.publish(4, w);
  assert.equal(p4.delta?.base, 3);
  v.flush(4); // already out as a delta: nothing changes (a crash checkpoint mid-step)
  assert.equal(v.publish(4, w), p4);
});

test('a worker following 250 versions (deltas, flushes, digests) holds the coordinator view bit for bit', () => {
  const { w, next } = walk(5000, 3);
  const coordinator = new WeightView('int8');
  const worker = new HeldView();
  let digests = 0;
  for (let version = 0; version < 250; version++) {
    if (version % 37 === 0) coordinator.flush(version);
    const p = coordinator.publish(version, w, version % 50 === 25);
    if (p.delta?.digest) digests++;
    const got = receiveWeights(worker, p.delta ?? { kind: 'weights', version, data: p.weights });
    assert.deepEqual(Buffer.from(got.buffer), Buffer.from(p.weights.buffer), `version ${version}`);
    next();
  }
  assert.equal(digests, Math.floor(249 / VIEW_DIGEST_EVERY), 'a digest every 100 versions (version 0 is whole)');
});
