import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, percentile } from '@dtrain/common';

test('nearest-rank percentiles, worked by hand', () => {
  const xs = [9, 1, 5, 3, 7]; // sorted 1 3 5 7 9
  assert.equal(median(xs), 5); // index floor(5 x 0.5) = 2
  assert.equal(percentile(xs, 0.9), 9); // index floor(4.5) = 4
  assert.equal(percentile(xs, 0), 1);
  assert.equal(median([4, 2]), 4); // even count: the upper median (index 1)
  assert.equal(median([]), 0);
  assert.deepEqual(xs, [9, 1, 5, 3, 7], 'the input is not reordered');
});
