// A version put together from its slices (sharded summation): in any order, float32 or an int8 delta with its
// block scales; a slice the layout does not have, or one that does not fill its slice, is refused by name.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRAD_BLOCK, sliceLayout, type WeightsDeltaMsg, type WeightsMsg } from '@dtrain/common';
import { SliceAssembly } from '../src/weight-slices.js';

const N = 2 * GRAD_BLOCK + 100;
const layout = sliceLayout(N, 3); // block-aligned: the last slice is short
const w = Float32Array.from({ length: N }, (_, i) => i / 7);
const q = Int8Array.from({ length: N }, (_, i) => (i % 255) - 127);
const scales = Float32Array.from({ length: Math.ceil(N / GRAD_BLOCK) }, (_, i) => 0.5 + i);

const weights = (version: number, j: number): WeightsMsg => {
  const { offset, length } = layout[j]!;
  return { kind: 'weights', version, slice: j, data: w.slice(offset, offset + length) };
};
const delta = (version: number, j: number): WeightsDeltaMsg => {
  const { offset, length } = layout[j]!;
  const s = scales.slice(offset / GRAD_BLOCK, Math.ceil((offset + length) / GRAD_BLOCK));
  return {
    kind: 'weightsDelta',
    version,
    base: version - 1,
    wire: 'int8',
    data: q.slice(offset, offset + length),
    scales: s,
    slice: j,
  };
};

test('float32 slices in any order make the whole version once the last is in', () => {
  const a = new SliceAssembly(N);
  assert.equal(a.add(weights(5, 2), layout), null);
  assert.equal(a.add(weights(5, 0), layout), null);
  assert.equal(a.add(weights(5, 0), layout), null, 'a repeat changes nothing');
  const whole = a.add(weights(5, 1), layout);
  assert.deepEqual(whole, { kind: 'weights', version: 5, data: w });
});

test('an int8 delta from its slices: values and block scales in place, the head (base, wire) kept', () => {
  const a = new SliceAssembly(N);
  for (const j of [1, 2]) assert.equal(a.add(delta(9, j), layout), null);
  const whole = a.add(delta(9, 0), layout) as WeightsDeltaMsg;
  assert.equal(whole.base, 8);
  assert.equal(whole.wire, 'int8');
  assert.equal(whole.slice, undefined);
  assert.deepEqual(whole.data, q);
  assert.deepEqual(whole.scales, scales);
});

test('an older version is dropped once a newer one is being put together; a newer one starts over', () => {
  const a = new SliceAssembly(N);
  a.add(weights(5, 0), layout);
  a.add(weights(6, 1), layout); // version 5 will not complete
  assert.equal(a.add(weights(5, 1), layout), null);
  assert.equal(a.add(weights(5, 2), layout), null, 'version 5 is dropped');
  a.add(weights(6, 0), layout);
  assert.equal(a.add(weights(6, 2), layout)?.version, 6);
  a.add(weights(7, 0), layout);
  a.drop(7); // version 7 came whole on the star
  a.add(weights(7, 1), layout);
  assert.equal(a.add(weights(7, 2), layout), null, 'its partial was dropped');
});

test('a truncated slice, one the layout does not have, or missing int8 scales is refused with the reason', () => {
  const a = new SliceAssembly(N);
  const short = { ...weights(3, 1), data: w.slice(0, 10) };
  assert.throws(() => a.add(short, layout), { code: 'ERR_BAD_FRAME', message: /has 10 values; the slice has 4096/ });
  assert.throws(() => a.add({ ...weights(3, 1), slice: 3 }, layout), { code: 'ERR_BAD_FRAME', message: /3 slices/ });
  assert.throws(() => a.add({ ...delta(3, 1), scales: new Float32Array(0) }, layout), {
    code: 'ERR_BAD_FRAME',
    message: /0 int8 scales; the slice has 1 blocks/,
  });
  const { slice: _s, ...whole } = weights(3, 0);
  assert.throws(() => a.add(whole, layout), { code: 'ERR_BAD_FRAME' }, 'a whole version is not a slice');
  // nothing refused was kept: the version completes from good slices alone
  for (const j of [0, 1]) a.add(weights(3, j), layout);
  assert.deepEqual(a.add(weights(3, 2), layout)?.data, w);
});

test('missing: the version being put together and the slices not in yet (a hang names them)', () => {
  const a = new SliceAssembly(N);
  assert.equal(a.missing(layout), null);
  a.add(delta(4, 1), layout);
  assert.deepEqual(a.missing(layout), { version: 4, slices: [0, 2] });
  a.add(delta(4, 0), layout);
  a.add(delta(4, 2), layout);
  assert.equal(a.missing(layout), null, 'complete: nothing pending');
});
