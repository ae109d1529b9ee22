import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainerError } from '@dtrain/common';
import { resolveToken } from '../../src/options/secrets.js';

/** resolveToken as if the command line were `argv`. */
function withArgv<T>(argv: string[], f: () => T): T {
  const saved = process.argv;
  process.argv = [saved[0]!, saved[1]!, ...argv];
  try {
    return f();
  } finally {
    process.argv = saved;
  }
}

test('an empty --token on the command line is refused (an unset variable): never an open run where a sealed one was asked', () => {
  for (const argv of [['--token', ''], ['--token=']]) {
    assert.throws(
      () => withArgv(argv, () => resolveToken('')),
      (e: unknown) => e instanceof TrainerError && e.code === 'ERR_BAD_CONFIG' && /--token is empty/.test(e.message),
    );
  }
  assert.equal(
    withArgv([], () => resolveToken(undefined)),
    process.env['DTRAIN_TOKEN'] || undefined,
  );
});
