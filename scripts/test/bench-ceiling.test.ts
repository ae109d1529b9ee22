import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ceilingOf, measureCeiling } from '../src/bench/ceiling.js';

test('ceiling: 2 x alone over the slower of the pair; bad times refused', () => {
  assert.equal(ceilingOf(50, [54, 60]).ceiling, 1.667);
  assert.equal(ceilingOf(50, [50, 50]).ceiling, 2);
  assert.throws(() => ceilingOf(0, [50, 50]), /positive/);
  assert.throws(() => ceilingOf(50, [50, Number.NaN]), /positive/);
});

test('ceiling: measured from real bench compute processes', async () => {
  const c = await measureCeiling('tiny-cnn', 'wasm', 8, 3);
  assert.ok(c.aloneMs > 0 && c.pairMs.every((m) => m > 0), JSON.stringify(c));
  assert.equal(c.ceiling, Number(((2 * c.aloneMs) / Math.max(...c.pairMs)).toFixed(3)));
});
