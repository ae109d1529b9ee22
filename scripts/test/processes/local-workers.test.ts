import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGpus, workerArgv } from '../../src/processes/local-workers.js';

test('local workers get the backend, data directory and CPU policy they were asked for', () => {
  const argv = workerArgv(1, 'ws://127.0.0.1:9', { backend: 'wasm', dataDir: '/d', sched: 'normal' });
  assert.deepEqual(argv.slice(1), [
    'worker',
    '--connect',
    'ws://127.0.0.1:9',
    '--name',
    'w1',
    '--backend',
    'wasm',
    '--give-up',
    '30',
    '--quiet',
    '--data-dir',
    '/d',
    '--sched',
    'normal',
  ]);
  const plain = workerArgv(0, 'ws://h:1', { backend: 'auto', dataDir: undefined, sched: undefined });
  assert.ok(!plain.includes('--sched') && !plain.includes('--data-dir'), plain.join(' '));
});

test('--gpus is spread round robin over the workers; a bad list is refused', () => {
  assert.deepEqual(parseGpus('0,1', 3), ['0', '1', '0']);
  assert.deepEqual(parseGpus(undefined, 2), [undefined, undefined]);
  assert.throws(() => parseGpus('0,x', 2), /not a list of GPU indices/);
});
