import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainerError } from '@dtrain/common';
import { parseHostfile } from '../../src/cluster/hostfile.js';

test('"host slots=N" lines, comments and blanks ignored, slots default to 1', () => {
  const text = '# cluster\ngpu01 slots=4\n\n  user@gpu02   slots = 2  # two GPUs\n10.0.0.9\n';
  assert.deepEqual(parseHostfile(text), [
    { host: 'gpu01', slots: 4 },
    { host: 'user@gpu02', slots: 2 },
    { host: '10.0.0.9', slots: 1 },
  ]);
});

test('refusals name the file and line', () => {
  const cases: [string, RegExp][] = [
    ['gpu01 slots=four', /hostfile:1: "gpu01 slots=four" is not "host slots=N"/],
    ['a slots=1\ngpu01 slots=0', /hostfile:2: slots=0 for gpu01/],
    ['gpu01 slots=9999', /slots=9999/],
    ['gpu01\ngpu01 slots=2', /gpu01 is listed twice/],
    ['# nothing\n', /lists no host/],
    ['gpu01; rm -rf /', /is not "host slots=N"/],
  ];
  for (const [text, re] of cases)
    assert.throws(
      () => parseHostfile(text),
      (e: unknown) => e instanceof TrainerError && re.test(e.message),
      text,
    );
});
