import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admission } from '@dtrain/coordinator';

const limits = { maxPending: 4, maxPendingPerAddress: 3, maxWorkers: 2 };

test("at most 3 unfinished handshakes per address: a 4th from there closes that address's oldest (never refused); another address is untouched", () => {
  const a = new Admission<string>(limits);
  for (const c of ['a1', 'a2', 'a3']) assert.deepEqual(a.arrive(c, 'A'), { admit: true, evict: null });
  assert.deepEqual(a.arrive('a4', 'A'), { admit: true, evict: 'a1' });
  assert.deepEqual(a.arrive('b1', 'B'), { admit: true, evict: null });
  assert.deepEqual(a.counts, { pending: 4, proved: 0 });
  assert.deepEqual(a.arrive('a5', 'A'), { admit: true, evict: 'a2' }, "A's own oldest, not B's");
  assert.deepEqual(a.counts, { pending: 4, proved: 0 });
});

test("a flood from a worker's own address cannot keep it out: its connection proves itself before the flood's newer ones push it out", () => {
  const a = new Admission<string>(limits);
  for (let i = 0; i < 100; i++) a.arrive(`flood${i}`, 'A');
  assert.equal(a.arrive('worker', 'A').admit, true);
  a.arrive('flood100', 'A'); // one more stranger before the hello: the worker is not the oldest
  a.proven('worker');
  assert.deepEqual(a.counts, { pending: 2, proved: 1 });
});

test('when all pending slots are taken, the oldest of the busiest address makes room', () => {
  const a = new Admission<string>(limits);
  for (const c of ['a1', 'a2', 'a3']) a.arrive(c, 'A');
  a.arrive('b1', 'B');
  assert.deepEqual(a.arrive('c1', 'C'), { admit: true, evict: 'a1' }); // A holds 3 of the 4
  assert.deepEqual(a.counts, { pending: 4, proved: 0 });
  assert.deepEqual(
    a.arrive('a4', 'A'),
    { admit: true, evict: 'a2' },
    'A is back to 2, so it may open one more; the pool is full, so its oldest goes',
  );
});

test('a proven connection leaves the pending count and counts against the worker cap', () => {
  const a = new Admission<string>(limits);
  a.arrive('w1', 'A');
  a.arrive('w2', 'A');
  a.proven('w1');
  a.proven('w2');
  assert.deepEqual(a.counts, { pending: 0, proved: 2 });
  const full = a.arrive('w3', 'B');
  assert.equal(!full.admit && full.code, 'ERR_TOO_MANY_WORKERS');
  a.left('w1');
  assert.equal(a.arrive('w3', 'B').admit, true);
  a.left('w3');
  a.left('w3'); // twice: no effect
  assert.deepEqual(a.counts, { pending: 0, proved: 1 });
});
