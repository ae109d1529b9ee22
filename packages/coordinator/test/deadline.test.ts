import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveDeadline } from '@dtrain/coordinator';

test('the ceiling until 8 shards were timed; then 4 x the median per sample x samples, floored at 2 s', () => {
  const d = new AdaptiveDeadline();
  for (let i = 0; i < 7; i++) d.observe(320, 32); // 10 ms per sample
  assert.equal(d.forTask(32, 120_000), 120_000, '7 timings: not enough yet');
  d.observe(640, 32); // 20 ms per sample; the median of seven 10s and one 20 is 10
  assert.equal(d.forTask(100, 120_000), 4_000); // 4 x 10 ms x 100 samples
  assert.equal(d.forTask(32, 120_000), 2_000, '4 x 10 x 32 = 1,280 ms is under the floor');
  assert.equal(d.forTask(10_000, 120_000), 120_000, 'never past the ceiling (--step-timeout)');
  d.observe(0, 32);
  d.observe(100, 0); // ignored
  assert.equal(d.forTask(100, 120_000), 4_000);
});
