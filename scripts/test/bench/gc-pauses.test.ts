import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GcPauses } from '../../src/bench/gc-pauses.js';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

test('a pause just before the sum counts: entries made but not yet delivered to the observer are taken first', async () => {
  const pauses = new GcPauses();
  await new Promise((r) => setImmediate(r));
  const from = performance.now();
  collect();
  const to = performance.now() + 1;
  await new Promise((r) => setImmediate(r)); // the entry is made after the collection, delivered to the observer later
  const ms = pauses.between(from, to);
  assert.ok(ms > 0, `the forced collection counted (${ms} ms)`);
  assert.equal(pauses.between(to, to + 1000), 0, 'nothing after the window');
  pauses.stop();
});
