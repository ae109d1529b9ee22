import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { applySchedPolicy } from '@dtrain/worker';

/** The scheduling policy number of a process (field 41 of /proc/PID/stat; 3 = SCHED_BATCH). */
function policyOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
}

test('batch puts every thread of a process under SCHED_BATCH (or says why not)', async () => {
  if (process.platform !== 'linux') {
    assert.equal(applySchedPolicy('batch').policy, 'normal');
    return;
  }
  const child = spawn('sleep', ['10'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    assert.equal(policyOf(child.pid!), 0, 'starts as SCHED_OTHER');
    const r = applySchedPolicy('batch', child.pid!);
    if (r.policy === 'batch') assert.equal(policyOf(child.pid!), 3);
    else assert.match(r.reason, /chrt not found/, 'only a missing chrt may keep the normal policy here');
  } finally {
    child.kill();
  }
});

test('normal is left alone; other platforms and chrt failures fall back to normal with a reason', () => {
  const calls: string[][] = [];
  const ok = (file: string, args: string[]): void => void calls.push([file, ...args]);
  assert.deepEqual(applySchedPolicy('normal', 42, 'linux', ok), { policy: 'normal', reason: 'normal (as asked)' });
  assert.equal(applySchedPolicy('batch', 42, 'darwin', ok).policy, 'normal');
  assert.equal(calls.length, 0);
  assert.equal(applySchedPolicy('batch', 42, 'linux', ok).policy, 'batch');
  assert.deepEqual(calls, [['chrt', '--batch', '--all-tasks', '--pid', '0', '42']]);
  const missing = applySchedPolicy('batch', 42, 'linux', () => {
    throw Object.assign(new Error('spawn chrt ENOENT'), { code: 'ENOENT' });
  });
  assert.deepEqual(missing, {
    policy: 'normal',
    reason: 'normal: could not set SCHED_BATCH: chrt not found (util-linux)',
  });
  const denied = applySchedPolicy('batch', 42, 'linux', () => {
    throw Object.assign(new Error('Command failed'), {
      stderr: Buffer.from("chrt: failed to set pid 42's policy: Operation not permitted\n"),
    });
  });
  assert.match(denied.reason, /Operation not permitted/);
});
