import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DUPLICATE_MS, onInterrupt } from '../../src/console/interrupt.js';

function withFakeExit(body: (calls: string[]) => void): void {
  const calls: string[] = [];
  const exit = process.exit;
  process.exit = ((code?: number) => void calls.push(`exit ${code}`)) as typeof process.exit;
  try {
    body(calls);
  } finally {
    process.exit = exit;
  }
}

test('the first SIGINT/SIGTERM asks for a clean stop, a later Ctrl-C quits with 130; dispose stops listening', () => {
  withFakeExit((calls) => {
    let now = 0;
    const i = onInterrupt(
      () => void calls.push('stop'),
      () => void calls.push('before exit'),
      () => now,
    );
    assert.equal(i.requested, false);
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(i.requested, true);
    now = DUPLICATE_MS + 1;
    process.emit('SIGINT', 'SIGINT');
    assert.deepEqual(calls, ['stop', 'before exit', 'exit 130']);
    i.dispose();
    assert.equal(process.listenerCount('SIGTERM'), 0);
  });
});

test('a signal delivered twice (timeout or Slurm signal the process group, a wrapper forwards it) does not cut the clean stop short', () => {
  withFakeExit((calls) => {
    let now = 0;
    const i = onInterrupt(
      () => void calls.push('stop'),
      () => void calls.push('before exit'),
      () => now,
    );
    process.emit('SIGTERM', 'SIGTERM');
    now = 5;
    process.emit('SIGTERM', 'SIGTERM'); // the wrapper's copy
    now = 50;
    process.emit('SIGINT', 'SIGINT'); // a group's Ctrl-C arriving twice
    now = 60_000;
    process.emit('SIGTERM', 'SIGTERM'); // a scheduler repeating itself later
    assert.deepEqual(calls, ['stop']);
    i.dispose();
  });
});
