import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRAD_BLOCK, HeldView, Rng, receiveWeights, sliceLayout, VIEW_DIGEST_EVERY } from '@dtrain/common';
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

test('a version published in slices is the whole delta bit for bit; an undo puts the view back', () => {
  for (const wire of ['int8', 'bf16'] as const) {
    const n = 3 * GRAD_BLOCK + 123;
    const { w, next } = walk(n, 4);
    const [sliced, whole] = [new WeightView(wire), new WeightView(wire)];
    for (const v of [sliced, whole]) v.publish(0, w);
    next();
    assert.equal(sliced.sliceable(1), true);
    const layout = sliceLayout(n, 3);
    const before = Float32Array.from(sliced.publish(0, w).weights);
    sliced.publishSlice(1, w, 2, layout[2]!);
    sliced.publishSlice(1, w, 0, layout[0]!);
    sliced.undoSlices(); // the step fell back to the star
    assert.deepEqual(sliced.publish(0, w).weights, before, 'the view as it was');
    const parts = [2, 0, 1].map((j) => sliced.publishSlice(1, w, j, layout[j]!));
    sliced.endSlices();
    const p = whole.publish(1, w);
    const got = sliced.publish(1, w);
    assert.deepEqual(Buffer.from(got.weights.buffer), Buffer.from(p.weights.buffer), `${wire}: the same view`);
    assert.deepEqual(got.delta, p.delta, `${wire}: the same whole delta for whoever needs it whole`);
    const [s2] = [parts[0]!];
    assert.equal(s2.slice, 2);
    assert.equal(s2.base, 0);
    assert.deepEqual(
      s2.data,
      (p.delta!.data as Int8Array).subarray(layout[2]!.offset),
      `${wire}: a slice is the whole's part`,
    );
  }
});

test('versions that carry a digest, or were checkpointed, do not go in slices; fp32 never', () => {
  const { w } = walk(10, 5);
  const v = new WeightView('int8');
  assert.equal(v.sliceable(1), false, 'no view yet: the first version goes whole');
  v.publish(0, w);
  assert.equal(v.sliceable(VIEW_DIGEST_EVERY), false);
  v.flush(7);
  assert.equal(v.sliceable(7), false);
  assert.equal(v.sliceable(8), true);
  assert.equal(new WeightView('fp32').sliceable(3), false);
});
