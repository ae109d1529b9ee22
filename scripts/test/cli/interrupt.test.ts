import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onInterrupt } from '../../src/cli/interrupt.js';

test('the first SIGINT/SIGTERM asks for a clean stop, the second quits with 130; dispose stops listening', () => {
  const calls: string[] = [];
  const exit = process.exit;
  process.exit = ((code?: number) => void calls.push(`exit ${code}`)) as typeof process.exit;
  try {
    const i = onInterrupt(() => void calls.push('stop'), () => void calls.push('before exit'));
    assert.equal(i.requested, false);
    process.emit('SIGTERM');
    assert.equal(i.requested, true);
    process.emit('SIGINT');
    assert.deepEqual(calls, ['stop', 'before exit', 'exit 130']);
    i.dispose();
    assert.equal(process.listenerCount('SIGTERM'), 0);
  } finally {
    process.exit = exit;
  }
});
