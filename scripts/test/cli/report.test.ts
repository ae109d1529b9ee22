import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainerError } from '@dtrain/common';
import { parseTargets } from '../../src/cli/report.js';

test('--targets: accuracies between 0 and 1, comma-separated; anything else refused naming the value', () => {
  assert.deepEqual(parseTargets('0.55, 0.6,0.65'), [0.55, 0.6, 0.65]);
  assert.equal(parseTargets(undefined), undefined);
  for (const bad of ['0.5,60', 'x', '0.5,,0.6', '1']) {
    assert.throws(
      () => parseTargets(bad),
      (e: unknown) =>
        e instanceof TrainerError &&
        e.code === 'ERR_BAD_CONFIG' &&
        /is not an accuracy between 0 and 1/.test(e.message),
      bad,
    );
  }
});
