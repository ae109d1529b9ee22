import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReceivePool } from '../src/receive-pool.js';

const pool = (o: Partial<ConstructorParameters<typeof ReceivePool>[0]> = {}) =>
  new ReceivePool({ threshold: 1000, maxLent: 4, maxFree: 2, poison: false, budget: { bytes: 1e9 }, ...o });

test('a buffer comes back two rounds after the round it was lent in, never earlier', () => {
  const p = pool();
  const a = p.lend(5000);
  p.nextRound();
  assert.notEqual(p.lend(5000), a, 'one round later it may still be read');
  p.nextRound();
  assert.equal(p.lend(4000), a, 'two rounds later it is reused');
  assert.equal(p.allocated, 2);
});

test('small messages are not lent; room is rounded up so near lengths share', () => {
  const p = pool();
  assert.equal(p.lend(999), null);
  assert.equal(p.out, 0);
  const a = p.lend(70_000);
  assert.equal(a?.length, 128 * 1024);
  p.nextRound();
  p.nextRound();
  assert.equal(p.lend(70_100), a);
});

test('past maxLent or the shared budget a message is not lent', () => {
  const p = pool({ maxLent: 2 });
  p.lend(5000);
  p.lend(5000);
  assert.equal(p.lend(5000), null);
  assert.equal(p.overflow, 1);
  assert.equal(p.out, 2);
  const budget = { bytes: 100_000 };
  const a = pool({ budget });
  const b = pool({ budget });
  a.lend(60_000);
  assert.equal(budget.bytes, 100_000 - 65_536);
  b.lend(60_000);
  assert.equal(b.overflow, 1, 'the budget is shared');
  a.release();
  assert.equal(budget.bytes, 100_000, 'a closed connection gives its bytes back');
});

test('poisoned buffers read NaN after they come back', () => {
  const p = pool({ poison: true });
  const a = p.lend(8000);
  assert.ok(a);
  const view = new Float32Array(a.buffer, 0, 4);
  view[0] = 1.5;
  p.nextRound();
  p.nextRound();
  p.lend(8000);
  assert.ok(Number.isNaN(view[0]));
});

test('idle buffers past maxFree are dropped and their bytes returned', () => {
  const budget = { bytes: 1e6 };
  const p = pool({ maxFree: 1, budget });
  p.lend(5000);
  p.lend(5000);
  p.lend(5000);
  p.nextRound();
  p.nextRound();
  p.lend(100_000); // reclaims three: one kept, two dropped; then a new, larger one
  assert.equal(budget.bytes, 1e6 - 65_536 - 131_072);
});
