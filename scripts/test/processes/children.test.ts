import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { allExited, exited } from '../../src/processes/children.js';

test('waiting for children: at once when already gone, true when all exit, false at the timeout', async () => {
  const quick = spawn(process.execPath, ['-e', '']);
  await exited(quick);
  await exited(quick); // already exited: resolves at once
  const slow = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
  assert.equal(await allExited([quick, slow], 100), false);
  slow.kill();
  assert.equal(await allExited([quick, slow]), true);
});
