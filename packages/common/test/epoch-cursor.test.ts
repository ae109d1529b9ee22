import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EpochCursor } from '@dtrain/common';

const data = { trainSize: 13, seed: 1, batchSize: 4, stepsPerEpoch: 3 }; // the last sample of each epoch is left out

test('the cursor walks epochs by steps; nextClosesEpoch says so before the step that closes one', () => {
  const at = { step: 0, epoch: 0, position: 0, samplesSeen: 0 };
  const c = new EpochCursor(at, data);
  const seen: [boolean, boolean][] = [];
  for (let i = 0; i < 6; i++) {
    const closes = c.nextClosesEpoch;
    c.advance(c.nextBatch().length);
    seen.push([closes, c.atEpochStart]);
  }
  assert.deepEqual(
    seen.map(([a, b]) => a === b),
    [true, true, true, true, true, true],
    'predicted before each step, as atEpochStart says after it',
  );
  assert.deepEqual(
    seen.map(([a]) => a),
    [false, false, true, false, false, true],
  );
  assert.equal(at.step, 6);
  assert.equal(at.epoch, 2);
  assert.equal(at.samplesSeen, 24);
  assert.equal(c.epochFloat, 2);
});

test('a position is a pure function of the state: the same next batch from the same numbers', () => {
  const a = new EpochCursor({ step: 4, epoch: 1, position: 1, samplesSeen: 0 }, data);
  const b = new EpochCursor({ step: 4, epoch: 1, position: 1, samplesSeen: 0 }, data);
  assert.deepEqual(a.nextBatch(), b.nextBatch());
  assert.equal(a.nextBatch().length, 4);
});
