import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PlateauWatch } from '../src/plateau.js';

test('a run at chance stalls once patience epochs pass without a new best', () => {
  const w = new PlateauWatch(3, 0);
  assert.equal(w.observe(1, 2.265, 0.165), false); // the early best
  assert.equal(w.observe(2, 2.303, 0.097), false);
  assert.equal(w.observe(3, 2.302, 0.105), false);
  assert.equal(w.observe(4, 2.303, 0.098), true); // 3 epochs since epoch 1
  assert.match(w.reason(), /--patience 3; best accuracy 16\.50%, loss 2\.2650/);
});

test('either metric improving resets the count; 0 never stalls', () => {
  const w = new PlateauWatch(2, 0);
  w.observe(1, 2.0, 0.3);
  w.observe(2, 2.1, 0.31); // loss worse, accuracy better: overfitting, still learning
  assert.equal(w.observe(3, 2.2, 0.305), false);
  assert.equal(w.observe(4, 1.9, 0.2), false); // loss better
  assert.equal(w.observe(6, 2.5, 0.1), true);
  const off = new PlateauWatch(0, 0);
  off.observe(1, 2.3, 0.1);
  assert.equal(off.observe(100, 2.3, 0.1), false);
});

test('a resumed run counts from where it resumed', () => {
  const w = new PlateauWatch(2, 10);
  assert.equal(w.stalled(11.9), false);
  assert.equal(w.stalled(12), true);
});
